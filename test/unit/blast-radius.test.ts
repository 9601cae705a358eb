import { describe, expect, it } from 'vitest';
import { palette } from '../../shared/cli/colour';
import { planView, renderPlan } from '../../shared/cli/plan-view';
import { parseConfig } from '../../shared/config/load';
import { blastRadius, changesRunningSensor } from '../../shared/engine/blast-radius';
import type { ClusterPlan, PlannedAction } from '../../shared/platforms/types';
import type { ReconcileRecord } from '../../shared/state/records';

/**
 * The blast-radius guard (issue 7): a share and an absolute floor, counting only clusters whose running
 * sensor would change. Before, it counted shares only: a fleet of one could never be upgraded without --force.
 */
const upgrade = (rollout = true): ClusterPlan => ({
  cluster: 'c',
  actions: [{ type: 'apply', target: 'DaemonSet qualys-sensor/qualys-container-sensor', reason: 'image differs', rollout } as PlannedAction],
  sensorVersion: { current: '1.34.1-0', desired: '1.35.0-0' },
});
const firstInstall: ClusterPlan = { cluster: 'n', actions: [{ type: 'apply', target: 'Namespace qualys-sensor', reason: 'missing; create', rollout: false } as PlannedAction], sensorVersion: { desired: '1.35.0-0' } };
const inSync: ClusterPlan = { cluster: 's', actions: [], sensorVersion: { current: '1.35.0-0', desired: '1.35.0-0' } };
const fleet = (changing: number, total: number) => [...Array(changing).fill(upgrade()), ...Array(total - changing).fill(inSync)];

describe('blast-radius guard', () => {
  it('a fleet of one cluster can be upgraded: the floor (default one cluster) allows it', () => {
    const limit = parseConfig({}).rollout.blastRadius;
    expect(limit).toEqual({ percent: 25, minClusters: 1 });
    expect(blastRadius([upgrade()], limit)).toMatchObject({ clusters: 1, changing: 1, allowed: 1, held: false });
    expect(blastRadius(fleet(2, 2), limit)).toMatchObject({
      held: true,
      reason: 'would change the running sensor on 2 of 2 clusters (100%), above the 25% limit and the floor of 1 cluster',
    });
  });

  it('25 % but never fewer than 5 clusters', () => {
    const limit = { percent: 25, minClusters: 5 };
    expect(blastRadius(fleet(5, 8), limit)).toMatchObject({ allowed: 5, held: false });
    expect(blastRadius(fleet(6, 8), limit)).toMatchObject({ allowed: 5, held: true });
    expect(blastRadius(fleet(25, 100), limit)).toMatchObject({ allowed: 25, held: false });
    expect(blastRadius(fleet(26, 100), limit)).toMatchObject({ allowed: 25, held: true, reason: expect.stringContaining('26 of 100 clusters (26%), above the 25% limit and the floor of 5 clusters') });
  });

  it('counts only clusters whose running sensor would change', () => {
    const limit = { percent: 0, minClusters: 0 };
    // a first install cannot break a sensor that is not there; a change that keeps the pods/tasks running does not replace it
    expect(blastRadius([firstInstall, upgrade(false), inSync, undefined], limit)).toMatchObject({ clusters: 4, changing: 0, held: false });
    expect(changesRunningSensor(upgrade(false))).toBe(false);
    expect(changesRunningSensor({ ...upgrade(), actions: [{ type: 'finding', target: 'x', reason: 'not ours', rollout: true }] })).toBe(false);
    expect(blastRadius([upgrade(), firstInstall], limit)).toMatchObject({ changing: 1, held: true });
  });
});

describe('rollout.blastRadius configuration', () => {
  it('is a strict { percent, minClusters }; the old blastRadiusPercent still works (floor 1); both at once is an error', () => {
    expect(parseConfig({ rollout: { blastRadius: { percent: 10, minClusters: 5 } } }).rollout.blastRadius).toEqual({ percent: 10, minClusters: 5 });
    expect(parseConfig({ rollout: { blastRadius: { minClusters: 3 } } }).rollout.blastRadius).toEqual({ percent: 25, minClusters: 3 });
    expect(parseConfig({ rollout: { blastRadiusPercent: 40 } }).rollout.blastRadius).toEqual({ percent: 40, minClusters: 1 });
    expect(() => parseConfig({ rollout: { blastRadius: { percent: 10 }, blastRadiusPercent: 40 } })).toThrow(
      /rollout\.blastRadiusPercent.*give rollout\.blastRadius \{ percent, minClusters \} or its old form rollout\.blastRadiusPercent, not both/s,
    );
    expect(() => parseConfig({ rollout: { blastRadius: { percent: 10, min: 5 } } })).toThrow(/Unrecognized key.*min/s);
    expect(() => parseConfig({ rollout: { blastRadius: { percent: 120 } } })).toThrow(/rollout\.blastRadius\.percent/);
  });
});

describe('plan says when a reconcile would be held', () => {
  const record = (cluster: string): ReconcileRecord => ({
    id: cluster,
    cluster,
    platform: 'aws-eks',
    startedAt: '2026-12-01T00:00:00Z',
    finishedAt: '2026-12-01T00:00:01Z',
    trigger: { kind: 'reconcile-requested', source: 'cli:plan' },
    outcome: 'planned',
    message: 'would make 1 change(s)',
    observed: { sensorVersion: '1.34.1-0' },
    planned: upgrade().actions,
    changed: { writes: 0, reads: 3 },
    dryRun: true,
  });

  it('the plan view carries the verdict and the text ends with the warning', () => {
    const records = [record('aws-eks:111122223333:eu-west-1:a'), record('aws-eks:111122223333:eu-west-1:b')];
    const verdict = blastRadius(fleet(2, 2), { percent: 25, minClusters: 1 });
    const view = planView(records, '1.35.0-0', [], { reads: 6, writes: 0 }, verdict);
    expect(view.blastRadius).toEqual(verdict);
    expect(renderPlan(view, palette(false)).split('\n').slice(-3)).toEqual([
      'warning: reconcile would stop at the blast-radius guard and change nothing: it would change the running sensor on 2 of 2 clusters (100%), above the 25% limit and the floor of 1 cluster; reconcile --force overrides it',
      '',
      '2 clusters to change: 2 objects to update; 0 in sync',
    ]);
    const fine = planView(records.slice(0, 1), '1.35.0-0', [], { reads: 3, writes: 0 }, blastRadius(fleet(1, 1), { percent: 25, minClusters: 1 }));
    expect(renderPlan(fine, palette(false))).not.toContain('blast-radius');
  });
});
