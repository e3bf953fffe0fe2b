// How one HTTP exchange is made: fetch by default, XMLHttpRequest for uploads with progress.

/** The part of an answer the client reads. */
export interface RawResponse {
  status: number;
  header(name: string): string | null;
  text(): Promise<string>;
}

export type RequestBody = string | Blob | ArrayBuffer | Uint8Array;

export interface TransportRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: RequestBody;
  signal?: AbortSignal;
}

/** Makes one exchange. Rejects only when no answer arrived (network error, abort). */
export type Transport = (req: TransportRequest) => Promise<RawResponse>;

export function fetchTransport(f: typeof fetch): Transport {
  return async (req) => {
    const init: RequestInit = { method: req.method, headers: req.headers };
    if (req.body !== undefined) init.body = toBodyInit(req.body);
    if (req.signal !== undefined) init.signal = req.signal;
    const res = await raceAbort(f(req.url, init), req.signal);
    return {
      status: res.status,
      header: (name) => res.headers.get(name),
      text: () => raceAbort(res.text(), req.signal),
    };
  };
}

/**
 * `p`, or the signal's reason once it aborts, whichever comes first (some fetch implementations
 * leave a pending promise hanging after an abort). Leaves no listener behind.
 */
export function raceAbort<T>(
  p: Promise<T>,
  signal: AbortSignal | undefined,
): Promise<T> {
  if (signal === undefined) return p;
  const reason = () => signal.reason ?? new Error("aborted");
  if (signal.aborted) {
    p.catch(() => undefined);
    return Promise.reject(reason());
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(reason());
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

export function toBodyInit(body: RequestBody): BodyInit {
  if (body instanceof Uint8Array) return body as unknown as BodyInit;
  return body;
}

export function bodySize(body: RequestBody | undefined): number {
  if (body === undefined) return 0;
  if (typeof body === "string")
    return new TextEncoder().encode(body).byteLength;
  if (body instanceof Blob) return body.size;
  return body.byteLength;
}

/** Upload progress: bytes sent so far and the total. */
export type ProgressCallback = (sent: number, total: number) => void;

interface XhrLike {
  open(method: string, url: string): void;
  setRequestHeader(name: string, value: string): void;
  getResponseHeader(name: string): string | null;
  send(body?: unknown): void;
  abort(): void;
  readonly status: number;
  readonly responseText: string;
  upload: { onprogress: ((e: ProgressEvent) => void) | null };
  onload: (() => void) | null;
  onerror: (() => void) | null;
  ontimeout: (() => void) | null;
  onabort: (() => void) | null;
}

export type XhrConstructor = new () => XhrLike;

/** An XMLHttpRequest transport that reports upload progress (browsers). */
export function xhrTransport(
  Xhr: XhrConstructor,
  onProgress: ProgressCallback,
): Transport {
  return (req) =>
    new Promise<RawResponse>((resolve, reject) => {
      const xhr = new Xhr();
      const total = bodySize(req.body);
      xhr.open(req.method, req.url);
      for (const [k, v] of Object.entries(req.headers))
        xhr.setRequestHeader(k, v);
      xhr.upload.onprogress = (e) =>
        onProgress(e.loaded, e.lengthComputable ? e.total : total);
      const onAbort = () => xhr.abort();
      const done = () => req.signal?.removeEventListener("abort", onAbort);
      xhr.onload = () => {
        done();
        const text = xhr.responseText;
        resolve({
          status: xhr.status,
          header: (name) => xhr.getResponseHeader(name),
          text: () => Promise.resolve(text),
        });
      };
      xhr.onerror = () => {
        done();
        reject(new TypeError("network error"));
      };
      xhr.ontimeout = xhr.onerror;
      xhr.onabort = () => {
        done();
        reject(req.signal?.reason ?? new Error("aborted"));
      };
      if (req.signal?.aborted) {
        reject(req.signal.reason);
        return;
      }
      req.signal?.addEventListener("abort", onAbort, { once: true });
      xhr.send(req.body);
    });
}
