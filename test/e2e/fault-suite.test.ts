import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DescribeTaskDefinitionCommand, ECSClient, ListTaskDefinitionsCommand } from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseConfig } from '../../shared/config/load';
import { buildSensorObjects } from '../../shared/platforms/kubernetes/manifests';
import { answerHalt } from '../../shared/rollout/control';
import type { RunRecord } from '../../shared/state/rollout-records';
import { ecsCreateCluster, eksCreateCluster } from '../sandbox/event-factory';
import { RandomFaults } from '../sandbox/random-faults';
import { startRolloutWorld, type RolloutWorld } from '../support/rollout-world';

/**
 * Issue 7, the fault suite that stays in the tests: enrollment end to end (cluster-created events ->
 * on-aws-event -> FIFO queue -> worker) and then a nightly rollout run (Step Functions rings, gates),
 * with 10 % and then 30 % of AWS, Kubernetes and Qualys requests failing at random: throttled, 5xx,
 * dropped connections, and writes that were made and then answered with an error. Lambda's own retries
 * are played as Lambda plays them (an asynchronous invocation is retried twice, then goes to the
 * on-failure destination); an operator resumes a run that halted. Asserted: every cluster converges or
 * reaches the DLQ with its reason, no duplicate object or task definition revision, no event lost,
 * every write the fakes committed is in a record.
 */
const V1 = '1.34.1-0';
const V2 = '1.35.0-0';
const V3 = '1.36.0-0';
let w: RolloutWorld;
const figures: string[] = [];

beforeAll(async () => {
  w = await startRolloutWorld(inject('motoUrl'), 'me-central-1', { pollers: 3, checkInIntervalMs: 250 });
}, 180_000);

afterAll(async () => {
  if (w) figures.push(`longest invocation: ${w.longest().fn} ${Math.round(w.longest().ms)} ms over ${w.invocations.length} invocations`);
  console.log(`\nfault suite figures\n${figures.join('\n')}`);
  await w?.stop();
});

const config = (version: string, region: string) => ({
  sensor: { version },
  targets: { aws: [{ accountId: w.where.account, regions: [region] }] },
  rollout: {
    deadlineSeconds: 60,
    pollSeconds: 1,
    readinessPollSeconds: 1,
    readinessDeadlineSeconds: 120,
    maxAttempts: 6,
    retryBackoffSeconds: 1,
    concurrency: 4,
    checkInGate: { enabled: true, deadlineSeconds: 60, pollSeconds: 1 },
    rings: { shares: [100], maxRestarts: 3 },
    // at most 3 of the 6 running sensors replaced per ring: a canary and two more gated rings (the default 25 % makes six, serially)
    blastRadius: { percent: 50, minClusters: 1 },
  },
  // small pages: a gate's sensor listing is many calls, each of which may fail
  qualys: { pageSize: 2 },
});

/** Lambda's asynchronous invocation: two retries, then the on-failure destination (the ingest DLQ) with the error. */
async function invokeAsync(fn: () => Promise<unknown>, payload: unknown, ingest: { sent: number; dead: string[] }): Promise<unknown> {
  let last: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await fn();
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 300 * (attempt + 1)));
    }
  }
  const sqs = new SQSClient({ region: w.where.region, endpoint: w.sandbox.motoUrl, credentials: w.sandbox.aws.credentials });
  const ingestQueue = w.stack.queues.IngestDeadLetterQueue!.url;
  await sqs.send(new SendMessageCommand({ QueueUrl: ingestQueue, MessageBody: JSON.stringify({ requestPayload: payload, responsePayload: { errorMessage: (last as Error).message } }) }));
  sqs.destroy();
  ingest.dead.push((last as Error).message);
  return undefined;
}

/**
 * `from`: the configured version at enrollment (new clusters get it, or the fleet baseline once a run
 * released every ring: the same here); `target`: the version the nightly run then rolls out.
 */
async function scenario(rate: number, region: string, seed: number, from: string, target: string): Promise<void> {
  const started = Date.now();
  const aws = new RandomFaults(rate, { seed });
  const kubeFaults: RandomFaults[] = [];
  const qualys = new RandomFaults(rate, { seed: seed + 7 });
  const quiet = <T>(fn: () => Promise<T>) => aws.quiet(fn);
  const where = { account: w.where.account, region };
  const tag = `f${Math.round(rate * 100)}`;
  const eks = [];
  for (let i = 0; i < 4; i++) eks.push(await w.sandbox.fleet.createEksCluster({ name: `${tag}-eks-${i}`, region, nodes: [{ name: `${tag}-n${i}a` }, { name: `${tag}-n${i}b` }], ...(i === 0 ? { creatingForMs: 3000 } : {}) }));
  const ecs = [];
  for (let i = 0; i < 2; i++) ecs.push(await w.sandbox.fleet.createEcsCluster({ name: `${tag}-ecs-${i}`, region, instances: 2 }));
  const all = [...eks, ...ecs].map((c) => c.ref);
  const frontFrom = w.sandbox.front.log.length;
  const kubeFrom = new Map(eks.map((c) => [c.ref, w.sandbox.kubeClusterFor(c.ref)!.requests.length]));

  // faults on from here: every product call through the fakes (the test's own reads stay out of them)
  w.quiet = quiet;
  w.sandbox.front.faults.random = aws;
  for (const c of eks) {
    const f = new RandomFaults(rate, { seed: seed + kubeFaults.length + 1 });
    kubeFaults.push(f);
    w.sandbox.kubeClusterFor(c.ref)!.faults.random = f;
  }
  w.qualys.fake.faults.random = qualys;
  const ingest = { sent: 0, dead: [] as string[] };
  const dead = new Map<string, string>();
  const collectDlq = async () => {
    for (const d of await w.deadLetters()) if (d.cluster) dead.set(d.cluster, d.reason ?? '');
  };
  const settledAt = async (version: string) =>
    quiet(async () => {
      await collectDlq();
      for (const ref of all) {
        if (dead.has(ref)) continue;
        const item = await w.store.getCluster(ref);
        if (!item || item.sensorVersion !== version || !['converged', 'in-sync'].includes(item.outcome) || item.nodes.covered !== item.nodes.total) return false;
      }
      return true;
    });

  let halts = 0;
  let run: RunRecord | undefined;
  let enrolledAt = 0;
  try {
    // 1. enrollment, end to end
    await w.configure(config(from, region));
    const enrolled = (await w.rollouts.getBaseline())?.version ?? from;
    const events = [...eks.map((c) => eksCreateCluster(where, c.ref.split(':')[3]!)), ...ecs.map((c) => ecsCreateCluster(where, c.ref.split(':')[3]!))];
    for (const e of events) {
      ingest.sent++;
      await invokeAsync(() => w.onAwsEvent(e), e, ingest);
    }
    // generous: on a loaded 2-core CI machine, retries with backoff under 30 % faults take minutes
    await w.pump(() => settledAt(enrolled), 240_000).catch(async (err) => {
      throw new Error(`${(err as Error).message}; not settled: ${await unsettled(all, dead)}`);
    });

    enrolledAt = Date.now();
    // 2. the nightly run to the new version: rings, gates, an operator resuming a halted run
    await w.configure(config(target, region));
    const event = { id: `nightly-${tag}` };
    const started = (await invokeAsync(() => w.nightly(event), event, ingest)) as { started: boolean; runId: string } | undefined;
    expect(started?.started, `nightly did not start: ${ingest.dead.join('; ')}`).toBe(true);
    for (;;) {
      run = await w.waitForRun(started!.runId, ['succeeded', 'halted', 'failed', 'aborted'], 360_000).catch(async (err) => {
        throw new Error(`${(err as Error).message}; run: ${await runState(started!.runId)}; clusters: ${await unsettled(all, dead)}`);
      });
      if (run.status !== 'halted' || halts >= 3) break;
      halts++;
      figures.push(`  ${tag}: halted (${run.halt!.reason.slice(0, 160)}); resumed`);
      for (let i = 0; i < 5; i++) {
        try {
          await answerHalt(w.rollouts, run.runId, 'resume', 'fault-suite');
          break;
        } catch (err) {
          if ((err as Error).name === 'RunNotHaltedError') break;
        }
      }
    }
  } finally {
    w.quiet = (fn) => fn();
    w.sandbox.front.faults.random = undefined;
    for (const c of eks) w.sandbox.kubeClusterFor(c.ref)!.faults.random = undefined;
    w.qualys.fake.faults.random = undefined;
  }
  await w.drain(60_000);
  await collectDlq();
  figures.push(await timeline(tag, run!, all));

  // every cluster converged at the new version, or is in the DLQ with its reason
  const converged: string[] = [];
  for (const ref of all) {
    const item = await w.store.getCluster(ref);
    const ok = item?.sensorVersion === target && item.nodes.covered === item.nodes.total && item.nodes.total > 0;
    if (ok) converged.push(ref);
    else expect(dead.get(ref), `${ref}: neither converged (${item?.outcome}: ${item?.message}) nor in the DLQ`).toMatch(/\S/);
  }
  for (const [ref, reason] of dead) if (all.includes(ref)) expect(reason, ref).toMatch(/\S{3}/);
  expect(run!.status).toBe('succeeded');

  // no duplicate object or revision
  const duplicate: string[] = [];
  const desired = buildSensorObjects({ config: parseConfig({ sensor: { version: target } }), podUrl: 'https://x', credentials: { activationId: 'a', customerId: 'c' } });
  const kinds = [...new Set(desired.map((o) => `${o.apiVersion}|${o.kind}`))];
  for (const c of eks) {
    const kube = w.sandbox.kubeClusterFor(c.ref)!;
    for (const k of kinds) {
      const [apiVersion, kind] = k.split('|') as [string, string];
      const mine = kube.list(apiVersion, kind).filter((o: any) => o.metadata.labels?.['app.kubernetes.io/managed-by'] === 'sensorfleet');
      const want = desired.filter((o) => o.apiVersion === apiVersion && o.kind === kind).length;
      if (mine.length > want) duplicate.push(`${c.ref}: ${mine.length} ${kind} objects, want ${want}`);
    }
    const ds = kube.get('apps/v1', 'DaemonSet', 'qualys-sensor', 'qualys-container-sensor');
    // one template generation per version: created at the enrolled version, updated once to the target
    if (converged.includes(c.ref) && Number(ds?.metadata.generation ?? 0) > 2) duplicate.push(`${c.ref}: DaemonSet template generation ${ds?.metadata.generation}, want 2`);
  }
  const ecsApi = new ECSClient({ region, endpoint: w.sandbox.motoUrl, credentials: w.sandbox.aws.credentials });
  const revisions = (await ecsApi.send(new ListTaskDefinitionsCommand({ familyPrefix: 'qualys-container-sensor' }))).taskDefinitionArns ?? [];
  const defs = await Promise.all(revisions.map(async (t) => (await ecsApi.send(new DescribeTaskDefinitionCommand({ taskDefinition: t }))).taskDefinition!));
  ecsApi.destroy();
  const byClusterVersion = new Map<string, number>();
  for (const d of defs) {
    const c = d.containerDefinitions![0]!;
    const key = `${c.logConfiguration?.options?.['awslogs-group']}|${c.image}`;
    byClusterVersion.set(key, (byClusterVersion.get(key) ?? 0) + 1);
  }
  for (const [key, n] of byClusterVersion) if (n > 1) duplicate.push(`task definition ${key}: ${n} revisions`);
  const duplicates = duplicate.length;

  // no event lost: every cluster's created event reached the worker (or the DLQ, or the ingest DLQ), every ring answered
  let lost = 0;
  for (const ref of all) {
    const records = await w.store.listReconciles(ref, 100);
    if (!records.some((r) => r.trigger.kind === 'cluster-created') && !dead.has(ref) && ingest.dead.length === 0) lost++;
  }
  const results = await w.rollouts.listResults(run!.runId);
  for (const ring of run!.rings) for (const ref of await w.rollouts.listRingClusters(run!.runId, ring.ring)) if (!results.some((r) => r.ring === ring.ring && r.cluster === ref) && !dead.has(ref)) lost++;

  // every write the fakes committed is in a record (intent before the first write, outcome after)
  let committed = 0;
  let recorded = 0;
  for (const [i, c] of eks.entries()) {
    const reqs = w.sandbox.kubeClusterFor(c.ref)!.requests.slice(kubeFrom.get(c.ref));
    const writes = reqs.filter((r) => r.method !== 'GET' && r.status > 0 && r.status < 300).length + kubeFaults[i]!.afterCommit.filter((a) => !a.operation.startsWith('GET')).length;
    const inRecords = (await w.store.listReconciles(c.ref, 100)).reduce((n, r) => n + r.changed.writes, 0);
    expect(inRecords, `${c.ref}: ${writes} writes committed, ${inRecords} recorded`).toBeGreaterThanOrEqual(writes);
    committed += writes;
    recorded += inRecords;
  }
  const ecsWrites = w.sandbox.front.log.slice(frontFrom).filter((r) => r.service === 'ecs' && /^(Register|Create|Update)/.test(r.operation) && r.status >= 200 && r.status < 300).length + aws.afterCommit.filter((a) => a.service === 'ecs').length;
  let ecsRecorded = 0;
  for (const c of ecs) ecsRecorded += (await w.store.listReconciles(c.ref, 100)).reduce((n, r) => n + r.changed.writes, 0);
  expect(ecsRecorded, `ECS: ${ecsWrites} writes committed, ${ecsRecorded} recorded`).toBeGreaterThanOrEqual(ecsWrites);
  committed += ecsWrites;
  recorded += ecsRecorded;

  const kubeInjected = kubeFaults.reduce((n, f) => n + f.total, 0);
  const kubeSeen = kubeFaults.reduce((n, f) => n + f.seen, 0);
  const kinds2 = (f: RandomFaults[]) => (['throttle', 'server-error', 'drop', 'after-commit'] as const).map((k) => `${k} ${f.reduce((n, x) => n + x.injected[k], 0)}`).join(', ');
  figures.push(
    `${tag} (${Math.round(rate * 100)} % failing, ${((Date.now() - started) / 1000).toFixed(1)} s: enrollment ${((enrolledAt - started) / 1000).toFixed(1)} s, run ${((Date.now() - enrolledAt) / 1000).toFixed(1)} s): injected AWS ${aws.total}/${aws.seen}, Kubernetes ${kubeInjected}/${kubeSeen}, Qualys ${qualys.total}/${qualys.seen} [${kinds2([aws, ...kubeFaults, qualys])}]; ` +
      `clusters ${all.length}: converged ${converged.length}, DLQ with reason ${[...dead.keys()].filter((r) => all.includes(r)).length}; duplicates ${duplicates}; lost ${lost}; ingest DLQ ${ingest.dead.length} of ${ingest.sent}; ` +
      `writes committed ${committed} / recorded ${recorded}; halts ${halts}`,
  );
  expect(duplicate).toEqual([]);
  expect(lost).toBe(0);
  expect(aws.total).toBeGreaterThan(0);
  expect(kubeInjected).toBeGreaterThan(0);
  // Qualys sees tens of calls (the gates' sensor listings): at 10 % some runs draw no fault there
  expect(qualys.seen).toBeGreaterThan(0);
  if (rate >= 0.3) expect(qualys.total).toBeGreaterThan(0);
}

/** When each ring passed and each cluster's reconciles ran, in seconds from the run's start (where a slow run spent its time). */
async function timeline(tag: string, run: RunRecord, all: string[]): Promise<string> {
  const t0 = Date.parse(run.startedAt);
  const rel = (at: string) => ((Date.parse(at) - t0) / 1000).toFixed(1);
  const lines = [`  ${tag} run: ${run.history.map((h) => `${rel(h.at)} ${h.event.slice(0, 40)}`).join(' | ')}`];
  for (const ref of all) {
    const records = (await w.store.listReconciles(ref, 40)).reverse().filter((r) => r.startedAt >= run.startedAt);
    lines.push(`    ${ref.split(':').pop()}: ${records.map((r) => `${rel(r.startedAt)}-${rel(r.finishedAt)} ${r.outcome}`).join(', ')}`);
  }
  return lines.join('\n');
}

/** Where a run stands: its status, history and each ring's answers so far. */
async function runState(runId: string): Promise<string> {
  return w.quiet(async () => {
    const run = await w.rollouts.getRun(runId);
    if (!run) return 'no run record';
    const results = await w.rollouts.listResults(runId);
    const rings = run.rings.map((r) => `ring ${r.ring} (${r.size} clusters): ${results.filter((x) => x.ring === r.ring).map((x) => `${x.cluster.split(':').pop()} ${x.outcome}`).join(', ')}`);
    return `${run.status}; ${rings.join('; ')}; gates ${JSON.stringify(run.gates)}; history ${run.history.map((h) => `${h.at.slice(11, 19)} ${h.event}`).join(' | ')}`;
  });
}

/** Why a cluster is neither converged nor in the DLQ: its inventory item and its last records. */
async function unsettled(all: string[], dead: Map<string, string>): Promise<string> {
  const out: string[] = [];
  for (const ref of all) {
    if (dead.has(ref)) continue;
    const item = await w.store.getCluster(ref);
    const records = (await w.store.listReconciles(ref, 5)).map((r) => `${r.outcome}: ${r.message.slice(0, 120)}`);
    out.push(`${ref} [${item?.outcome} ${item?.sensorVersion} ${item?.nodes.covered}/${item?.nodes.total}] ${records.join(' <- ')}`);
  }
  return out.join(' | ');
}

describe('fault suite: enrollment and a nightly rollout with requests failing at random', () => {
  it('10 % of AWS, Kubernetes and Qualys requests failing', async () => {
    await scenario(0.1, 'eu-west-3', 101, V1, V2);
  }, 900_000);

  it('30 % of AWS, Kubernetes and Qualys requests failing', async () => {
    await scenario(0.3, 'eu-central-2', 303, V2, V3);
  }, 900_000);

  it('no invocation ran longer than 60 s', () => {
    expect(w.invocations.length).toBeGreaterThan(0);
    expect(w.longest().ms).toBeLessThan(60_000);
  });
});
