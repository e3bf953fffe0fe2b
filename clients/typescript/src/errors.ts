/** gRPC status codes as the gateway reports them in an error body's `code`. */
export const GrpcCode = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

export interface CityhubErrorInit {
  code: number;
  message: string;
  status: number;
  requestId?: string | undefined;
  details?: unknown[] | undefined;
  retryAfterMs?: number | undefined;
  cause?: unknown;
}

/**
 * The one error type the SDK throws. `code` is the gRPC code of the gateway's error body,
 * `status` the HTTP status (0 when no answer arrived: network error or cancellation),
 * `requestId` the answer's X-Request-Id (quote it when reporting a problem), `retryAfterMs`
 * the answer's Retry-After when it had one.
 */
export class CityhubError extends Error {
  readonly code: number;
  readonly status: number;
  readonly requestId: string;
  readonly details: unknown[];
  readonly retryAfterMs?: number;

  constructor(init: CityhubErrorInit) {
    super(
      init.message,
      init.cause === undefined ? undefined : { cause: init.cause },
    );
    this.name = "CityhubError";
    this.code = init.code;
    this.status = init.status;
    this.requestId = init.requestId ?? "";
    this.details = init.details ?? [];
    if (init.retryAfterMs !== undefined) this.retryAfterMs = init.retryAfterMs;
  }
}

/** The gRPC code an HTTP status stands for, for answers without the gateway's error body. */
export function codeForStatus(status: number): number {
  switch (status) {
    case 400:
      return GrpcCode.INVALID_ARGUMENT;
    case 401:
      return GrpcCode.UNAUTHENTICATED;
    case 403:
      return GrpcCode.PERMISSION_DENIED;
    case 404:
      return GrpcCode.NOT_FOUND;
    case 408:
    case 504:
      return GrpcCode.DEADLINE_EXCEEDED;
    case 409:
      return GrpcCode.ABORTED;
    case 413:
    case 431:
      return GrpcCode.INVALID_ARGUMENT;
    case 429:
      return GrpcCode.RESOURCE_EXHAUSTED;
    case 499:
      return GrpcCode.CANCELLED;
    case 501:
    case 405:
      return GrpcCode.UNIMPLEMENTED;
    case 502:
    case 503:
      return GrpcCode.UNAVAILABLE;
    default:
      return GrpcCode.UNKNOWN;
  }
}

/**
 * Reads Retry-After: delay-seconds or an HTTP date. Returns milliseconds (never negative),
 * or undefined when absent or unreadable.
 */
export function parseRetryAfter(
  value: string | null,
  now: number = Date.now(),
): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (text === "") return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** Builds the error for a non-2xx answer from its body (`{code, message, details}`). */
export function errorFromResponse(
  status: number,
  bodyText: string,
  requestId: string,
  retryAfterMs: number | undefined,
): CityhubError {
  let code = codeForStatus(status);
  let message = `HTTP ${status}`;
  let details: unknown[] = [];
  try {
    const body: unknown = JSON.parse(bodyText);
    if (body !== null && typeof body === "object") {
      const b = body as {
        code?: unknown;
        message?: unknown;
        details?: unknown;
      };
      if (typeof b.code === "number") code = b.code;
      if (typeof b.message === "string" && b.message !== "")
        message = b.message;
      if (Array.isArray(b.details)) details = b.details;
    }
  } catch {
    const text = bodyText.trim();
    if (text !== "" && text.length <= 200) message = text;
  }
  return new CityhubError({
    code,
    message,
    status,
    requestId,
    details,
    retryAfterMs,
  });
}

export function networkError(cause: unknown): CityhubError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new CityhubError({
    code: GrpcCode.UNAVAILABLE,
    message: `network error: ${detail}`,
    status: 0,
    cause,
  });
}

export function cancelledError(cause?: unknown): CityhubError {
  return new CityhubError({
    code: GrpcCode.CANCELLED,
    message: "the call was cancelled",
    status: 0,
    cause,
  });
}
