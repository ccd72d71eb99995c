// Reconnect delays, as the Rust client computes them (PROTOCOL.md section 7).

/** Reconnect settings; `false` in the client options never reconnects. */
export interface ReconnectOptions {
  /** The cap of the first delay (default 300 ms). */
  initialDelayMs?: number;
  /** The largest cap (default 10 s). */
  maxDelayMs?: number;
  /** Attempts before giving up (default unlimited). */
  maxAttempts?: number;
}

/** The defaults of PROTOCOL.md section 7 and the Rust client's `Backoff::exponential()`. */
export const DEFAULT_RECONNECT: Required<ReconnectOptions> = {
  initialDelayMs: 300,
  maxDelayMs: 10_000,
  maxAttempts: Number.POSITIVE_INFINITY,
};

/** `min(max, initial * 2^(attempt-1))`, attempt 1-based. */
export function backoffCap(attempt: number, o: Required<ReconnectOptions>): number {
  const shift = Math.min(Math.max(attempt - 1, 0), 63);
  return Math.min(o.maxDelayMs, o.initialDelayMs * 2 ** shift);
}

/**
 * The delay before reconnect attempt `attempt` (1-based) given a uniform draw `unit` in [0, 1]:
 * full jitter, whole milliseconds (`floor(unit * cap)`); `undefined` once past `maxAttempts`.
 */
export function backoffDelay(
  attempt: number,
  unit: number,
  o: Required<ReconnectOptions>,
): number | undefined {
  if (attempt > o.maxAttempts) return undefined;
  const u = Math.min(Math.max(unit, 0), 1);
  return Math.floor(backoffCap(attempt, o) * u);
}
