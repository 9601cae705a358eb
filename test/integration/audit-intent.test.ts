import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseConfig } from '../../shared/config/load';
import { parseClusterRef } from '../../shared/domain/cluster-ref';
import { buildEngine } from '../../shared/engine/build';
import { reconcileCluster } from '../../shared/engine/reconcile';
import { startWorkerWorld, type WorkerWorld } from '../support/issue7-worker-harness';

/**
 * Issue 7, Audit: the intent (what is about to change and why) is on record before the first write,
 * the outcome replaces it after; when the intent cannot be written, nothing is changed and the record
 * says why. Real DynamoDB (moto) behind the AWS front's fault switch, a real Kubernetes API server.
 */
let world: WorkerWorld;

beforeAll(async () => {
  world = await startWorkerWorld(inject('motoUrl'), 'eu-south-1');
}, 120_000);

afterAll(async () => {
  await world?.stop();
});

const config = () => parseConfig({ sensor: { version: '1.34.1-0' }, targets: { aws: [{ accountId: world.where.account, regions: [world.where.region] }] }, rollout: { deadlineSeconds: 20, pollSeconds: 0.2 } });

describe('intent before the first write', () => {
  it('the intent cannot be written: nothing is changed, and the record says why', async () => {
    const s = await world.stack();
    const eks = await world.sandbox.fleet.createEksCluster({ name: `au-${Date.now().toString(36)}`, nodes: [{ name: 'a1' }] });
    const kube = world.sandbox.kubeClusterFor(eks.ref)!;
    const deps = await buildEngine(config(), [parseClusterRef(eks.ref)], { store: s.store });
    world.sandbox.front.faults = { failNext: { service: 'dynamodb', operation: 'PutItem', count: 50 } };
    let record;
    try {
      record = await reconcileCluster(parseClusterRef(eks.ref), deps, { trigger: { kind: 'cluster-created', eventId: 'au-1' }, verifyOnce: true });
    } finally {
      world.sandbox.front.faults = {};
    }
    expect(record.outcome).toBe('failed');
    expect(record.message).toMatch(/^nothing was changed on aws-eks:.*: the intent to make \d+ change\(s\) could not be recorded in the fleet table first \(.*Service Unavailable/);
    expect(record.changed.writes).toBe(0);
    expect(kube.requests.filter((r) => r.method !== 'GET')).toEqual([]);
    // the outcome itself (a transaction, not faulted here) is on record
    const [stored] = await s.records(eks.ref);
    expect(stored).toMatchObject({ outcome: 'failed', id: record.id });
  });

  it('the outcome cannot be written after the apply: the intent stays on record with what was planned', async () => {
    const s = await world.stack();
    const eks = await world.sandbox.fleet.createEksCluster({ name: `au2-${Date.now().toString(36)}`, nodes: [{ name: 'b1' }] });
    const kube = world.sandbox.kubeClusterFor(eks.ref)!;
    const deps = await buildEngine(config(), [parseClusterRef(eks.ref)], { store: s.store });
    world.sandbox.front.faults = { failNext: { service: 'dynamodb', operation: 'TransactWriteItems', count: 50 } };
    let error: Error | undefined;
    try {
      await reconcileCluster(parseClusterRef(eks.ref), deps, { trigger: { kind: 'cluster-created', eventId: 'au-2' }, verifyOnce: true });
    } catch (err) {
      error = err as Error;
    } finally {
      world.sandbox.front.faults = {};
    }
    expect(error?.name).toBe('RecordNotWrittenError');
    const writes = kube.requests.filter((r) => r.method !== 'GET' && r.status < 300);
    expect(writes.length).toBeGreaterThan(0);
    const [intent] = await s.records(eks.ref);
    expect(intent).toMatchObject({ outcome: 'applying', trigger: { eventId: 'au-2' } });
    expect(intent!.message).toMatch(/^intent: about to make \d+ change\(s\): /);
    expect(intent!.planned.length).toBeGreaterThan(0);
  });
});
