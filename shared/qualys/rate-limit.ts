import { setTimeout as sleep } from 'node:timers/promises';
import { QualysRateLimitWaitError } from './errors';

/** What the gateway advertises on every answer (DOCS-RATE [C]). */
export interface RateLimitHeaders {
  limit?: number;
  windowSec?: number;
  remaining?: number;
  toWaitSec?: number;
  concurrencyLimit?: number;
  concurrencyRunning?: number;
}

export function readRateLimitHeaders(headers: Record<string, unknown>): RateLimitHeaders {
  const num = (name: string): number | undefined => {
    const v = headers[name] ?? headers[name.toLowerCase()];
    const n = Number(Array.isArray(v) ? v[0] : v);
    return v === undefined || v === null || v === '' || !Number.isFinite(n) ? undefined : n;
  };
  return {
    limit: num('x-ratelimit-limit'),
    windowSec: num('x-ratelimit-window-sec'),
    remaining: num('x-ratelimit-remaining'),
    toWaitSec: num('x-ratelimit-towait-sec'),
    concurrencyLimit: num('x-concurrency-limit-limit'),
    concurrencyRunning: num('x-concurrency-limit-running'),
  };
}

/**
 * One budget shared by every call of a run: at most the advertised concurrency in flight, a pause
 * while the API says to wait (ToWait-Sec, or the backoff after a 409/429 without it), and a single
 * probe call when Remaining reached 0 without a ToWait (the header sometimes only comes on the
 * refused answer, qualys-cs-api.md §1.4 [C3]). A pause longer than `maxWaitMs` ends the run's calls
 * with QualysRateLimitWaitError instead of sleeping through a Lambda timeout.
 */
export class RateBudget {
  private concurrency: number;
  private running = 0;
  private remaining: number | undefined;
  private blockedUntil = 0;
  private waiters: Array<() => void> = [];
  /** Figures for reports and the benchmark. */
  readonly stats = { calls: 0, refused: 0, waitedMs: 0, limit: undefined as number | undefined, windowSec: undefined as number | undefined };

  constructor(
    private readonly maxConcurrency: number,
    private readonly maxWaitMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.concurrency = maxConcurrency;
  }

  async acquire(): Promise<() => void> {
    for (;;) {
      const wait = this.blockedUntil - this.now();
      if (wait > 0) {
        if (wait > this.maxWaitMs) throw new QualysRateLimitWaitError(wait);
        this.stats.waitedMs += wait;
        await sleep(wait);
        continue;
      }
      const cap = this.remaining === 0 ? 1 : this.concurrency;
      if (this.running < cap) {
        this.running++;
        this.stats.calls++;
        if (this.remaining !== undefined && this.remaining > 0) this.remaining--;
        let released = false;
        return () => {
          if (released) return;
          released = true;
          this.running--;
          this.wake();
        };
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Update from the headers of any answer. */
  observe(h: RateLimitHeaders): void {
    if (h.limit !== undefined) this.stats.limit = h.limit;
    if (h.windowSec !== undefined) this.stats.windowSec = h.windowSec;
    if (h.remaining !== undefined) this.remaining = h.remaining;
    if (h.concurrencyLimit !== undefined && h.concurrencyLimit > 0) this.concurrency = Math.min(this.maxConcurrency, h.concurrencyLimit);
    if (h.toWaitSec !== undefined && h.toWaitSec > 0) this.pauseFor(h.toWaitSec * 1000);
    this.wake();
  }

  /** A 409/429: pause for ToWait-Sec when given, else for the caller's backoff. */
  refused(h: RateLimitHeaders, fallbackMs: number): void {
    this.stats.refused++;
    this.observe(h);
    if (!(h.toWaitSec && h.toWaitSec > 0)) this.pauseFor(fallbackMs);
    if (this.remaining === 0 && h.toWaitSec) this.remaining = undefined; // the window reopens after the wait
  }

  private pauseFor(ms: number): void {
    this.blockedUntil = Math.max(this.blockedUntil, this.now() + ms);
  }

  private wake(): void {
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) w();
  }
}
