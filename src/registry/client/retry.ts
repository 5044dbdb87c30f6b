/**
 * Retry policy for registry requests: exponential backoff with full jitter, bounded both in
 * attempts and in total time. What is retried: connection failures, 5xx, 408 and 429 (waiting
 * what `Retry-After` asks when it fits the budget). Every other 4xx is the registry's final
 * word (a 413 repeated is still a 413) and is never retried.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { abortError } from '../../image/errors.js';

/** Bounds for retries; all optional, defaults in {@link DEFAULT_RETRY}. */
export interface RetryPolicy {
  /** Total attempts including the first (1 = no retries). */
  readonly attempts?: number;
  /** First backoff delay in ms; doubled each attempt. */
  readonly baseDelayMs?: number;
  /** Cap for one backoff delay (not for Retry-After). */
  readonly maxDelayMs?: number;
  /** Give up when the next wait would end after this many ms since the first attempt. */
  readonly maxTotalMs?: number;
}

/** Defaults: 5 attempts, 250 ms doubling up to 8 s, at most 2 minutes overall. */
export const DEFAULT_RETRY: Required<RetryPolicy> = {
  attempts: 5,
  baseDelayMs: 250,
  maxDelayMs: 8_000,
  maxTotalMs: 120_000,
};

/** Statuses worth another attempt: request timeout, throttling, server-side failures. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status !== 501 && status !== 505);
}

// undici and Node socket error codes that mean "the connection failed", not "the server said no".
const RETRYABLE_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
  'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
]);

/** The `code` of an error or of its causes (undici wraps socket errors). */
export function errorCodes(err: unknown): string[] {
  const out: string[] = [];
  let cur: unknown = err;
  for (let depth = 0; depth < 5 && cur !== undefined && cur !== null; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string') out.push(code);
    cur = (cur as { cause?: unknown }).cause;
  }
  return out;
}

/** True for a transport failure worth retrying (not TLS verification, not DNS NXDOMAIN). */
export function isRetryableError(err: unknown): boolean {
  return errorCodes(err).some((c) => RETRYABLE_CODES.has(c));
}

/**
 * Parses `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP-date. Returns ms to wait
 * from `now`, or undefined when absent or unparseable.
 */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const date = Date.parse(v);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** A running retry budget: decides whether and how long to wait before the next attempt. */
export class RetryBudget {
  private readonly policy: Required<RetryPolicy>;
  private readonly start: number;
  private attempt = 0;

  constructor(policy: RetryPolicy = {}, private readonly random: () => number = Math.random) {
    this.policy = { ...DEFAULT_RETRY, ...policy };
    this.start = Date.now();
  }

  /** Attempts made so far. */
  get attempts(): number {
    return this.attempt;
  }

  /** Records an attempt; call before each try. */
  begin(): void {
    this.attempt++;
  }

  /**
   * How long to wait before the next attempt, or undefined when the budget is spent.
   * `retryAfterMs` (from the server) replaces the backoff when given: waiting less would only
   * earn another 429.
   */
  nextDelay(retryAfterMs?: number): number | undefined {
    if (this.attempt >= this.policy.attempts) return undefined;
    const exp = Math.min(this.policy.maxDelayMs, this.policy.baseDelayMs * 2 ** (this.attempt - 1));
    // Full jitter (AWS architecture blog): uniform in [exp/2, exp] keeps some spacing while de-synchronising clients.
    const backoff = Math.round(exp / 2 + (this.random() * exp) / 2);
    const delay = retryAfterMs !== undefined ? Math.max(retryAfterMs, 0) : backoff;
    const elapsed = Date.now() - this.start;
    if (elapsed + delay > this.policy.maxTotalMs) return undefined;
    return delay;
  }
}

/** Sleeps `ms`, rejecting with ABORTED when `signal` aborts. */
export async function wait(ms: number, signal: AbortSignal | undefined, what: string): Promise<void> {
  if (ms <= 0) return;
  try {
    await sleep(ms, undefined, signal === undefined ? {} : { signal });
  } catch (err) {
    if (signal?.aborted) throw abortError(signal, what);
    throw err;
  }
}
