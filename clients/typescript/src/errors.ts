// The errors the client raises: RpcError (the server's RPC_ERROR/ERROR), ClientError (the
// client's own), ValidationError (a payload that does not match its schema).

/** The error codes of PROTOCOL.md section 3. */
export const ERROR_CODES = [
  "UNAUTHENTICATED",
  "PERMISSION_DENIED",
  "INVALID_ARGUMENT",
  "FAILED_PRECONDITION",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "UNIMPLEMENTED",
  "CANCELLED",
  "DEADLINE_EXCEEDED",
  "RESOURCE_EXHAUSTED",
  "UNAVAILABLE",
  "ABORTED",
  "INTERNAL",
] as const;

/** A standard error code. */
export type StandardErrorCode = (typeof ERROR_CODES)[number];

/** A standard code, or a custom string code (which servers may send). */
export type AnyErrorCode = StandardErrorCode | (string & {});

/** Codes retryable by default (PROTOCOL.md section 3). */
const RETRYABLE: ReadonlySet<string> = new Set([
  "DEADLINE_EXCEEDED",
  "RESOURCE_EXHAUSTED",
  "UNAVAILABLE",
  "ABORTED",
]);

/** The payload of an `RPC_ERROR` or `ERROR` frame. */
export interface ErrorPayload {
  code: AnyErrorCode;
  message: string;
  details?: Record<string, unknown>;
  retryable?: boolean;
  retryAfterMs?: number;
}

/** Reads an error frame's payload; `undefined` when it is not one. */
export function readErrorPayload(p: unknown): ErrorPayload | undefined {
  if (typeof p !== "object" || p === null || Array.isArray(p)) return undefined;
  const o = p as Record<string, unknown>;
  if (typeof o.code !== "string" || typeof o.message !== "string") return undefined;
  const out: ErrorPayload = { code: o.code, message: o.message };
  if (typeof o.details === "object" && o.details !== null && !Array.isArray(o.details)) {
    out.details = o.details as Record<string, unknown>;
  }
  if (typeof o.retryable === "boolean") out.retryable = o.retryable;
  if (typeof o.retryAfterMs === "number") out.retryAfterMs = o.retryAfterMs;
  return out;
}

/**
 * The server's answer to a request was an error (`RPC_ERROR`, or `ERROR` carrying the
 * request's correlation id).
 */
export class RpcError extends Error {
  override readonly name = "RpcError";
  /** The error code: one of {@link ERROR_CODES}, or a custom one. */
  readonly code: AnyErrorCode;
  /** Extra information the server gave (`details.issues` for validation failures). */
  readonly details: Record<string, unknown> | undefined;
  /** Whether trying again may succeed: the server's word, else the code's default. */
  readonly retryable: boolean;
  /** How long to wait before trying again, when the server said. */
  readonly retryAfterMs: number | undefined;
  /** The frame type that carried it. */
  readonly frameType: "RPC_ERROR" | "ERROR";

  constructor(payload: ErrorPayload, frameType: "RPC_ERROR" | "ERROR" = "RPC_ERROR") {
    super(payload.message);
    this.code = payload.code;
    this.details = payload.details;
    this.retryable = payload.retryable ?? RETRYABLE.has(payload.code);
    this.retryAfterMs = payload.retryAfterMs;
    this.frameType = frameType;
  }
}

/** Why the client itself failed an operation. */
export type ClientErrorKind =
  /** `close()` was called: the client sends nothing until `connect()` again. */
  | "closed"
  /** The connection closed while the request was in flight (and it is not idempotent). */
  | "connection-closed"
  /** Not open and the queue policy is `off`. */
  | "not-connected"
  /** The offline queue is full (drop-newest), or this item was evicted (drop-oldest). */
  | "queue-full"
  /** No reply within the request's timeout (counted from the moment it was written). */
  | "timeout"
  /** The request's `AbortSignal` fired. */
  | "aborted"
  /** Too many requests pending. */
  | "too-many-pending"
  /** The reply was not the request's response type, or its payload failed validation. */
  | "invalid-reply"
  /** The connection could not be opened. */
  | "connect"
  /** The server refused the upgrade (its auth: HTTP 401/403, or `isRejected` said so). */
  | "rejected";

/** An error of the client itself; `kind` says which. */
export class ClientError extends Error {
  override readonly name = "ClientError";
  constructor(
    readonly kind: ClientErrorKind,
    message: string,
    /** The HTTP status of a refused upgrade, when the runtime exposes it. */
    readonly status?: number,
  ) {
    super(message);
  }
}

/** One issue of a failed validation: where, and what. */
export interface Issue {
  path: string;
  message: string;
}

/** A payload did not match its descriptor's schema (outbound before sending, or inbound). */
export class ValidationError extends Error {
  override readonly name = "ValidationError";
  constructor(
    /** The frame type. */
    readonly type: string,
    readonly issues: Issue[],
  ) {
    super(`invalid ${type} payload: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`);
  }
}
