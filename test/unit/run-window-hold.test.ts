import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../shared/config/load';
import { activeWindow, windowEnd } from '../../shared/engine/windows';
import { ringAnswerOf, ringWindowHold } from '../../shared/rollout/ring-answer';
import type { ReconcileRecord } from '../../shared/state/records';

/**
 * Issue 7: a cluster held by a maintenance window inside a ring run does not count as passed. Its
 * ring waits for it while the window ends within rollout.readinessDeadlineSeconds of the item's first
 * sighting (the item comes back at the window's end, at most every 15 minutes); a window that ends
 * later fails the ring now with "held by maintenance window … until …" (the run halts).
 */
const windows = (w: Record<string, unknown>) => parseConfig({ rollout: { maintenanceWindows: [w] } }).rollout.maintenanceWindows;
const ref = 'aws-eks:111122223333:eu-west-1:payments';

describe('windowEnd: when the window that holds a moment ends', () => {
  it('same day, across midnight, in the window\'s own zone, DST included', () => {
    const [day] = windows({ start: '09:00', end: '17:00', timeZone: 'UTC' });
    expect(windowEnd(day!, new Date('2026-12-01T10:30:15Z'))?.toISOString()).toBe('2026-12-01T17:00:00.000Z');
    expect(windowEnd(day!, new Date('2026-12-01T08:59:00Z'))).toBeUndefined();
    const [night] = windows({ start: '22:00', end: '06:00', timeZone: 'Europe/Berlin' });
    // 23:30 Berlin (UTC+1 in December) -> ends 06:00 Berlin = 05:00 UTC the next day
    expect(windowEnd(night!, new Date('2026-12-01T22:30:00Z'))?.toISOString()).toBe('2026-12-02T05:00:00.000Z');
    // the night DST ends in Berlin (25 Oct 2026, 03:00 CEST -> 02:00 CET): 06:00 CET = 05:00 UTC
    expect(windowEnd(night!, new Date('2026-10-24T21:00:00Z'))?.toISOString()).toBe('2026-10-25T05:00:00.000Z');
  });
});

describe('ringWindowHold: the ring waits within its deadline, then halts with the window', () => {
  const [w] = windows({ clusters: '*:payments', start: '01:00', end: '03:00', timeZone: 'UTC' });
  const now = new Date('2026-12-02T02:50:00Z');

  it('a window that ends within the deadline: the item comes back at its end, the ring waits (no answer)', () => {
    expect(activeWindow([w!], ref, now)).toBe(w);
    const hold = ringWindowHold({ window: w!, now, firstSeenAt: now.getTime() - 60_000, deadlineSeconds: 3600 });
    expect(hold).toEqual({ kind: 'wait', delaySeconds: 600, reason: 'held by maintenance window 01:00-03:00 UTC until 2026-12-02T03:00:00.000Z: its ring waits' });
  });

  it('long windows are waited out in steps of at most 15 minutes', () => {
    const hold = ringWindowHold({ window: w!, now: new Date('2026-12-02T01:05:00Z'), firstSeenAt: Date.parse('2026-12-02T01:05:00Z'), deadlineSeconds: 3 * 3600 });
    expect(hold).toMatchObject({ kind: 'wait', delaySeconds: 900 });
  });

  it('a window that ends after the deadline fails the ring now, naming the window and its end', () => {
    const hold = ringWindowHold({ window: w!, now, firstSeenAt: now.getTime(), deadlineSeconds: 300 });
    expect(hold.kind).toBe('answer');
    if (hold.kind !== 'answer') return;
    expect(hold.answer.ok).toBe(false);
    expect(hold.answer.outcome).toBe('held');
    expect(hold.answer.message).toMatch(/^held by maintenance window 01:00-03:00 UTC until 2026-12-02T03:00:00\.000Z: later than the ring waits for a cluster \(rollout\.readinessDeadlineSeconds 300 s/);
  });

  it('the deadline counts from the first sighting: a held item that waited long enough halts the ring', () => {
    const first = now.getTime() - 3100 * 1000;
    expect(ringWindowHold({ window: w!, now, firstSeenAt: first, deadlineSeconds: 3600 }).kind).toBe('answer');
  });

  it('consistent with how a finished reconcile answers: held is never an ok answer', () => {
    const record = { outcome: 'held', message: 'held: maintenance window 01:00-03:00 UTC', version: { desired: '2.0.0-0' } } as unknown as ReconcileRecord;
    expect(ringAnswerOf(record)).toMatchObject({ ok: false, outcome: 'held' });
  });
});
