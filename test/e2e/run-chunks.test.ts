import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DescribeExecutionCommand, GetExecutionHistoryCommand, SFNClient, type HistoryEvent } from '@aws-sdk/client-sfn';
import { parentHistoryEvents } from '../../shared/rollout/run-limits';
import { startRolloutWorld, type RolloutWorld } from '../support/rollout-world';

/**
 * Issue 7, runs that hold at 10,000 clusters, exercised for real: rings whose members span several
 * chunk items (rollout.rings.chunkSize 4 over 30 clusters), handed out by the workflow's Distributed
 * Map (one child per chunk, run by moto's executor) that reads each chunk with dynamodb:getItem; the
 * execution input carries no cluster. Every cluster is handed out once and answers once; each ring's
 * chunks pass their gates and the ring passes before the next one starts.
 */
const N = 30;
const V1 = '1.34.1-0';
const V2 = '1.35.0-0';
let w: RolloutWorld;
const refs: string[] = [];

beforeAll(async () => {
  w = await startRolloutWorld(inject('motoUrl'), 'eu-west-2', { pollers: 3 });
  for (let i = 0; i < N; i++) refs.push((await w.sandbox.fleet.createEcsCluster({ name: `chunk-${String(i).padStart(2, '0')}`, instances: 1 })).ref);
}, 300_000);

afterAll(async () => {
  if (w) console.log(`longest invocation: ${w.longest().fn} ${Math.round(w.longest().ms)} ms over ${w.invocations.length} invocations`);
  await w?.stop();
});

describe('a run whose rings span several chunks', () => {
  it('every cluster is handed out once and answers; the input names no cluster; rings pass chunk by chunk', async () => {
    await w.configure({
      sensor: { version: V1 },
      targets: { aws: [{ accountId: w.where.account, regions: [w.where.region] }] },
      rollout: {
        deadlineSeconds: 60,
        pollSeconds: 1,
        readinessPollSeconds: 1,
        maxAttempts: 3,
        retryBackoffSeconds: 1,
        checkInGate: { enabled: false, deadlineSeconds: 60, pollSeconds: 1 },
        rings: { shares: [50, 100], chunkSize: 4 },
      },
    });
    const started = await w.nightly();
    expect(started).toMatchObject({ started: true, clusters: N });
    expect(started.rings).toEqual([
      { ring: 0, name: 'canary', clusters: 1, gate: true, chunks: 1 },
      { ring: 1, name: '50%', clusters: 15, gate: true, chunks: 4 },
      { ring: 2, name: '100%', clusters: 14, gate: true, chunks: 4 },
    ]);
    const run = await w.waitForRun(started.runId, ['succeeded', 'halted', 'failed'], 400_000);
    expect(run.status, JSON.stringify(run.history)).toBe('succeeded');

    // the members, from the chunk items: every cluster in exactly one ring
    const members = await Promise.all(run.rings.map((r) => w.rollouts.listRingClusters(run.runId, r.ring)));
    expect(members.flat().sort()).toEqual([...refs].sort());

    // every cluster answered once, ok, in its own ring
    const results = await w.rollouts.listResults(run.runId);
    expect(results).toHaveLength(N);
    for (const [ring, clusters] of members.entries()) {
      for (const c of clusters) expect(results.filter((r) => r.cluster === c).map((r) => [r.ring, r.ok])).toEqual([[ring, true]]);
    }
    // ...and was handed out once: one work item of this run per cluster (a requeued rollout keeps its item's id)
    for (const c of refs) {
      const items = new Set((await w.store.listReconciles(c, 50)).map((r) => r.trigger.eventId).filter((id) => id?.startsWith(`rollout-${run.runId}-`)));
      expect(items.size, c).toBe(1);
      expect(await w.store.getCluster(c), c).toMatchObject({ sensorVersion: V1 });
    }

    // each ring passed its gate once all its chunks had, in order
    const passed = run.rings.map((r) => run.history.find((h) => h.event.startsWith(`ring ${r.ring} (${r.name}) passed its gate`)));
    expect(passed.every(Boolean), JSON.stringify(run.history)).toBe(true);
    expect(passed[1]!.event).toMatch(/^ring 1 \(50%\) passed its gate \(4 chunks\): 15 cluster\(s\), 15 node\(s\)/);
    expect(passed[2]!.event).toMatch(/^ring 2 \(100%\) passed its gate \(4 chunks\): 14 cluster\(s\)/);
    const releasedAt = (ring: number) => results.filter((r) => r.ring === ring).map((r) => r.at).sort();
    expect(releasedAt(2)[0]! >= passed[1]!.at).toBe(true);
    for (const r of run.rings) expect((await w.rollouts.listChunkGates(run.runId, r.ring)).map((g) => g.verdict)).toEqual(Array(r.chunks).fill('pass'));

    // the execution's input: run id, queue, table, rings as counts and chunk numbers, no cluster
    const sfn = new SFNClient({ region: w.where.region });
    const execution = await sfn.send(new DescribeExecutionCommand({ executionArn: run.executionArn! }));
    expect(execution.status).toBe('SUCCEEDED');
    const input = execution.input!;
    for (const c of refs) expect(input).not.toContain(c);
    expect(JSON.parse(input)).toMatchObject({ runId: run.runId, ringCount: 3, rings: [{ chunks: [0] }, { chunks: [0, 1, 2, 3] }, { chunks: [0, 1, 2, 3] }] });
    const events: HistoryEvent[] = [];
    let nextToken: string | undefined;
    do {
      const page = await sfn.send(new GetExecutionHistoryCommand({ executionArn: run.executionArn!, ...(nextToken ? { nextToken } : {}), maxResults: 1000 }));
      events.push(...(page.events ?? []));
      nextToken = page.nextToken;
    } while (nextToken);
    const count = (type: string) => events.filter((e) => e.type === type).length;
    // the children's events stay out of the parent's history (moto's executor does as AWS does): the parent's is the per-ring count run-limits.ts gives
    console.log(`execution input ${Buffer.byteLength(input)} B; parent history ${events.length} events (bound ${parentHistoryEvents(3, 0)}), MapRunStarted ${count('MapRunStarted')}, TaskSubmitted ${count('TaskSubmitted')}`);
    expect(count('MapRunStarted')).toBe(3);
    expect(count('MapIterationStarted')).toBe(0);
    expect(events.length).toBeLessThanOrEqual(parentHistoryEvents(3, 0));
    sfn.destroy();
  }, 600_000);

  it('a ring cluster held by a maintenance window that outlasts the wait halts its ring with the window; later rings keep their version', async () => {
    const hhmm = (d: Date) => d.toISOString().slice(11, 16);
    const now = Date.now();
    const held = refs.find((r) => r.endsWith(':chunk-00'))!;
    await w.configure({
      sensor: { version: V2 },
      targets: { aws: [{ accountId: w.where.account, regions: [w.where.region] }] },
      rollout: {
        deadlineSeconds: 60,
        pollSeconds: 1,
        readinessPollSeconds: 1,
        readinessDeadlineSeconds: 60,
        maxAttempts: 3,
        retryBackoffSeconds: 1,
        checkInGate: { enabled: false, deadlineSeconds: 60, pollSeconds: 1 },
        rings: { canary: ['*:chunk-00'], shares: [50, 100], chunkSize: 4 },
        blastRadius: { percent: 100, minClusters: 1 },
        maintenanceWindows: [{ clusters: '*:chunk-00', start: hhmm(new Date(now - 120_000)), end: hhmm(new Date(now + 3 * 3600_000)), timeZone: 'UTC' }],
      },
    });
    const started = await w.nightly();
    expect(started.rings[0]).toEqual({ ring: 0, name: 'canary', clusters: 1, gate: true, chunks: 1 });
    const run = await w.waitForRun(started.runId, ['halted', 'succeeded', 'failed'], 300_000);
    expect(run.status, JSON.stringify(run.history)).toBe('halted');
    expect(run.halt!.ring).toBe(0);
    expect(run.halt!.reason).toMatch(new RegExp(`^ring 0 \\(canary\\): ${held.replace(/[.:]/g, '\\$&')} held: held by maintenance window \\d\\d:\\d\\d-\\d\\d:\\d\\d UTC until \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:00\\.000Z: later than the ring waits`));
    expect(await w.rollouts.listResults(run.runId, 0)).toMatchObject([{ cluster: held, ok: false, outcome: 'held' }]);
    // the held cluster was not touched in its window; nothing was released past its ring
    expect(await w.store.getCluster(held)).toMatchObject({ sensorVersion: V1 });
    for (const c of refs.filter((r) => r !== held)) expect((await w.rollouts.getRelease(c))?.version, c).toBe(V1);
    const { answerHalt } = await import('../../shared/rollout/control');
    expect((await answerHalt(w.rollouts, run.runId, 'abort', 'test')).status).toBe('aborted');
  }, 400_000);
});
