/**
 * Request budgets of the simulated providers: a token bucket per (API, scope) on the virtual clock,
 * and a count of the calls each scope received in each virtual second (the figure the budgets check
 * compares with the documented limit). A call over budget is answered with the provider's throttle
 * error by the stand-in; the product's retry/backoff absorbs it.
 */
export interface BucketSpec {
  /** Tokens added per second (the sustained rate). */
  ratePerSecond: number;
  /** Bucket size (the burst). */
  burst: number;
  /** Where the limit is documented. */
  source: string;
  /**
   * A quota counted per fixed window instead of a token bucket (Google enforces its per-minute API quotas
   * over 100-second intervals): at most ratePerSecond * windowSeconds calls per aligned window.
   */
  windowSeconds?: number;
}

export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(private readonly spec: BucketSpec, nowMs: number) {
    this.tokens = spec.burst;
    this.at = nowMs;
  }

  /** Takes one token if there is one at nowMs; false means: throttle this call. */
  take(nowMs: number): boolean {
    this.tokens = Math.min(this.spec.burst, this.tokens + ((nowMs - this.at) / 1000) * this.spec.ratePerSecond);
    this.at = Math.max(this.at, nowMs);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export interface ScopeStats {
  api: string;
  scope: string;
  calls: number;
  throttled: number;
  /** Most calls accepted in one virtual second (1 s windows aligned to the clock). */
  peakPerSecond: number;
  /** When that second began (virtual ms). */
  peakAt: number;
  /** Windowed quotas: most calls accepted in one window. */
  peakPerWindow: number;
}

/** Buckets and per-second counts for every (API, scope) the simulation serves. */
export class RateLimits {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly stats = new Map<string, ScopeStats & { second: number; inSecond: number; window: number; inWindow: number }>();

  constructor(private readonly specs: Record<string, BucketSpec>, private readonly now: () => number) {}

  /** One call of `api` in `scope`: true if within budget (counted), false if throttled (counted as such). */
  admit(api: string, scope: string): boolean {
    const spec = this.specs[api];
    if (!spec) throw new Error(`no rate limit configured for ${api}`);
    const key = `${api}|${scope}`;
    let s = this.stats.get(key);
    if (!s) this.stats.set(key, (s = { api, scope, calls: 0, throttled: 0, peakPerSecond: 0, peakAt: 0, peakPerWindow: 0, second: -1, inSecond: 0, window: -1, inWindow: 0 }));
    const window = spec.windowSeconds ? Math.floor(this.now() / (spec.windowSeconds * 1000)) : 0;
    if (window !== s.window) (s.window = window), (s.inWindow = 0);
    if (spec.windowSeconds) {
      if (s.inWindow >= spec.ratePerSecond * spec.windowSeconds) {
        s.throttled++;
        return false;
      }
    } else {
      let bucket = this.buckets.get(key);
      if (!bucket) this.buckets.set(key, (bucket = new TokenBucket(spec, this.now())));
      if (!bucket.take(this.now())) {
        s.throttled++;
        return false;
      }
    }
    s.calls++;
    s.inWindow++;
    s.peakPerWindow = Math.max(s.peakPerWindow, s.inWindow);
    const second = Math.floor(this.now() / 1000);
    if (second !== s.second) (s.second = second), (s.inSecond = 0);
    s.inSecond++;
    if (s.inSecond > s.peakPerSecond) (s.peakPerSecond = s.inSecond), (s.peakAt = second * 1000);
    return true;
  }

  /** Per API: the limit used, the busiest scope's peak calls in one second, calls and throttles in all. */
  summary(): Record<string, { limitPerSecond: number; burst: number; windowSeconds?: number; source: string; scopes: number; calls: number; throttled: number; peakPerSecond: number; peakAt: string; peakPerWindow?: number; busiestScope: string; withinLimit: boolean }> {
    const out: ReturnType<RateLimits['summary']> = {};
    for (const [api, spec] of Object.entries(this.specs)) {
      const rows = [...this.stats.values()].filter((s) => s.api === api);
      if (rows.length === 0) continue;
      const busiest = rows.reduce((a, b) => (b.peakPerSecond > a.peakPerSecond ? b : a));
      const windowPeak = Math.max(...rows.map((r) => r.peakPerWindow));
      const throttled = rows.reduce((n, r) => n + r.throttled, 0);
      out[api] = {
        limitPerSecond: spec.ratePerSecond,
        burst: spec.burst,
        ...(spec.windowSeconds ? { windowSeconds: spec.windowSeconds, peakPerWindow: windowPeak } : {}),
        source: spec.source,
        scopes: rows.length,
        calls: rows.reduce((n, r) => n + r.calls, 0),
        throttled,
        peakPerSecond: busiest.peakPerSecond,
        peakAt: new Date(busiest.peakAt).toISOString(),
        busiestScope: busiest.scope,
        // within the limit: no call refused, and the busiest second (or window) no busier than the provider
        // admits; accepted calls can exceed the sustained rate only by the burst, within one second
        withinLimit: throttled === 0 && (spec.windowSeconds ? windowPeak <= spec.ratePerSecond * spec.windowSeconds : busiest.peakPerSecond <= Math.max(spec.ratePerSecond, spec.burst)),
      };
    }
    return out;
  }
}
