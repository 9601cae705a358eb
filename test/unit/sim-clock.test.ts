import { describe, expect, it } from 'vitest';
import { installVirtualClock, VirtualClock } from '../sim/clock';

describe('virtual clock (fan-out simulation)', () => {
  it('fires timers in time order, same-time timers in the order they were set, and moves time only by jumps', async () => {
    const clock = new VirtualClock(1_000);
    const fired: string[] = [];
    clock.schedule(50, () => fired.push(`b@${clock.now()}`));
    clock.schedule(10, () => fired.push(`a@${clock.now()}`));
    clock.schedule(50, () => fired.push(`c@${clock.now()}`));
    const t = clock.schedule(30, () => fired.push('cancelled'));
    clock.cancel(t);
    await clock.run(() => fired.length === 3);
    expect(fired).toEqual(['a@1010', 'b@1050', 'c@1050']);
    expect(clock.now()).toBe(1050);
  });

  it('lets awaited work between timers run before it jumps: a chain of sleeps adds up', async () => {
    const clock = new VirtualClock(0);
    let done = false;
    const seen: number[] = [];
    void (async () => {
      for (let i = 0; i < 5; i++) {
        await clock.sleep(200);
        await Promise.resolve();
        seen.push(clock.now());
      }
      done = true;
    })();
    await clock.run(() => done);
    expect(seen).toEqual([200, 400, 600, 800, 1000]);
  });

  it('stops at maxVirtualMs and when the caller is done', async () => {
    const clock = new VirtualClock(0);
    clock.schedule(5_000, () => undefined);
    await clock.run(() => false, { maxVirtualMs: 1_000 });
    expect(clock.now()).toBe(0);
    expect(clock.pending()).toBe(1);
  });

  it('once installed, setTimeout, setInterval, clearTimeout and Date follow the clock; uninstall restores the real ones', async () => {
    const clock = new VirtualClock(Date.parse('2026-12-02T02:00:00Z'));
    const real = { setTimeout: globalThis.setTimeout, Date: globalThis.Date };
    const uninstall = installVirtualClock(clock);
    // the installed functions, taken while installed and used after uninstall, so the test runner's own timers stay real
    const v = { setTimeout: globalThis.setTimeout, clearTimeout: globalThis.clearTimeout, setInterval: globalThis.setInterval, clearInterval: globalThis.clearInterval, Date: globalThis.Date };
    uninstall();
    expect(globalThis.setTimeout).toBe(real.setTimeout);
    expect(globalThis.Date).toBe(real.Date);
    const times: string[] = [];
    v.setTimeout(() => times.push(new v.Date().toISOString()), 90_000);
    const never = v.setTimeout(() => times.push('never'), 10);
    v.clearTimeout(never);
    let ticks = 0;
    const interval = v.setInterval(() => {
      if (++ticks === 3) v.clearInterval(interval);
    }, 1_000);
    await clock.run(() => times.length === 1 && ticks === 3);
    expect(times).toEqual(['2026-12-02T02:01:30.000Z']);
    expect(v.Date.now()).toBe(Date.parse('2026-12-02T02:01:30.000Z'));
    expect(new v.Date(0).getTime()).toBe(0);
    expect(ticks).toBe(3);
  });
});
