import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { SensorfleetConfig } from '../../shared/config/schema';
import { parseClusterRef, type ClusterRef } from '../../shared/domain/cluster-ref';
import { buildEngine } from '../../shared/engine/build';
import { runFleet } from '../../shared/engine/run-fleet';
import { qualysCheckInGate } from '../../shared/qualys/wave-gate';
import type { Sandbox } from '../sandbox/index';
import type { QualysSandbox } from '../sandbox/qualys/fixture';
import { startTestWorld, type TestWorld } from '../support/world';

/**
 * Fleet runs through the real adapters against the sandbox: version upgrades in waves of growing
 * size, the Qualys check-in as the gate between waves, the blast-radius guard, maintenance windows.
 */
const V1 = '1.34.1-0';
const V2 = '1.35.0-0';
const id = randomBytes(3).toString('hex');
let sandbox: Sandbox;
let qualys: QualysSandbox;
let world: TestWorld;

beforeAll(async () => {
  world = await startTestWorld(inject('motoUrl'));
  ({ sandbox, qualys } = world);
}, 120_000);

afterAll(async () => {
  await world?.stop();
});

function config(version: string, rollout: Record<string, unknown> = {}): SensorfleetConfig {
  return qualys.config(
    {},
    {
      sensor: { version },
      targets: { aws: [{ accountId: sandbox.aws.accountId, regions: [sandbox.aws.region] }] },
      rollout: { deadlineSeconds: 20, pollSeconds: 0.2, concurrency: 4, ...rollout },
    },
  );
}

async function enrolledFleet(prefix: string, n: number): Promise<ClusterRef[]> {
  const refs: ClusterRef[] = [];
  for (let i = 0; i < n; i++) {
    const name = `${prefix}-${id}-${i}`;
    const created = i % 2 === 0
      ? await sandbox.fleet.createEksCluster({ name, nodes: [{ name: `${name}-a` }, { name: `${name}-b` }] })
      : await sandbox.fleet.createEcsCluster({ name, instances: 2 });
    refs.push(parseClusterRef(created.ref));
  }
  const deps = await buildEngine(config(V1), refs, { store: false });
  const first = await runFleet(deps, { clusters: refs, trigger: { kind: 'reconcile-requested', source: 'test' } });
  expect(first.clusters.map((c) => c.outcome)).toEqual(refs.map(() => 'converged'));
  return refs;
}

describe('fleet runs', () => {
  it('upgrades the sensor in waves (one canary first), gated by Qualys check-in at the new version', async () => {
    const refs = await enrolledFleet('waves', 4);
    const cfg = config(V2, { blastRadiusPercent: 100, checkInGate: { enabled: true, deadlineSeconds: 30, pollSeconds: 0.3 } });
    const deps = await buildEngine(cfg, refs, { store: false });
    const report = await runFleet(deps, { clusters: refs, trigger: { kind: 'reconcile-requested', source: 'test' }, waveGate: qualysCheckInGate(cfg) });

    expect(report.halted).toBeUndefined();
    expect(report.waves).toBe(4); // 1 canary, then 10%, 25%, 50% of 4 clusters (at least one each)
    expect(report.gates).toHaveLength(3);
    expect(report.gates.every((g) => g.pass)).toBe(true);
    for (const c of report.clusters) {
      expect(c.outcome, c.cluster).toBe('converged');
      expect(c.verified?.sensorVersion).toBe(V2);
      expect(c.planned.some((a) => a.reason.includes(V2))).toBe(true);
    }
    // one finished wave at a time: the clusters finished in wave order, a gate between each
    const finished = report.clusters.map((c) => Date.parse(c.finishedAt));
    expect([...finished].sort((a, b) => a - b)).toEqual(finished);

    const again = await runFleet(deps, { clusters: refs, trigger: { kind: 'reconcile-requested', source: 'test' } });
    expect(again.writes).toBe(0);
    expect(again.clusters.every((c) => c.outcome === 'in-sync')).toBe(true);
  });

  it('holds the later waves when the canary\'s sensors never check in at the new version', async () => {
    const refs = await enrolledFleet('gate', 3);
    const reattach = world.detachSensors(); // from here on no sensor registers with Qualys: the new version never checks in
    try {
      const cfg = config(V2, { blastRadiusPercent: 100, checkInGate: { enabled: true, deadlineSeconds: 2, pollSeconds: 0.5 } });
      const deps = await buildEngine(cfg, refs, { store: false });
      const report = await runFleet(deps, { clusters: refs, trigger: { kind: 'reconcile-requested', source: 'test' }, waveGate: qualysCheckInGate(cfg) });
      expect(report.gates).toHaveLength(1);
      expect(report.gates[0]!.pass).toBe(false);
      expect(report.halted).toMatch(/health gate after wave 1/);
      expect(report.clusters.map((c) => c.outcome)).toEqual(['converged', 'held', 'held']);
      expect(report.clusters[1]!.message).toMatch(/held \(later waves held by the health gate/);
    } finally {
      reattach();
    }
  });

  it('stops at the blast-radius guard unless forced, and writes nothing', async () => {
    const refs = await enrolledFleet('blast', 2);
    const deps = await buildEngine(config(V2, { blastRadiusPercent: 25 }), refs, { store: false });
    const held = await runFleet(deps, { clusters: refs, trigger: { kind: 'reconcile-requested', source: 'test' } });
    expect(held.writes).toBe(0);
    expect(held.halted).toMatch(/blast-radius guard: would change the running sensor on 2 of 2 clusters \(100%\), above the 25% limit/);
    expect(held.clusters.every((c) => c.outcome === 'held')).toBe(true);

    const forced = await runFleet(deps, { clusters: refs, forceRun: true, trigger: { kind: 'reconcile-requested', source: 'test', reason: 'approved rollout' } });
    expect(forced.clusters.every((c) => c.outcome === 'converged')).toBe(true);
  });

  it('a fleet of one cluster is upgraded without --force: the guard has a floor (rollout.blastRadius.minClusters, default 1)', async () => {
    const refs = await enrolledFleet('single', 1);
    const deps = await buildEngine(config(V2), refs, { store: false }); // the default guard: 25 %, at least 1 cluster
    const report = await runFleet(deps, { clusters: refs, trigger: { kind: 'reconcile-requested', source: 'test' } });
    expect(report.halted).toBeUndefined();
    expect(report.blastRadius).toMatchObject({ clusters: 1, changing: 1, allowed: 1, held: false });
    expect(report.clusters[0]).toMatchObject({ outcome: 'converged', verified: { sensorVersion: V2 } });
  });

  it('a dry run (plan) reports that a run would be held; only clusters whose running sensor would change count', async () => {
    const refs = await enrolledFleet('verdict', 2); // one EKS, one ECS cluster
    const plan = await runFleet(await buildEngine(config(V2), refs, { store: false }), { clusters: refs, dryRun: true, trigger: { kind: 'reconcile-requested', source: 'test' } });
    expect(plan.halted).toBeUndefined();
    expect(plan.blastRadius).toMatchObject({ clusters: 2, changing: 2, allowed: 1, held: true });
    expect(plan.blastRadius.reason).toBe('would change the running sensor on 2 of 2 clusters (100%), above the 25% limit and the floor of 1 cluster');

    // an ECS deployment setting changes, the sensor's tasks keep running: nothing counts, even with no allowance at all
    const settings = config(V1, { blastRadius: { percent: 0, minClusters: 0 } });
    settings.sensor.ecs.minimumHealthyPercent = 60;
    const deps = await buildEngine(settings, refs, { store: false });
    const run = await runFleet(deps, { clusters: refs, trigger: { kind: 'reconcile-requested', source: 'test' } });
    expect(run.blastRadius).toMatchObject({ changing: 0, held: false });
    expect(run.halted).toBeUndefined();
    expect(run.clusters.map((c) => c.outcome).sort()).toEqual(['converged', 'in-sync']);
  });

  it('holds changes inside a maintenance window and says which', async () => {
    const refs = await enrolledFleet('window', 1);
    const deps = await buildEngine(
      config(V2, { blastRadiusPercent: 100, maintenanceWindows: [{ clusters: `*:window-${id}-*`, start: '00:00', end: '23:59', timeZone: 'UTC' }] }),
      refs,
      { store: false },
    );
    const report = await runFleet(deps, { clusters: refs, trigger: { kind: 'reconcile-requested', source: 'test' } });
    expect(report.writes).toBe(0);
    expect(report.clusters[0]!.outcome).toBe('held');
    expect(report.clusters[0]!.message).toContain('maintenance window 00:00-23:59 UTC');
  });
});
