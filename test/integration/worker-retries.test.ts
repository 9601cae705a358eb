import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { captureLogs, clusterEvent, startWorkerWorld, type WorkerWorld } from '../support/issue7-worker-harness';

/**
 * Issue 7, "Retries and the DLQ", through the real worker, the FIFO queue and DLQ from
 * serverless.yml (moto) and the sandbox fleet: the attempt counter is the work item's own, a future
 * event time cannot make readiness polls endless, a held follower does not block its cluster's
 * group for the queue's visibility timeout, and errors that retrying cannot fix go to the DLQ at once.
 */
let world: WorkerWorld;
const ROLLOUT = { deadlineSeconds: 20, pollSeconds: 0.2, readinessPollSeconds: 1, readinessDeadlineSeconds: 120, maxAttempts: 3, retryBackoffSeconds: 1 };
const config = (extra: Record<string, unknown> = {}) => ({
  sensor: { version: '1.34.1-0' },
  targets: { aws: [{ accountId: world.where.account, regions: [world.where.region] }] },
  rollout: ROLLOUT,
  ...extra,
});
let n = 0;
const name = (what: string) => `i7r-${what}-${++n}-${Date.now().toString(36)}`;

beforeAll(async () => {
  world = await startWorkerWorld(inject('motoUrl'), 'ap-northeast-1');
}, 120_000);

afterAll(async () => {
  await world?.stop();
});

describe('the attempt counter is the work item’s own', () => {
  it('not-ready polls (more of them than maxAttempts) and then failures: three failed attempts before the DLQ, "failed after 3 attempts"', async () => {
    const s = await world.stack();
    // CREATING long enough for more polls than maxAttempts (3), even when a loaded machine makes each poll slow:
    // had polls counted as attempts, the item would be dead-lettered before its first real failure
    const eks = await world.sandbox.fleet.createEksCluster({ name: name('poll'), nodes: [{ name: 'p1' }], creatingForMs: 15_000 });
    world.sandbox.kubeClusterFor(eks.ref)!.faults.dropConnections = 100_000;
    await s.send([clusterEvent('cluster-created', eks.ref)]);
    await s.mapping(await s.worker(config())).drain(120_000);

    const records = await s.records(eks.ref);
    const notReady = records.filter((r) => r.outcome === 'not-ready').length;
    const failed = records.filter((r) => r.outcome === 'failed').length;
    console.log(`attempts: ${notReady} not-ready polls, ${failed} failed attempts`);
    expect(notReady).toBeGreaterThanOrEqual(4);
    expect(failed).toBe(3);
    const dead = await s.deadLetters();
    expect(dead).toHaveLength(1);
    expect(dead[0]!.reason).toMatch(/^failed after 3 attempts: /);
    expect(dead[0]!.attempts).toBe('3');
  }, 150_000);
});

describe('readiness deadlines', () => {
  it('an event time in the future does not make polls endless: the deadline counts from the first sighting', async () => {
    const s = await world.stack();
    const eks = await world.sandbox.fleet.createEksCluster({ name: name('future'), nodes: [{ name: 'f1' }], creatingForMs: 600_000 });
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString();
    await s.send([clusterEvent('cluster-created', eks.ref, { time: tomorrow })]);
    const started = Date.now();
    await s.mapping(await s.worker(config({ rollout: { ...ROLLOUT, readinessDeadlineSeconds: 4 } }))).drain(30_000);
    console.log(`future event time: dead-lettered after ${Date.now() - started} ms`);
    const dead = await s.deadLetters();
    expect(dead).toHaveLength(1);
    expect(dead[0]!.reason).toMatch(/^cluster not ready after \d+s \(deadline 4s\): cluster .* is CREATING/);
    const records = await s.records(eks.ref);
    expect(records.every((r) => r.outcome === 'not-ready')).toBe(true);
    expect(records.length).toBeGreaterThanOrEqual(3);
    expect(records.length).toBeLessThanOrEqual(8);
  });

  it('a follower held behind a not-ready item in its cluster’s FIFO group waits the same short delay, not the queue’s 1,800 s', async () => {
    const s = await world.stack();
    const eks = await world.sandbox.fleet.createEksCluster({ name: name('follow'), nodes: [{ name: 'g1' }], creatingForMs: 3_000 });
    const created = clusterEvent('cluster-created', eks.ref);
    const scaled = clusterEvent('nodes-changed', eks.ref);
    await s.send([created, scaled]);
    const started = Date.now();
    await s.mapping(await s.worker(config())).drain(40_000);
    const took = Date.now() - started;
    console.log(`leader not ready for 3 s, follower in the same group: both done after ${took} ms`);
    const records = await s.records(eks.ref);
    const byEvent = new Set(records.map((r) => r.trigger.eventId));
    expect(byEvent.has(created.id)).toBe(true);
    expect(byEvent.has(scaled.id)).toBe(true);
    expect(records[0]!.outcome).toMatch(/^(converged|in-sync)$/);
    expect(records.some((r) => r.outcome === 'converged')).toBe(true);
    expect(await s.deadLetters()).toEqual([]);
  });
});

describe('errors that retrying cannot fix go to the DLQ at once, with the reason', () => {
  it('an EKS cluster that is FAILED', async () => {
    const s = await world.stack();
    const eks = await world.sandbox.fleet.createEksCluster({ name: name('failed'), nodes: [{ name: 'x1' }] });
    const clusterName = eks.ref.split(':')[3]!;
    world.sandbox.front.setEksStatus(world.where.account, world.where.region, clusterName, 'FAILED');
    await s.send([clusterEvent('cluster-created', eks.ref)]);
    await s.mapping(await s.worker(config())).drain(30_000);
    const records = await s.records(eks.ref);
    expect(records.map((r) => r.outcome)).toEqual(['failed']);
    const dead = await s.deadLetters();
    expect(dead).toHaveLength(1);
    expect(dead[0]!.reason).toMatch(/^not retried \(retrying cannot fix it\): cluster .* is FAILED/);
  });

  it('an account that is not a target; the reconciled log line carries the reason', async () => {
    const s = await world.stack();
    const ref = `aws-ecs:210987654321:${world.where.region}:${name('foreign')}`;
    await s.send([clusterEvent('nodes-changed', ref)]);
    const handler = await s.worker(config());
    const logs = captureLogs();
    try {
      await s.mapping(handler).drain(30_000);
    } finally {
      logs.restore();
    }
    expect((await s.records(ref)).map((r) => r.outcome)).toEqual(['failed']);
    const dead = await s.deadLetters();
    expect(dead.map((d) => d.reason)).toEqual([expect.stringMatching(/^not retried \(retrying cannot fix it\): AWS account 210987654321 is not a configured target/)]);
    const reconciled = logs.lines.filter((l) => l.message === 'reconciled' && l.cluster === ref);
    expect(reconciled).toHaveLength(1);
    expect(reconciled[0]!.outcome).toBe('failed');
    expect(reconciled[0]!.reason).toMatch(/AWS account 210987654321 is not a configured target/);
    expect(logs.lines.some((l) => /reserved key/.test(String(l.message)))).toBe(false);
  });

  it('a platform that is not enabled in this deployment', async () => {
    const s = await world.stack();
    const ref = `azure-aks:8f3a9c2e-1b4d-4e5f-a6b7-c8d9e0f1a2b3:rg-${n}:${name('aks')}`;
    await s.send([clusterEvent('cluster-created', ref)]);
    await s.mapping(await s.worker(config())).drain(30_000);
    expect((await s.records(ref)).map((r) => r.outcome)).toEqual(['failed']);
    const dead = await s.deadLetters();
    expect(dead.map((d) => d.reason)).toEqual([expect.stringMatching(/^not retried \(retrying cannot fix it\): platform azure-aks is not enabled/)]);
  });
});
