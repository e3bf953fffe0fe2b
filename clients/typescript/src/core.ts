// One API call: URL and headers, the bearer token, the retry rules and the error mapping.
import {
  CityhubError,
  cancelledError,
  errorFromResponse,
  networkError,
  parseRetryAfter,
} from "./errors.js";
import type { Session } from "./session.js";
import type { RawResponse, RequestBody, Transport } from "./transport.js";

export interface RetryOptions {
  /** Most attempts in all (the first one included). Default 4. */
  attempts?: number;
  /** Backoff base: the n-th retry waits a random time in [0, base·2ⁿ⁻¹). Default 200 ms. */
  baseDelayMs?: number;
  /** Cap of one wait; a Retry-After longer than this is not waited for. Default 10 s. */
  maxDelayMs?: number;
}

export interface CallOptions {
  /** Query parameters; arrays repeat the parameter, nested objects become `a.b`. */
  query?: Record<string, unknown>;
  /** JSON body. POST/PUT/PATCH without one send `{}`. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Sent as Idempotency-Key; makes a POST safe to retry. */
  idempotencyKey?: string;
  signal?: AbortSignal;
  /** false: never send the token (sign-in, register). Default: send it when signed in. */
  auth?: boolean;
  /** The call may be repeated without harm (retried like a GET) even as POST/PATCH. */
  idempotent?: boolean;
}

export interface SendOptions extends CallOptions {
  rawBody?: RequestBody;
  contentType?: string;
  transport?: Transport;
}

export interface CoreOptions {
  baseUrl: string;
  transport: Transport;
  session: Session;
  retry: Required<RetryOptions>;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  random: () => number;
  now: () => number;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]);

export class Core {
  constructor(readonly opts: CoreOptions) {}

  /** Makes the call and returns the parsed JSON answer (undefined when empty). */
  async request<T>(
    method: string,
    path: string,
    opts: SendOptions = {},
  ): Promise<T> {
    const res = await this.send(method, path, opts);
    let text: string;
    try {
      text = await res.text();
    } catch (e) {
      // the answer broke off: it cannot be repeated safely here, so report it as it is
      if (opts.signal?.aborted) throw cancelledError(opts.signal.reason);
      throw networkError(e);
    }
    if (text === "") return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      return text as T;
    }
  }

  /** Makes the call with retries and one token refresh; resolves with a 2xx answer. */
  async send(
    method: string,
    path: string,
    opts: SendOptions = {},
  ): Promise<RawResponse> {
    method = method.toUpperCase();
    const url = this.url(path, opts.query);
    const transport = opts.transport ?? this.opts.transport;
    const retryable =
      SAFE_METHODS.has(method) ||
      opts.idempotent === true ||
      opts.idempotencyKey !== undefined;
    const body = requestBody(method, opts);
    const { attempts, maxDelayMs } = this.opts.retry;
    let attempt = 0;
    let authRetried = false;
    for (;;) {
      if (opts.signal?.aborted) throw cancelledError(opts.signal.reason);
      const token =
        opts.auth === false ? null : await this.opts.session.accessToken();
      const headers = this.headers(opts, body, token);
      attempt++;
      let res: RawResponse;
      try {
        res = await transport({
          method,
          url,
          headers,
          ...(body === undefined ? {} : { body }),
          ...(opts.signal === undefined ? {} : { signal: opts.signal }),
        });
      } catch (e) {
        if (opts.signal?.aborted) throw cancelledError(opts.signal.reason);
        const err = networkError(e);
        if (!retryable || attempt >= attempts) throw err;
        await this.opts.sleep(this.backoff(attempt), opts.signal);
        continue;
      }
      if (res.status >= 200 && res.status < 300) return res;
      if (res.status === 401 && token !== null && !authRetried) {
        authRetried = true;
        const refused = await this.error(res);
        if ((await this.opts.session.recover(token)) !== null) {
          attempt--; // the repeat with a fresh token is not a retry
          continue;
        }
        throw refused;
      }
      const err = await this.error(res);
      if (
        (res.status === 429 || res.status === 503) &&
        retryable &&
        attempt < attempts
      ) {
        const delay = err.retryAfterMs ?? this.backoff(attempt);
        if (delay <= maxDelayMs) {
          await this.opts.sleep(delay, opts.signal);
          continue;
        }
      }
      throw err;
    }
  }

  /** Full jitter: a random wait in [0, min(max, base·2^(attempt-1))). */
  backoff(attempt: number): number {
    const { baseDelayMs, maxDelayMs } = this.opts.retry;
    const ceiling = Math.min(
      maxDelayMs,
      baseDelayMs * 2 ** Math.max(0, attempt - 1),
    );
    return Math.floor(this.opts.random() * ceiling);
  }

  async error(res: RawResponse): Promise<CityhubError> {
    const text = await res.text().catch(() => "");
    return errorFromResponse(
      res.status,
      text,
      res.header("x-request-id") ?? "",
      parseRetryAfter(res.header("retry-after"), this.opts.now()),
    );
  }

  url(path: string, query?: Record<string, unknown>): string {
    const base = this.opts.baseUrl.replace(/\/+$/, "");
    const qs = query === undefined ? "" : encodeQuery(query);
    return `${base}${path}${qs === "" ? "" : `?${qs}`}`;
  }

  private headers(
    opts: SendOptions,
    body: RequestBody | undefined,
    token: string | null,
  ): Record<string, string> {
    const h: Record<string, string> = { Accept: "application/json" };
    if (body !== undefined) {
      h["Content-Type"] =
        opts.rawBody !== undefined
          ? (opts.contentType ?? "application/octet-stream")
          : "application/json";
    }
    if (token !== null) h["Authorization"] = `Bearer ${token}`;
    if (opts.idempotencyKey !== undefined)
      h["Idempotency-Key"] = opts.idempotencyKey;
    return { ...h, ...opts.headers };
  }
}

function requestBody(
  method: string,
  opts: SendOptions,
): RequestBody | undefined {
  if (opts.rawBody !== undefined) return opts.rawBody;
  if (opts.body !== undefined) return JSON.stringify(opts.body);
  if (method === "POST" || method === "PUT" || method === "PATCH") return "{}";
  return undefined;
}

/** `a=1&b=x&b=y&c.d=2`: arrays repeat, nested objects use dotted names, undefined/null skipped. */
export function encodeQuery(query: Record<string, unknown>): string {
  const params = new URLSearchParams();
  const add = (name: string, v: unknown): void => {
    if (v === undefined || v === null) return;
    if (Array.isArray(v)) {
      for (const item of v) add(name, item);
    } else if (v instanceof Date) {
      params.append(name, v.toISOString());
    } else if (typeof v === "object") {
      for (const [k, inner] of Object.entries(v as Record<string, unknown>))
        add(`${name}.${k}`, inner);
    } else {
      params.append(name, String(v));
    }
  };
  for (const [k, v] of Object.entries(query)) add(k, v);
  return params.toString();
}

/** setTimeout as a promise that rejects with a cancellation when the signal fires. */
export function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(cancelledError(signal.reason));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(cancelledError(signal?.reason));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
