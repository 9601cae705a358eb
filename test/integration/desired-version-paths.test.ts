import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { clusterEvent, startWorkerWorld, type WorkerWorld } from '../support/issue7-worker-harness';

/**
 * Issue 7, Orchestration: "the event path skips the blast-radius guard, the waves and the check-in
 * gate: after a version bump ... node events upgraded all 4". A version bump in the configuration is
 * the rollout's target, not an order: a node event keeps its cluster at the version it runs until a
 * rollout run releases its ring (test/e2e/rollout-rings.test.ts covers the rings themselves).
 */
let world: WorkerWorld;
beforeAll(async () => {
  world = await startWorkerWorld(inject('motoUrl'), 'us-west-1');
}, 120_000);
afterAll(async () => {
  await world?.stop();
});

it('a node event after a version bump keeps an unreleased cluster at its version, and the record says why', async () => {
  const s = await world.stack();
  const eks = await world.sandbox.fleet.createEksCluster({ name: `jump-${Date.now().toString(36)}`, nodes: [{ name: 'j1' }] });
  const cfg = (version: string) => ({ sensor: { version }, targets: { aws: [{ accountId: world.where.account, regions: [world.where.region] }] }, rollout: { deadlineSeconds: 20, pollSeconds: 0.2 } });
  await s.send([clusterEvent('cluster-created', eks.ref)]);
  await s.mapping(await s.worker(cfg('1.34.1-0'))).drain(60_000);
  const nodes = clusterEvent('nodes-changed', eks.ref);
  await s.send([nodes]);
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  await s.mapping(await s.worker(cfg('1.35.0-0'))).drain(60_000);
  const image = world.sandbox.kubeClusterFor(eks.ref)!.get('apps/v1', 'DaemonSet', 'qualys-sensor', 'qualys-container-sensor').spec.template.spec.containers[0].image;
  expect(image).toBe('qualys/qcs-sensor:1.34.1-0');
  const record = (await s.records(eks.ref)).find((r) => r.trigger.eventId === nodes.id)!;
  expect(record.version).toMatchObject({ desired: '1.34.1-0', target: '1.35.0-0', source: 'running' });
  expect(record.version!.reason).toMatch(/no rollout has released 1\.35\.0-0 to this cluster yet/);
  expect(record.changed.writes).toBe(0);
  expect(await s.store.getCluster(eks.ref)).toMatchObject({ sensorVersion: '1.34.1-0', desiredVersion: '1.34.1-0', targetVersion: '1.35.0-0' });
}, 120_000);
