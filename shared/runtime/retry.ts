import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The one retry policy for external calls (DESIGN §8): bounded attempts, full-jitter exponential
 * backoff, and a server-provided wait (Retry-After, X-RateLimit-ToWait-Sec) honoured when present.
 */
export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 200, maxDelayMs: 10_000 };

export interface RetryDecision {
  retry: boolean;
  /** Wait the server asked for, in ms; overrides the computed backoff when larger. */
  waitMs?: number;
}

export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return Math.floor(random() * cap);
}

export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  classify: (err: unknown) => RetryDecision,
  policy: RetryPolicy = DEFAULT_RETRY,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      const decision = classify(err);
      if (!decision.retry || attempt + 1 >= policy.attempts) throw err;
      const delay = Math.max(decision.waitMs ?? 0, backoffDelay(attempt, policy));
      await sleep(Math.min(delay, policy.maxDelayMs * 6));
    }
  }
}

/** Parses Retry-After (seconds or HTTP date) into milliseconds. */
export function parseRetryAfter(value: string | undefined | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
