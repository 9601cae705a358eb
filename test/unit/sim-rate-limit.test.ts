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
    expect(s).toMatchObject({ limitPerSecond: 2, burst: 2, scopes: 2, calls: 4, throttled: 1, peakPerSecond: 2, busiestScope: 'acct-a/us-east-1', peakAt: new Date(0).toISOString(), source: 'documented here' });
    // a refused call means the run did not keep to the provider's budget
    expect(s.withinLimit).toBe(false);
  });

  it('refuses an API it has no documented limit for', () => {
    const limits = new RateLimits({}, () => 0);
    expect(() => limits.admit('unknown.api', 's')).toThrow(/no rate limit configured for unknown.api/);
  });

  it('counts a windowed quota per aligned window (Google: per minute, enforced over 100 s intervals)', () => {
    let now = 0;
    const limits = new RateLimits({ 'gke.api': { ratePerSecond: 2, burst: 2, windowSeconds: 10, source: 'documented here' } }, () => now);
    const first = Array.from({ length: 21 }, () => limits.admit('gke.api', 'p'));
    // 20 per 10 s window, all at once if need be
    expect(first.filter(Boolean)).toHaveLength(20);
    now = 9_999;
    expect(limits.admit('gke.api', 'p')).toBe(false);
    now = 10_000;
    expect(limits.admit('gke.api', 'p')).toBe(true);
    expect(limits.summary()['gke.api']).toMatchObject({ windowSeconds: 10, peakPerWindow: 20, peakPerSecond: 20, throttled: 2, withinLimit: false });
    const clean = new RateLimits({ 'gke.api': { ratePerSecond: 2, burst: 2, windowSeconds: 10, source: 'x' } }, () => now);
    for (let i = 0; i < 20; i++) clean.admit('gke.api', 'p');
    expect(clean.summary()['gke.api']!.withinLimit).toBe(true);
  });
});
