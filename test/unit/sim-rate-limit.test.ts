import { describe, expect, it } from 'vitest';
import { RateLimits, TokenBucket } from '../sim/rate-limit';

describe('token buckets of the simulated providers', () => {
  it('grants the burst at once, then refills at the sustained rate', () => {
    const b = new TokenBucket({ ratePerSecond: 5, burst: 10, source: 'test' }, 0);
    const at0 = Array.from({ length: 12 }, () => b.take(0));
    expect(at0.filter(Boolean)).toHaveLength(10);
    // 1 s later: 5 tokens back
    const at1 = Array.from({ length: 7 }, () => b.take(1_000));
    expect(at1.filter(Boolean)).toHaveLength(5);
    // never more than the burst, however long it rested
    const later = Array.from({ length: 20 }, () => b.take(60_000));
    expect(later.filter(Boolean)).toHaveLength(10);
  });

  it('keeps a budget per scope and counts accepted calls per virtual second and throttles', () => {
    let now = 0;
    const limits = new RateLimits({ 'eks.api': { ratePerSecond: 2, burst: 2, source: 'documented here' } }, () => now);
    const a = [limits.admit('eks.api', 'acct-a/us-east-1'), limits.admit('eks.api', 'acct-a/us-east-1'), limits.admit('eks.api', 'acct-a/us-east-1')];
    const b = limits.admit('eks.api', 'acct-b/us-east-1');
    expect(a).toEqual([true, true, false]);
    expect(b).toBe(true);
    now = 1_500;
    expect(limits.admit('eks.api', 'acct-a/us-east-1')).toBe(true);
    const s = limits.summary()['eks.api']!;
    expect(s).toMatchObject({ limitPerSecond: 2, burst: 2, scopes: 2, calls: 4, throttled: 1, peakPerSecond: 2, busiestScope: 'acct-a/us-east-1', withinLimit: true, source: 'documented here' });
  });

  it('refuses an API it has no documented limit for', () => {
    const limits = new RateLimits({}, () => 0);
    expect(() => limits.admit('unknown.api', 's')).toThrow(/no rate limit configured for unknown.api/);
  });
});
