// Typed API errors. Failures from the Kubernetes client are mapped here once, so the rest of
// the code branches on a class instead of on status codes and Status reasons.

export type KubeErrorCode =
  | "NotFound"
  | "AlreadyExists"
  | "Conflict"
  | "Gone"
  | "Forbidden"
  | "Unauthorized"
  | "Invalid"
  | "BadRequest"
  | "Transient"
  | "Unknown";

export class KubeError extends Error {
  readonly code: KubeErrorCode;
  readonly status: number | undefined;
  constructor(code: KubeErrorCode, message: string, status?: number, options?: ErrorOptions) {
    super(message, options);
    this.name = "KubeError";
    this.code = code;
    this.status = status;
  }
}

/**
 * A write this process refused to send: it no longer holds the leader Lease (see
 * KubeClient.fenced), so another replica may be acting on the same objects.
 */
export class FencedWriteError extends Error {
  override readonly name = "FencedWriteError";
}

export function isKubeError(err: unknown, code: KubeErrorCode): err is KubeError {
  return err instanceof KubeError && err.code === code;
}

interface StatusBody {
  readonly reason?: unknown;
  readonly message?: unknown;
}

function parseStatusBody(body: unknown): StatusBody {
  if (typeof body === "string") {
    try {
      const parsed: unknown = JSON.parse(body);
      return typeof parsed === "object" && parsed !== null ? parsed : {};
    } catch {
      return { message: body };
    }
  }
  return typeof body === "object" && body !== null ? body : {};
}

/** Maps an HTTP status and a Kubernetes Status body to a typed error. Pure. */
export function kubeErrorFromStatus(
  status: number,
  body: unknown,
  context: string,
  cause?: unknown,
): KubeError {
  const parsed = parseStatusBody(body);
  const reason = typeof parsed.reason === "string" ? parsed.reason : "";
  const detail = typeof parsed.message === "string" ? parsed.message : `HTTP ${status}`;
  const message = `${context}: ${detail}`;
  const opts = cause === undefined ? undefined : { cause };
  switch (status) {
    case 404:
      return new KubeError("NotFound", message, status, opts);
    case 409:
      // Both AlreadyExists and a resourceVersion conflict are 409; the Status reason tells them apart.
      return new KubeError(
        reason === "AlreadyExists" ? "AlreadyExists" : "Conflict",
        message,
        status,
        opts,
      );
    case 410:
      return new KubeError("Gone", message, status, opts);
    case 401:
      return new KubeError("Unauthorized", message, status, opts);
    case 403:
      return new KubeError("Forbidden", message, status, opts);
    case 422:
      return new KubeError("Invalid", message, status, opts);
    case 400:
      return new KubeError("BadRequest", message, status, opts);
    default:
      if (status === 429 || status >= 500) {
        return new KubeError("Transient", message, status, opts);
      }
      return new KubeError("Unknown", message, status, opts);
  }
}

/** HTTP statuses of an API server that is not serving (starting, stopping) or a proxy without one. */
const NOT_SERVING = new Set([502, 503, 504]);

/**
 * The API server could not be reached or is not serving: a request that got no answer at all (a
 * refused or reset connection) or 502/503/504. Nothing about the request itself was wrong, so its
 * retry is worth making as soon as the API is back. Follows `cause`, as callers wrap errors.
 */
export function isApiUnreachable(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; e instanceof Error && depth < 8; depth++) {
    if (e instanceof KubeError) {
      return e.code === "Transient" && (e.status === undefined || NOT_SERVING.has(e.status));
    }
    e = e.cause;
  }
  return false;
}
