// Reads the SMTP sink's mails (one MIME file each): the text of every part, decoded from
// base64 or quoted-printable, and the newest mailed token for an address.
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";

interface Part {
  headers: Map<string, string>;
  body: string; // raw, as in the file
}

function splitHeaders(raw: string): Part {
  const text = raw.replace(/\r\n/g, "\n");
  const end = text.indexOf("\n\n");
  const head = end < 0 ? text : text.slice(0, end);
  const body = end < 0 ? "" : text.slice(end + 2);
  const headers = new Map<string, string>();
  let last = "";
  for (const line of head.split("\n")) {
    if (/^[ \t]/.test(line) && last !== "") {
      headers.set(last, `${headers.get(last) ?? ""} ${line.trim()}`); // folded
      continue;
    }
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    last = line.slice(0, colon).trim().toLowerCase();
    headers.set(last, line.slice(colon + 1).trim());
  }
  return { headers, body };
}

function param(header: string, name: string): string | undefined {
  const m = new RegExp(`${name}\\s*=\\s*(?:"([^"]*)"|([^;\\s]+))`, "i").exec(
    header,
  );
  return m?.[1] ?? m?.[2];
}

export function decodeQuotedPrintable(text: string): Buffer {
  const soft = text.replace(/=\r?\n/g, "");
  const bytes: number[] = [];
  for (let i = 0; i < soft.length; i++) {
    const c = soft[i];
    const hex = soft.slice(i + 1, i + 3);
    if (c === "=" && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(c ?? "", "utf8"));
    }
  }
  return Buffer.from(bytes);
}

function decodeBody(part: Part): string {
  const encoding = (
    part.headers.get("content-transfer-encoding") ?? "7bit"
  ).toLowerCase();
  const charset = (
    param(part.headers.get("content-type") ?? "", "charset") ?? "utf-8"
  ).toLowerCase();
  let bytes: Buffer;
  if (encoding === "base64")
    bytes = Buffer.from(part.body.replace(/\s+/g, ""), "base64");
  else if (encoding === "quoted-printable")
    bytes = decodeQuotedPrintable(part.body);
  else bytes = Buffer.from(part.body, "utf8");
  return new TextDecoder(charset === "us-ascii" ? "utf-8" : charset).decode(
    bytes,
  );
}

/** The decoded text of every leaf part of a MIME message, joined by newlines. */
export function mailText(raw: string): string {
  const part = splitHeaders(raw);
  const type = part.headers.get("content-type") ?? "text/plain";
  if (/^multipart\//i.test(type)) {
    const boundary = param(type, "boundary");
    if (boundary === undefined) return part.body;
    const texts: string[] = [];
    const pieces = part.body.replace(/\r\n/g, "\n").split(`--${boundary}`);
    for (const piece of pieces.slice(1)) {
      if (piece.startsWith("--")) break; // the closing delimiter
      texts.push(mailText(piece.replace(/^[ \t]*\n/, "")));
    }
    return texts.join("\n");
  }
  return decodeBody(part);
}

/** The recipients the sink recorded (X-Sink-Rcpt) or, failing that, the To header. */
export function recipients(raw: string): string[] {
  const { headers } = splitHeaders(raw);
  const list = headers.get("x-sink-rcpt") ?? headers.get("to") ?? "";
  return list
    .split(",")
    .map((s) => s.trim().replace(/^.*</, "").replace(/>.*$/, "").toLowerCase());
}

/** The token of `<marker>?token=` in the newest mail to `email`, waiting up to `timeoutMs`. */
export async function tokenFromMail(
  dir: string,
  email: string,
  marker: string,
  timeoutMs = 20_000,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  const pattern = new RegExp(`${marker}\\?token=([A-Za-z0-9_\\-]+)`);
  for (;;) {
    const names = (await readdir(dir).catch(() => [] as string[]))
      .filter((n) => n.endsWith(".eml"))
      .sort()
      .reverse(); // numbered in arrival order: newest first
    for (const name of names) {
      const raw = await readFile(join(dir, name), "utf8");
      if (!recipients(raw).includes(email.toLowerCase())) continue;
      const m = pattern.exec(mailText(raw));
      if (m?.[1] !== undefined) return m[1];
    }
    if (Date.now() > deadline)
      throw new Error(`no ${marker} mail to ${email} in ${dir}`);
    await new Promise((r) => setTimeout(r, 100)); // polling the sink's directory
  }
}
