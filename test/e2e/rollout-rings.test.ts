import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { main } from '../../shared/cli/main';
import type { ReconcileRecord } from '../../shared/state/records';
import { ecsContainerInstanceStateChange, eksUpdateNodegroupConfig } from '../sandbox/event-factory';
import { DescribeTaskDefinitionCommand, ECSClient, ListTaskDefinitionsCommand } from '@aws-sdk/client-ecs';
import { startRolloutWorld, type RolloutWorld } from '../support/rollout-world';
import { PassThrough } from 'node:stream';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { parseClusterRef } from '../../shared/domain/cluster-ref';
import { parseRedeployRequest, redeployEvents } from '../../shared/engine/redeploy-request';

/**
 * Issue 7, Orchestration, end to end: the nightly function starts a durable run (run record + Step
 * Functions execution by moto's executor), the workflow hands each ring's clusters to the FIFO queue,
 * the bundled worker reconciles them in short invocations (a rollout under way comes back later), the
 * ring's gate (coverage at the new version, Qualys check-in, sensor restarts) is asked by Wait + Choice,
 * node events during the rollout keep unreleased clusters at their version, a failed ring halts the
 * run and `sensorfleet rollout resume|abort RUN` answers it.
 */
const V1 = '1.34.1-0';
const V2 = '1.35.0-0';
const V3 = '1.36.0-0';
const V4 = '1.37.0-0';
const IMAGE = 'qualys/qcs-sensor';
let w: RolloutWorld;
let canary: string;
let others: string[];

const config = (version: string) => ({
  sensor: { version },
  targets: { aws: [{ accountId: w.where.account, regions: [w.where.region] }] },
  rollout: {
    deadlineSeconds: 40,
    pollSeconds: 1,
    readinessPollSeconds: 1,
    maxAttempts: 3,
    retryBackoffSeconds: 1,
    checkInGate: { enabled: true, deadlineSeconds: 30, pollSeconds: 1 },
    rings: { canary: ['*:ro-canary-*'], shares: [100], maxRestarts: 2 },
    // ring 1 replaces 3 running sensors: a floor of 3 lets it go whole (test/unit/run-rings-guard.test.ts splits it)
    blastRadius: { percent: 25, minClusters: 3 },
  },
});

beforeAll(async () => {
  w = await startRolloutWorld(inject('motoUrl'), 'ca-central-1');
  const c = await w.sandbox.fleet.createEksCluster({ name: 'ro-canary-1', nodes: [{ name: 'c1' }, { name: 'c2' }] });
  const a = await w.sandbox.fleet.createEksCluster({ name: 'ro-web', nodes: [{ name: 'w1' }, { name: 'w2' }] });
  const b = await w.sandbox.fleet.createEksCluster({ name: 'ro-data', nodes: [{ name: 'd1' }] });
  const e = await w.sandbox.fleet.createEcsCluster({ name: 'ro-batch', instances: 2 });
  canary = c.ref;
  others = [a.ref, b.ref, e.ref];
}, 180_000);

afterAll(async () => {
  if (w) console.log(`longest invocation: ${w.longest().fn} ${Math.round(w.longest().ms)} ms over ${w.invocations.length} invocations`);
  await w?.stop();
});

const image = (ref: string) => w.sandbox.kubeClusterFor(ref)?.get('apps/v1', 'DaemonSet', 'qualys-sensor', 'qualys-container-sensor')?.spec.template.spec.containers[0].image as string | undefined;
const latest = async (ref: string, where: (r: ReconcileRecord) => boolean) => (await w.store.listReconciles(ref, 50)).find(where);

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += d));
  stderr.on('data', (d) => (err += d));
  const code = await main(args, { stdin: new PassThrough(), stdout, stderr });
  return { code, out, err };
}

describe('a nightly run is durable: a run record and a Step Functions execution, nothing reconciled in the invocation', () => {
  it('first run: every cluster installed at the configured version, ring by ring; the fleet baseline is recorded', async () => {
    await w.configure(config(V1));
    const t0 = performance.now();
    const started = await w.nightly();
    const nightlyMs = performance.now() - t0;
    expect(started).toMatchObject({ started: true, targetVersion: V1, clusters: 4 });
    // the invocation only discovered and started the workflow: no cluster was touched by it
    expect(await w.store.listClusters()).toEqual([]);
    console.log(`nightly invocation: ${Math.round(nightlyMs)} ms; rings ${JSON.stringify(started.rings)}`);
    expect(started.rings.map((r: { name: string }) => r.name)).toEqual(['canary', '100%']);
    const run = await w.waitForRun(started.runId, ['succeeded', 'halted', 'failed'], 120_000);
    expect(run.status, JSON.stringify(run.history)).toBe('succeeded');
    for (const ref of [canary, ...others]) {
      const item = await w.store.getCluster(ref);
      expect(item, ref).toMatchObject({ sensorVersion: V1 });
      expect(item!.nodes.covered).toBe(item!.nodes.total);
      expect((await w.rollouts.getRelease(ref))?.version).toBe(V1);
    }
    expect(await w.rollouts.getBaseline()).toMatchObject({ version: V1, runId: started.runId });
    expect(w.sandbox.front.stepFunctions!.started).toBe(1);
  }, 180_000);
});

describe('a version bump rolls through two rings with the gate; node events do not jump the ring', () => {
  it('the canary gets the new version first; a node event for a later ring keeps its cluster at the old version', async () => {
    await w.configure(config(V2));
    const started = await w.nightly();
    expect(started.rings).toEqual([
      { ring: 0, name: 'canary', clusters: 1, gate: true, chunks: 1 },
      { ring: 1, name: '100%', clusters: 3, gate: true, chunks: 1 },
    ]);
    const web = others[0]!;
    const webName = web.split(':')[3]!;
    // a node event for a cluster of ring 1 while ring 0 rolls out
    await w.sandbox.fleet.addEksNodes(web, [{ name: 'w3' }]);
    const since = new Date().toISOString();
    await w.onAwsEvent(eksUpdateNodegroupConfig(w.where, webName, 'default', 3));
    await w.pump(async () => Boolean(await latest(web, (r) => r.trigger.kind === 'nodes-changed' && r.startedAt >= since && r.outcome !== 'applying')), 60_000);
    const byEvent = (await latest(web, (r) => r.trigger.kind === 'nodes-changed' && r.startedAt >= since))!;
    expect(byEvent.version).toMatchObject({ desired: V1, target: V2, source: 'released' });
    expect(byEvent.version!.reason).toMatch(/has not released this cluster's ring yet: kept at 1\.34\.1-0/);
    expect(image(web)).toBe(`${IMAGE}:${V1}`);
    expect((await w.store.getCluster(web))!.nodes).toEqual({ covered: 3, total: 3 });

    // an ECS container instance joins during the rollout too: the event and the ring reach the cluster one at a time
    const batch = others[2]!;
    const [arn] = await w.sandbox.fleet.addEcsInstances(batch, 1);
    await w.onAwsEvent(ecsContainerInstanceStateChange(w.where, batch.split(':')[3]!, arn!, 'i-ro-new'));

    const run = await w.waitForRun(started.runId, ['succeeded', 'halted', 'failed'], 150_000);
    expect(run.status, JSON.stringify(run.history)).toBe('succeeded');
    // one task definition revision for the new version, one reconcile that wrote it: never two at once
    const ecs = new ECSClient({ region: w.where.region, endpoint: w.sandbox.aws.endpoint, credentials: w.sandbox.aws.credentials });
    const revisions = (await ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: 'qualys-container-sensor' }))).taskDefinitionArns ?? [];
    const images = await Promise.all(revisions.map(async (t) => (await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: t }))).taskDefinition!.containerDefinitions![0]!.image));
    expect(images.filter((i) => i === `${IMAGE}:${V2}`)).toHaveLength(1);
    ecs.destroy();
    const wrote = (await w.store.listReconciles(batch, 50)).filter((r) => r.startedAt >= since && r.changed.writes > 0);
    expect(wrote.map((r) => r.trigger.source)).toEqual(['sensorfleet.rollout']);
    // order: the canary's release before ring 1's, and ring 1 only after the canary's gate passed
    const released = async (ref: string) => (await w.rollouts.getRelease(ref))!;
    const canaryRelease = await released(canary);
    const gatePassed = run.history.find((h) => /ring 0 \(canary\) passed its gate/.test(h.event))!;
    expect(gatePassed, JSON.stringify(run.history)).toBeDefined();
    for (const ref of others) {
      const r = await released(ref);
      expect(r).toMatchObject({ version: V2, runId: started.runId, ring: 1 });
      expect(r.releasedAt > canaryRelease.releasedAt).toBe(true);
      expect(r.releasedAt >= gatePassed.at).toBe(true);
      expect((await w.store.getCluster(ref))!.sensorVersion).toBe(V2);
    }
    expect(image(canary)).toBe(`${IMAGE}:${V2}`);
    expect(image(web)).toBe(`${IMAGE}:${V2}`);
    // the gate waited for Qualys check-in at least once (Wait + Choice), then passed
    expect(run.gates['0']).toMatchObject({ verdict: 'pass' });
    expect(run.gates['0']!.reason).toMatch(/every sensor checked in to Qualys at 1\.35\.0-0/);
    // the worker never waited for a rollout: an item under way came back as 'progressing'
    const progressing = (await w.store.listReconciles(canary, 50)).filter((r) => r.outcome === 'progressing');
    expect(progressing.length).toBeGreaterThan(0);
    expect(progressing[0]!.message).toMatch(/^rolling out: \d+\/\d+ nodes updated/);
    expect(await w.rollouts.getBaseline()).toMatchObject({ version: V2 });
  }, 240_000);
});

describe('a ring that fails its gate halts the run with the reason; resume and abort', () => {
  it('the canary crash-loops on the new version: the run halts; later rings keep their version; after the fix, resume finishes the run', async () => {
    const kube = w.sandbox.kubeClusterFor(canary)!;
    kube.options.crashingImages = new Set([`${IMAGE}:${V3}`]);
    await w.configure(config(V3));
    const started = await w.nightly();
    const halted = await w.waitForRun(started.runId, ['halted', 'succeeded', 'failed'], 120_000);
    expect(halted.status).toBe('halted');
    expect(halted.halt!.ring).toBe(0);
    expect(halted.halt!.reason).toMatch(/ro-canary-1 stuck: rollout stuck: sensor pod \S+ restarted \d+ times \(more than 2\)/);
    for (const ref of others) {
      expect((await w.store.getCluster(ref))!.sensorVersion).toBe(V2);
      expect((await w.rollouts.getRelease(ref))!.version).toBe(V2);
    }
    const status = await cli('rollout', 'status', started.runId);
    expect(status.code).toBe(1);
    expect(status.out).toMatch(/HALTED in ring 0: ring 0 \(canary\)/);
    expect(status.out).toMatch(/sensorfleet rollout resume run-/);

    // on-call while halted: a restart keeps the released version; only an explicit forced action installs the target, and says so
    const [data, batch] = [others[1]!, others[2]!];
    const restartData = redeployEvents(parseRedeployRequest({ cluster: data, action: 'restart', reason: 'INC-11 sensor hung', requestedBy: 'oncall' }), [parseClusterRef(data)], new Date());
    const forceBatch = redeployEvents(parseRedeployRequest({ cluster: batch, action: 'redeploy', reason: 'CHG-3 needs 1.36 now', requestedBy: 'alice', forceVersion: true }), [parseClusterRef(batch)], new Date());
    await w.send([...restartData, ...forceBatch]);
    const settled = async (ref: string, id: string) => ['converged', 'in-sync'].includes((await latest(ref, (r) => r.trigger.eventId === id))?.outcome ?? '');
    await w.pump(async () => (await settled(data, restartData[0]!.id)) && (await settled(batch, forceBatch[0]!.id)), 90_000);
    expect((await latest(data, (r) => r.trigger.eventId === restartData[0]!.id))!.version).toMatchObject({ desired: V2, target: V3, source: 'released' });
    expect(image(data)).toBe(`${IMAGE}:${V2}`);
    const forced = (await latest(batch, (r) => r.trigger.eventId === forceBatch[0]!.id))!;
    expect(forced.version).toMatchObject({ desired: V3, source: 'forced' });
    expect(forced.version!.reason).toMatch(/forced by alice \(CHG-3 needs 1\.36 now\)/);
    expect(await w.rollouts.getRelease(batch)).toMatchObject({ version: V3, forced: { by: 'alice', reason: 'CHG-3 needs 1.36 now' } });
    expect((await w.store.getCluster(batch))!.sensorVersion).toBe(V3);

    // a second nightly while halted starts no run: drift work items at the released versions instead
    const second = await w.nightly();
    expect(second).toMatchObject({ started: false, activeRun: { runId: started.runId, status: 'halted' } });
    await w.drain(60_000);
    for (const ref of [others[0]!, data]) expect((await w.store.getCluster(ref))!.sensorVersion).toBe(V2);

    // the cause is fixed (the image runs now) and on-call restarts the canary's sensor: fresh pods, no restarts
    kube.options.crashingImages = new Set();
    const restart = { id: `restart-${Date.now()}`, time: new Date().toISOString(), kind: 'redeploy-requested' as const, cluster: canary, source: 'sensorfleet.redeploy', detail: { action: 'restart', reason: 'INC-9 crash loop fixed', requestedBy: 'oncall' } };
    await w.send([restart]);
    await w.pump(async () => (await latest(canary, (r) => r.trigger.eventId === restart.id))?.outcome === 'converged', 90_000);
    expect((await latest(canary, (r) => r.trigger.eventId === restart.id))!.version).toMatchObject({ desired: V3, source: 'released' });
    const resumed = await cli('rollout', 'resume', started.runId);
    expect(resumed.code, resumed.err).toBe(0);
    expect(resumed.out).toMatch(/resumed run-\S+ .*now running/);
    const again = await cli('rollout', 'resume', started.runId);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/is running, not halted/);
    const done = await w.waitForRun(started.runId, ['succeeded', 'halted', 'failed'], 150_000);
    expect(done.status, JSON.stringify(done.history)).toBe('succeeded');
    expect(done.history.map((h) => h.event).join('\n')).toMatch(/halted in ring 0[\s\S]*resumed by [\s\S]*ring 0 \(canary\) passed its gate[\s\S]*ring 1 \(100%\) passed its gate/);
    for (const ref of [canary, ...others]) expect((await w.store.getCluster(ref))!.sensorVersion).toBe(V3);
  }, 300_000);

  it('abort ends a halted run: the clusters of rings not released keep their version', async () => {
    const kube = w.sandbox.kubeClusterFor(canary)!;
    kube.options.crashingImages = new Set([`${IMAGE}:${V4}`]);
    await w.configure(config(V4));
    const started = await w.nightly();
    const halted = await w.waitForRun(started.runId, ['halted', 'succeeded', 'failed'], 120_000);
    expect(halted.status).toBe('halted');
    const aborted = await cli('rollout', 'abort', started.runId);
    expect(aborted.code, aborted.err).toBe(0);
    const run = (await w.rollouts.getRun(started.runId))!;
    expect(run.status).toBe('aborted');
    expect(run.endReason).toMatch(/^aborted by /);
    for (const ref of others) expect((await w.rollouts.getRelease(ref))!.version).toBe(V3);
    // the workflow ended too: its Halt task got the abort
    const sfn = new SFNClient({ region: w.where.region, endpoint: w.sandbox.aws.endpoint, credentials: w.sandbox.aws.credentials });
    let execution = await sfn.send(new DescribeExecutionCommand({ executionArn: run.executionArn! }));
    for (let i = 0; i < 50 && execution.status === 'RUNNING'; i++) {
      await new Promise((r) => setTimeout(r, 200));
      execution = await sfn.send(new DescribeExecutionCommand({ executionArn: run.executionArn! }));
    }
    expect(execution).toMatchObject({ status: 'FAILED', error: 'RolloutAborted' });
    sfn.destroy();
    kube.options.crashingImages = new Set();
    // and a new run may start
    expect((await w.rollouts.activeRun())).toBeUndefined();
  }, 200_000);

  it('no invocation ran longer than 60 s (the nightly ends in seconds; the worker never waits on a rollout)', () => {
    const longest = (fn: string) => Math.max(...w.invocations.filter((i) => i.fn === fn).map((i) => i.ms));
    console.log(`longest nightly ${Math.round(longest('nightly'))} ms, longest worker ${Math.round(longest('reconcile-worker'))} ms`);
    expect(longest('nightly')).toBeLessThan(60_000);
    expect(longest('reconcile-worker')).toBeLessThan(60_000);
  });
});
