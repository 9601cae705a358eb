import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { captureLogs, clusterEvent, startWorkerWorld, type WorkerWorld } from '../support/issue7-worker-harness';

/**
 * Issue 7: every error of a work item goes through the one retry/DLQ decision — also those outside
 * the reconcile's own handling (building the engine and reading the secret, the maintenance-window
 * check, writing the record after the apply, the visibility change, the DLQ send, the configuration
 * itself). Nothing waits the queue's 1,800 s visibility silently: the drains below allow seconds.
 */
let world: WorkerWorld;
const ROLLOUT = { deadlineSeconds: 20, pollSeconds: 0.2, readinessPollSeconds: 1, readinessDeadlineSeconds: 120, maxAttempts: 3, retryBackoffSeconds: 1 };
const config = (extra: Record<string, any> = {}) => ({
  sensor: { version: '1.34.1-0' },
  targets: { aws: [{ accountId: world.where.account, regions: [world.where.region] }] },
  ...extra,
  rollout: { ...ROLLOUT, ...(extra.rollout ?? {}) },
});
let n = 0;
const name = (what: string) => `i7e-${what}-${++n}-${Date.now().toString(36)}`;

beforeAll(async () => {
  world = await startWorkerWorld(inject('motoUrl'), 'ap-northeast-2');
}, 120_000);

afterAll(async () => {
  if (world) world.sandbox.front.faults = {};
  await world?.stop();
});

describe('errors outside the reconcile go through the retry/DLQ decision', () => {
  it('building the engine fails (the activation secret cannot be read): retried with our attempts, then the DLQ with the reason', async () => {
    const s = await world.stack();
    const eks = await world.sandbox.fleet.createEksCluster({ name: name('nosecret'), nodes: [{ name: 'a1' }] });
    await s.send([clusterEvent('cluster-created', eks.ref)]);
    const handler = await s.worker(config({ credentials: { secretsManagerSecretId: `sensorfleet/missing-${n}` } }));
    const logs = captureLogs();
    try {
      await s.mapping(handler).drain(30_000);
    } finally {
      logs.restore();
    }
    const dead = await s.deadLetters();
    expect(dead).toHaveLength(1);
    expect(dead[0]!.reason).toMatch(/^failed after 3 attempts: .*secret/i);
    const failures = logs.lines.filter((l) => l.message === 'work item attempt failed' && l.cluster === eks.ref);
    expect(failures).toHaveLength(3);
    expect(failures.every((l) => /secret/i.test(l.reason))).toBe(true);
  });

  it('an invalid maintenance-window time zone is a configuration error: the item goes to the DLQ at once, saying which setting', async () => {
    const s = await world.stack();
    const ecs = await world.sandbox.fleet.createEcsCluster({ name: name('tz'), instances: 1 });
    await s.send([clusterEvent('cluster-created', ecs.ref)]);
    const handler = await s.worker(config({ rollout: { maintenanceWindows: [{ start: '22:00', end: '02:00', timeZone: 'Mars/Olympus_Mons' }] } }));
    await s.mapping(handler).drain(20_000);
    const dead = await s.deadLetters();
    expect(dead).toHaveLength(1);
    expect(dead[0]!.reason).toMatch(/^not retried \(retrying cannot fix it\): invalid configuration:.*rollout\.maintenanceWindows\.0\.timeZone/s);
    expect(await s.records(ecs.ref)).toEqual([]);
  });

  it('a configuration the worker cannot load sends every item to the DLQ with the reason instead of failing each invocation', async () => {
    const s = await world.stack();
    const ecs = await world.sandbox.fleet.createEcsCluster({ name: name('badcfg'), instances: 1 });
    await s.send([clusterEvent('cluster-created', ecs.ref), clusterEvent('nodes-changed', ecs.ref)]);
    const handler = await s.worker(config({ rollout: { maxAttemps: 3 } }));
    await s.mapping(handler).drain(20_000);
    const dead = await s.deadLetters();
    expect(dead).toHaveLength(2);
    for (const d of dead) expect(d.reason).toMatch(/invalid configuration:.*rollout: Unrecognized key: "maxAttemps"/s);
  });

  it('writing the record after the apply fails: the attempt is logged with its writes and retried; the retry is recorded', async () => {
    const s = await world.stack();
    const ecs = await world.sandbox.fleet.createEcsCluster({ name: name('norecord'), instances: 2 });
    await s.send([clusterEvent('cluster-created', ecs.ref)]);
    const handler = await s.worker(config());
    world.sandbox.front.faults = { failNext: { service: 'dynamodb', operation: 'TransactWriteItems', count: 4 } };
    const logs = captureLogs();
    try {
      await s.mapping(handler).drain(40_000);
    } finally {
      logs.restore();
      world.sandbox.front.faults = {};
    }
    const unrecorded = logs.lines.filter((l) => l.message === 'reconcile not recorded' && l.cluster === ecs.ref);
    expect(unrecorded).toHaveLength(1);
    expect(unrecorded[0]).toMatchObject({ outcome: 'converged' });
    expect(unrecorded[0]!.writes).toBeGreaterThanOrEqual(2);
    expect(unrecorded[0]!.reason).toMatch(/could not be recorded/);
    const records = await s.records(ecs.ref);
    // the attempt whose outcome could not be written left its intent, recorded before its first write
    expect(records.map((r) => r.outcome)).toEqual(['in-sync', 'applying']);
    expect(records[1]!.planned.length).toBeGreaterThan(0);
    expect(await s.deadLetters()).toEqual([]);
  });

  it('the visibility change for a not-ready poll fails: the item is requeued another way and converges in seconds', async () => {
    const s = await world.stack();
    const eks = await world.sandbox.fleet.createEksCluster({ name: name('novis'), nodes: [{ name: 'v1' }], creatingForMs: 2_500 });
    await s.send([clusterEvent('cluster-created', eks.ref)]);
    const handler = await s.worker(config());
    world.sandbox.front.faults = { failNext: { service: 'sqs', operation: 'ChangeMessageVisibility', count: 4 } };
    const logs = captureLogs();
    const started = Date.now();
    try {
      await s.mapping(handler).drain(30_000);
    } finally {
      logs.restore();
      world.sandbox.front.faults = {};
    }
    console.log(`visibility change failed once: converged after ${Date.now() - started} ms`);
    const records = await s.records(eks.ref);
    expect(records[0]!.outcome).toBe('converged');
    expect(records.some((r) => r.outcome === 'not-ready')).toBe(true);
    expect(logs.lines.some((l) => l.message === 'work item requeued as a new message' && /ChangeMessageVisibility|Service Unavailable/i.test(l.reason))).toBe(true);
    expect(await s.deadLetters()).toEqual([]);
  });

  it('the DLQ send fails: the item is kept, the next delivery dead-letters it with the reason and does not reconcile again', async () => {
    const s = await world.stack();
    const ref = `aws-ecs:210987654321:${world.where.region}:${name('nodlq')}`;
    await s.send([clusterEvent('cluster-created', ref)]);
    const handler = await s.worker(config());
    world.sandbox.front.faults = { failNext: { service: 'sqs', operation: 'SendMessage', count: 4 } };
    const logs = captureLogs();
    try {
      await s.mapping(handler).drain(30_000);
    } finally {
      logs.restore();
      world.sandbox.front.faults = {};
    }
    expect(logs.lines.some((l) => l.message === 'work item could not be dead-lettered; kept for another try' && l.cluster === ref)).toBe(true);
    const dead = await s.deadLetters();
    expect(dead.map((d) => d.reason)).toEqual([expect.stringMatching(/^not retried \(retrying cannot fix it\): AWS account 210987654321 is not a configured target/)]);
    expect((await s.records(ref)).map((r) => r.outcome)).toEqual(['failed']);
  });
});
