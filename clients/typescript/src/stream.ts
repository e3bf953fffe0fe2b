// The inbox's live stream: GET /v1/notifications:stream as Server-Sent Events over fetch (so that
// it can send Authorization), reconnecting with Last-Event-ID and dropping repeats by id.
import { CityhubError, cancelledError, networkError } from "./errors.js";
import type { Core } from "./core.js";
import { RecentIds, readEvents } from "./sse.js";
import { raceAbort } from "./transport.js";

export interface StreamOptions {
  /** Resume after this notification id (the last one the app has shown). */
  lastEventId?: string;
  signal?: AbortSignal;
  /** Called each time a connection is open (the server has fixed where "from now on" is). */
  onOpen?: () => void;
}

export interface StreamDeps {
  core: Core;
  fetch: typeof fetch;
  /** Reconnect when nothing (not even a heartbeat) arrived for this long. */
  idleTimeoutMs: number;
}

interface WithId {
  notification_id?: string;
}

/** Yields each notification once, across reconnects, until `signal` aborts or an error is final. */
export async function* notificationStream<T extends WithId>(
  deps: StreamDeps,
  path: string,
  opts: StreamOptions,
): AsyncGenerator<T, void, undefined> {
  const { core } = deps;
  const outer = opts.signal;
  const seen = new RecentIds(2000);
  let lastId = opts.lastEventId ?? "";
  if (lastId !== "") seen.add(lastId);
  let failures = 0;
  let serverRetryMs: number | undefined;
  while (!aborted(outer)) {
    const conn = new AbortController();
    const abortConn = () => conn.abort(outer?.reason);
    outer?.addEventListener("abort", abortConn, { once: true });
    let healthy = false; // brought news, or stayed up a while: the next wait starts small
    let waitMs: number | undefined;
    const openedAt = core.opts.now();
    try {
      // A connection that gives no answer within the idle time is replaced too.
      const answerTimer =
        deps.idleTimeoutMs > 0
          ? setTimeout(() => conn.abort(), deps.idleTimeoutMs)
          : undefined;
      let res: Response;
      try {
        res = await open(deps, path, lastId, conn.signal);
      } finally {
        clearTimeout(answerTimer);
      }
      if (res.body === null)
        throw networkError(new Error("event stream without a body"));
      opts.onOpen?.();
      for await (const ev of readEvents(
        res.body,
        conn.signal,
        deps.idleTimeoutMs,
        () => conn.abort(),
      )) {
        if (ev.retry !== undefined) serverRetryMs = ev.retry;
        if (ev.event === "error") break; // the stream ends (deadline, backend trouble): resume
        if (ev.id !== undefined) lastId = ev.id;
        if (ev.data === "" || ev.event !== "message") continue;
        let item: T;
        try {
          item = JSON.parse(ev.data) as T;
        } catch {
          continue;
        }
        const id = item.notification_id ?? ev.id;
        if (id !== undefined && id !== "" && !seen.add(id)) continue;
        healthy = true;
        yield item;
      }
    } catch (e) {
      if (aborted(outer)) return;
      if (e instanceof CityhubError && e.status !== 0 && !transient(e.status))
        throw e;
      if (e instanceof CityhubError) waitMs = e.retryAfterMs;
    } finally {
      outer?.removeEventListener("abort", abortConn);
      conn.abort();
    }
    if (core.opts.now() - openedAt >= 30_000) healthy = true;
    failures = healthy ? 1 : failures + 1;
    const delay =
      waitMs ?? Math.max(serverRetryMs ?? 0, core.backoff(failures));
    try {
      await core.opts.sleep(delay, outer);
    } catch {
      return; // aborted while waiting
    }
  }
}

// A function, so that TypeScript does not narrow `aborted` across the awaits that change it.
function aborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

function transient(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** Opens one connection; a 401 refreshes the token once. Throws CityhubError. */
async function open(
  deps: StreamDeps,
  path: string,
  lastId: string,
  signal: AbortSignal,
): Promise<Response> {
  const { core } = deps;
  const session = core.opts.session;
  for (let authRetried = false; ; authRetried = true) {
    const token = await session.accessToken();
    const headers: Record<string, string> = { Accept: "text/event-stream" };
    if (token !== null) headers["Authorization"] = `Bearer ${token}`;
    if (lastId !== "") headers["Last-Event-ID"] = lastId;
    let res: Response;
    try {
      res = await raceAbort(
        deps.fetch(core.url(path), { method: "GET", headers, signal }),
        signal,
      );
    } catch (e) {
      if (signal.aborted) throw cancelledError(signal.reason);
      throw networkError(e);
    }
    const type = res.headers.get("content-type") ?? "";
    if (res.ok && type.includes("text/event-stream")) return res;
    const err = await core.error({
      status: res.ok ? 502 : res.status,
      header: (n) => res.headers.get(n),
      text: () => res.text(),
    });
    if (res.status === 401 && token !== null && !authRetried) {
      if ((await session.recover(token)) !== null) continue;
    }
    throw err;
  }
}
