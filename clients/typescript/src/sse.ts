import { raceAbort } from "./transport.js";

// text/event-stream, parsed incrementally as the HTML standard describes it: lines end in CRLF,
// LF or CR; `:` starts a comment (the gateway's heartbeats); `data` lines join with "\n"; an
// empty line dispatches the event.

export interface SseEvent {
  /** The `id` field when this event carried one. */
  id?: string;
  /** The `event` field, "message" when absent. */
  event: string;
  data: string;
  /** The `retry` field in ms when this event carried one. */
  retry?: number;
}

/** Feed it text as it arrives; it returns the events completed by that text. */
export class SseParser {
  private buffer = "";
  private skipLf = false; // the last chunk ended in CR: a LF starting the next one belongs to it
  private started = false;
  private data: string[] = [];
  private hasData = false;
  private eventType = "";
  private id: string | undefined;
  private retry: number | undefined;

  push(text: string): SseEvent[] {
    if (!this.started && text !== "") {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (this.skipLf && text.startsWith("\n")) text = text.slice(1);
    this.skipLf = false;
    this.buffer += text;
    const out: SseEvent[] = [];
    let start = 0;
    for (;;) {
      const cr = this.buffer.indexOf("\r", start);
      const lf = this.buffer.indexOf("\n", start);
      if (cr < 0 && lf < 0) break;
      let end: number;
      let next: number;
      if (cr >= 0 && (lf < 0 || cr < lf)) {
        end = cr;
        if (cr + 1 < this.buffer.length) {
          next = this.buffer[cr + 1] === "\n" ? cr + 2 : cr + 1;
        } else {
          next = cr + 1;
          this.skipLf = true;
        }
      } else {
        end = lf;
        next = lf + 1;
      }
      const ev = this.line(this.buffer.slice(start, end));
      if (ev !== null) out.push(ev);
      start = next;
    }
    this.buffer = this.buffer.slice(start);
    return out;
  }

  private line(line: string): SseEvent | null {
    if (line === "") return this.dispatch();
    if (line.startsWith(":")) return null;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "data":
        this.data.push(value);
        this.hasData = true;
        break;
      case "event":
        this.eventType = value;
        break;
      case "id":
        if (!value.includes("\0")) this.id = value;
        break;
      case "retry":
        if (/^\d+$/.test(value)) this.retry = Number(value);
        break;
      default:
        break; // unknown fields are ignored
    }
    return null;
  }

  private dispatch(): SseEvent | null {
    const ev: SseEvent | null =
      this.hasData || this.id !== undefined || this.retry !== undefined
        ? {
            event: this.eventType === "" ? "message" : this.eventType,
            data: this.data.join("\n"),
          }
        : null;
    if (ev !== null) {
      if (this.id !== undefined) ev.id = this.id;
      if (this.retry !== undefined) ev.retry = this.retry;
    }
    this.data = [];
    this.hasData = false;
    this.eventType = "";
    this.id = undefined;
    this.retry = undefined;
    return ev;
  }
}

/**
 * The events of a response body, read as they arrive. When `idleMs` passes without a byte
 * (heartbeats included), `onIdle` is called (the caller aborts `signal`). Once `signal` aborts
 * the reading stops with its reason, whether or not the body's own read settles (some fetch
 * implementations leave a pending read hanging after an abort).
 */
export async function* readEvents(
  body: ReadableStream<Uint8Array>,
  signal: AbortSignal,
  idleMs: number,
  onIdle: () => void,
): AsyncGenerator<SseEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parser = new SseParser();
  try {
    for (;;) {
      const timer = idleMs > 0 ? setTimeout(onIdle, idleMs) : undefined;
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await raceAbort(reader.read(), signal);
      } finally {
        if (timer !== undefined) clearTimeout(timer);
      }
      if (chunk.done) {
        for (const ev of parser.push(decoder.decode())) yield ev;
        return;
      }
      for (const ev of parser.push(
        decoder.decode(chunk.value, { stream: true }),
      ))
        yield ev;
    }
  } finally {
    reader.cancel().catch(() => undefined);
  }
}

/** Remembers the last `size` ids, to drop events seen before. */
export class RecentIds {
  private readonly set = new Set<string>();
  constructor(private readonly size = 1000) {}

  /** True when `id` was new (and is now remembered). */
  add(id: string): boolean {
    if (this.set.has(id)) return false;
    this.set.add(id);
    if (this.set.size > this.size) {
      const oldest = this.set.values().next().value;
      if (oldest !== undefined) this.set.delete(oldest);
    }
    return true;
  }
}
