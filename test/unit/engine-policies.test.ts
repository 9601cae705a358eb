import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../shared/config/load';
import type { ClusterEvent } from '../../shared/domain/cluster-event';
import { parseClusterRef } from '../../shared/domain/cluster-ref';
import { parseRedeployRequest, redeployEvents, selectClusters } from '../../shared/engine/redeploy-request';
import { planWaves } from '../../shared/engine/waves';
import { activeWindow, globMatch } from '../../shared/engine/windows';
import { decideAfterAttempt } from '../../shared/engine/work-decision';
import type { ReconcileRecord } from '../../shared/state/records';

const rollout = parseConfig({ rollout: { readinessDeadlineSeconds: 1800, readinessPollSeconds: 60, maxAttempts: 3 } }).rollout;
const event: ClusterEvent = { id: 'e1', time: '2026-11-23T10:00:00Z', kind: 'cluster-created', cluster: 'aws-eks:123456789012:us-east-1:a', source: 'test', detail: {} };
const record = (outcome: ReconcileRecord['outcome'], message = 'm'): ReconcileRecord =>
  ({ outcome, message }) as ReconcileRecord;

describe('work item decisions', () => {
  it('retries a cluster that is not ready until the readiness deadline, then dead-letters with the reason', () => {
    const early = decideAfterAttempt(event, record('not-ready', 'cluster is CREATING'), 5, rollout, new Date('2026-11-23T10:10:00Z'));
    expect(early).toEqual({ kind: 'retry', delaySeconds: 60, reason: 'cluster is CREATING' });
    const late = decideAfterAttempt(event, record('not-ready', 'cluster is CREATING'), 40, rollout, new Date('2026-11-23T10:31:00Z'));
    expect(late.kind).toBe('dead-letter');
    expect(late.kind === 'dead-letter' && late.reason).toContain('not ready after 1860s');
  });

  it('retries failures with growing delays and dead-letters after the last attempt', () => {
    const d1 = decideAfterAttempt(event, record('failed', 'connect ECONNREFUSED'), 1, rollout, new Date());
    const d2 = decideAfterAttempt(event, record('failed', 'connect ECONNREFUSED'), 2, rollout, new Date());
    expect(d1.kind === 'retry' && d2.kind === 'retry' && d2.delaySeconds > d1.delaySeconds).toBe(true);
    const last = decideAfterAttempt(event, record('failed', 'connect ECONNREFUSED'), 3, rollout, new Date());
    expect(last).toEqual({ kind: 'dead-letter', reason: 'failed after 3 attempts: connect ECONNREFUSED' });
  });

  it.each(['in-sync', 'converged', 'degraded', 'stuck', 'skipped', 'held'] as const)('is done after %s', (outcome) => {
    expect(decideAfterAttempt(event, record(outcome), 1, rollout, new Date())).toEqual({ kind: 'done' });
  });
});

describe('waves', () => {
  it('starts with one canary and grows', () => {
    const waves = planWaves(Array.from({ length: 40 }, (_, i) => i));
    expect(waves.map((w) => w.length)).toEqual([1, 4, 10, 20, 5]);
    expect(waves.flat()).toEqual(Array.from({ length: 40 }, (_, i) => i));
  });
  it('handles tiny fleets', () => {
    expect(planWaves([])).toEqual([]);
    expect(planWaves(['a'])).toEqual([['a']]);
    expect(planWaves(['a', 'b', 'c'])).toEqual([['a'], ['b'], ['c']]);
  });
});

describe('maintenance windows', () => {
  const windows = parseConfig({
    rollout: { maintenanceWindows: [{ clusters: 'aws-eks:*:eu-west-1:*', days: [1], start: '22:00', end: '02:00', timeZone: 'Europe/Berlin' }] },
  }).rollout.maintenanceWindows;
  const eks = 'aws-eks:123456789012:eu-west-1:prod';

  it('holds inside the window, in the window time zone, across midnight', () => {
    // Monday 2026-11-23 22:30 Berlin = 21:30 UTC
    expect(activeWindow(windows, eks, new Date('2026-11-23T21:30:00Z'))).toBeDefined();
    // Tuesday 00:30 Berlin belongs to Monday's window
    expect(activeWindow(windows, eks, new Date('2026-11-23T23:30:00Z'))).toBeDefined();
    expect(activeWindow(windows, eks, new Date('2026-11-24T01:30:00Z'))).toBeUndefined();
  });
  it('only covers matching clusters', () => {
    expect(activeWindow(windows, 'aws-ecs:123456789012:eu-west-1:prod', new Date('2026-11-23T21:30:00Z'))).toBeUndefined();
    expect(globMatch('aws-*:*:us-*:*', 'aws-ecs:1:us-east-1:x')).toBe(true);
    expect(globMatch('aws-ecs:1:us-east-1:x.y', 'aws-ecs:1:us-east-1:xzy')).toBe(false);
  });
});

describe('redeploy requests', () => {
  const fleet = ['aws-ecs:111111111111:us-east-1:a', 'aws-eks:111111111111:us-east-1:b', 'aws-eks:222222222222:eu-west-1:c'].map(parseClusterRef);

  it('needs a reason and exactly one of cluster or selector', () => {
    expect(() => parseRedeployRequest({ cluster: 'aws-ecs:111111111111:us-east-1:a' })).toThrow('reason');
    expect(() => parseRedeployRequest({ reason: 'INC-1 sensor hung' })).toThrow('exactly one of cluster or selector');
    expect(() => parseRedeployRequest({ cluster: 'nope', reason: 'INC-1 sensor hung' })).toThrow('4 parts');
  });

  it('selects by glob and makes one event per cluster carrying the reason', () => {
    const req = parseRedeployRequest({ selector: 'aws-eks:*', reason: 'INC-42 stale pods', action: 'redeploy', requestedBy: 'oncall' });
    const chosen = selectClusters(req, fleet);
    expect(chosen.map((c) => c.name)).toEqual(['b', 'c']);
    const events = redeployEvents(req, chosen, new Date('2026-11-23T10:00:00Z'));
    expect(events).toHaveLength(2);
    expect(new Set(events.map((e) => e.id)).size).toBe(2);
    expect(events[0]).toMatchObject({ kind: 'redeploy-requested', detail: { action: 'redeploy', reason: 'INC-42 stale pods', requestedBy: 'oncall' } });
  });
});
