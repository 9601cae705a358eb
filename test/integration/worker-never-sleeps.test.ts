import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { SQSBatchResponse, SQSEvent, Context } from 'aws-lambda';
import { clusterEvent, startWorkerWorld, type WorkerWorld } from '../support/issue7-worker-harness';

/**
 * Issue 7, Orchestration: "reconcile-worker (300 s) handles up to 10 FIFO items one after another and
 * each verify may sleep up to 600 s; on a timeout the batch comes back 1,800 s later with nothing
 * recorded". Ten clusters whose new sensor never becomes ready, in one batch: each invocation looks at
 * each rollout once, records "rolling out: x/y nodes updated" and returns the item to the queue; after
 * the rollout deadline the cluster is recorded as stuck. No invocation waits for a rollout.
 */
let world: WorkerWorld;
const CLUSTERS = 10;
const DEADLINE_S = 15;

beforeAll(async () => {
  world = await startWorkerWorld(inject('motoUrl'), 'sa-east-1');
}, 120_000);

afterAll(async () => {
  await world?.stop();
});

describe('the worker never sleeps on a rollout', () => {
  it('a batch of 10 slow rollouts: every invocation short, each look recorded, stuck after the deadline', async () => {
    const s = await world.stack();
    const stamp = Date.now().toString(36);
    const refs: string[] = [];
    for (let i = 0; i < CLUSTERS; i++) {
      const eks = await world.sandbox.fleet.createEksCluster({ name: `ns-${stamp}-${i}`, nodes: [{ name: `n${i}a` }, { name: `n${i}b` }] });
      // the sensor image crash-loops here: its rollout never completes
      world.sandbox.kubeClusterFor(eks.ref)!.options.crashingImages = new Set(['qualys/qcs-sensor:1.34.1-0']);
      refs.push(eks.ref);
    }
    await s.send(refs.map((ref) => clusterEvent('cluster-created', ref)));
    process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
    const handler = await s.worker({
      sensor: { version: '1.34.1-0' },
      targets: { aws: [{ accountId: world.where.account, regions: [world.where.region] }] },
      rollout: { deadlineSeconds: DEADLINE_S, pollSeconds: 1, readinessPollSeconds: 1, maxAttempts: 3, retryBackoffSeconds: 1, rings: { maxRestarts: 1000 } },
    });
    const durations: { ms: number; records: number }[] = [];
    const timed = async (e: SQSEvent, c: Context): Promise<SQSBatchResponse> => {
      const t0 = performance.now();
      try {
        return (await handler(e, c)) as SQSBatchResponse;
      } finally {
        durations.push({ ms: performance.now() - t0, records: e.Records.length });
      }
    };
    const started = Date.now();
    await s.mapping(timed).drain(90_000);
    const longest = durations.reduce((a, b) => (b.ms > a.ms ? b : a));
    console.log(`${CLUSTERS} slow rollouts: ${durations.length} invocations, longest ${Math.round(longest.ms)} ms (${longest.records} records), all stuck after ${Date.now() - started} ms (rollout deadline ${DEADLINE_S} s)`);
    expect(durations.some((d) => d.records === CLUSTERS)).toBe(true);
    expect(longest.ms).toBeLessThan(DEADLINE_S * 1000);
    for (const ref of refs) {
      const records = await s.records(ref);
      const looks = records.filter((r) => r.outcome === 'progressing');
      expect(looks.length, ref).toBeGreaterThanOrEqual(2);
      expect(looks.at(-1)!.message).toMatch(/^rolling out: 0\/2 nodes updated/);
      expect(records[0]).toMatchObject({ outcome: 'stuck' });
      expect(records[0]!.message).toMatch(new RegExp(`not finished within ${DEADLINE_S} s; 0/2 nodes updated; n\\d+[ab]: crash looping`));
      // the writes were made once (the first look), every later look only read
      expect(records.filter((r) => r.changed.writes > 0)).toHaveLength(1);
      const item = await s.store.getCluster(ref);
      expect(item).toMatchObject({ outcome: 'stuck' });
    }
    expect(await s.deadLetters()).toEqual([]);
  }, 120_000);
});
