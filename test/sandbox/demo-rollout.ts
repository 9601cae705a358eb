import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { renderRun } from '../../shared/cli/commands/rollout';
import { answerHalt } from '../../shared/rollout/control';
import { DynamoDbFleetStore } from '../../shared/state/dynamodb-store';
import type { RunRecord } from '../../shared/state/rollout-records';
import { DynamoDbRolloutStore } from '../../shared/state/rollout-store';
import { bundleFunction, type FunctionBundle } from '../support/bundle';
import { eksUpdateNodegroupConfig } from './event-factory';
import type { Sandbox } from './index';
import { lambdaContext, SqsEventSourceMapping, type DrainResult, type SqsHandler } from './lambda-runner';
import type { QualysSandbox } from './qualys/fixture';
import type { StackOutputs } from './stack';

/**
 * The demo's rollout step, self-contained: three EKS clusters of its own (in a region of their own, so
 * the demo's other clusters are not part of these runs) go through nightly rollout runs — the Step
 * Functions workflow in the sandbox (moto's executor), the bundled nightly and worker, the Qualys fake:
 *  1. a version bump rolled through two rings (canary, then the rest) with the gate between them; a node
 *     event for a cluster of the second ring during the canary's rollout keeps it at its version;
 *  2. a bump whose canary crash-loops: the ring fails its gate, the run halts with the reason; after the
 *     fix (and an on-call restart) `rollout resume` runs the ring again and the run finishes.
 * Needs a sandbox started with { stepFunctions: true }, the stack deployed on it (deployStackResources),
 * and the Qualys fake hearing the sandbox's sensor events. Restores the environment it changes.
 */
export interface RolloutDemoContext {
  sandbox: Sandbox;
  stack: StackOutputs;
  qualys: QualysSandbox;
  log: (line: string) => void;
  /** Where the step's clusters live (default eu-north-1); the control plane stays in the sandbox's region. */
  region?: string;
  /** Where the worker writes the runs' reports (SENSORFLEET_REPORTS_DIR); default a new directory under the OS tmp dir. */
  reportsDir?: string;
}

/** One run report the worker wrote (when the run halted or finished). */
export interface WrittenRunReport {
  runId: string;
  status: string;
  json: string;
  html: string;
}

export interface RolloutDemoReport {
  ok: boolean;
  checks: { name: string; ok: boolean; detail: string }[];
  runs: { runId: string; status: string; targetVersion: string; halt?: string }[];
  /** Every report written, in order; the last is the final report of the last run. */
  reports: WrittenRunReport[];
  longestInvocationMs: number;
  durationMs: number;
}

const V1 = '1.34.1-0';
const V2 = '1.35.0-0';
const V3 = '1.36.0-0';
const IMAGE = 'qualys/qcs-sensor';
const ENV = ['SENSORFLEET_TABLE', 'SENSORFLEET_IDEMPOTENCY_TABLE', 'SENSORFLEET_QUEUE_URL', 'SENSORFLEET_DLQ_URL', 'SENSORFLEET_STATE_MACHINE_ARN', 'SENSORFLEET_CONFIG', 'POWERTOOLS_LOG_LEVEL', 'POWERTOOLS_METRICS_DISABLED', 'SENSORFLEET_REPORTS_DIR'] as const;

export async function rolloutDemoStep(ctx: RolloutDemoContext): Promise<RolloutDemoReport> {
  const t0 = Date.now();
  const { sandbox, stack, qualys, log } = ctx;
  if (!sandbox.front.stepFunctions) throw new Error('rolloutDemoStep needs a sandbox started with startSandbox({ stepFunctions: true })');
  const stateMachineArn = Object.values(stack.stateMachines)[0]?.arn;
  if (!stateMachineArn) throw new Error('rolloutDemoStep: the stack has no state machine (deployStackResources on this sandbox first)');
  const region = ctx.region ?? 'eu-north-1';
  const home = sandbox.aws.region;
  const work = Object.values(stack.queues).find((q) => q.name.endsWith('-work.fifo'))!;
  const dlq = Object.values(stack.queues).find((q) => q.name.endsWith('-dlq.fifo'))!;
  const table = Object.values(stack.tables)[0]!.name;
  const saved = Object.fromEntries(ENV.map((k) => [k, process.env[k]]));
  const store = new DynamoDbFleetStore(table, home);
  const rollouts = new DynamoDbRolloutStore(table, home);
  const sqs = new SQSClient({ region: home, endpoint: sandbox.motoUrl, credentials: sandbox.aws.credentials });
  const checks: RolloutDemoReport['checks'] = [];
  const reportsDir = ctx.reportsDir ?? mkdtempSync(join(tmpdir(), 'sensorfleet-reports-'));
  const reports: WrittenRunReport[] = [];
  const runs: RolloutDemoReport['runs'] = [];
  let longest = 0;
  const check = (name: string, ok: boolean, detail: string) => {
    checks.push({ name, ok, detail });
    log(`  ${ok ? 'ok  ' : 'FAIL'} ${name}: ${detail}`);
  };

  let nightly!: (e: unknown, c: Context) => Promise<any>;
  let onAwsEvent!: (e: unknown, c: Context) => Promise<unknown>;
  let mapping!: SqsEventSourceMapping;
  const configure = async (version: string) => {
    const q = qualys.config();
    Object.assign(process.env, {
      SENSORFLEET_TABLE: table,
      SENSORFLEET_IDEMPOTENCY_TABLE: stack.tables.IdempotencyTable!.name,
      SENSORFLEET_QUEUE_URL: work.url,
      SENSORFLEET_DLQ_URL: dlq.url,
      SENSORFLEET_STATE_MACHINE_ARN: stateMachineArn,
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
      SENSORFLEET_REPORTS_DIR: reportsDir,
      // blastRadius: 25 % of this 3-cluster fleet, but never fewer than 2 clusters at once: the ring after
      // the canary goes as one (with the default floor of 1 the planner would split it in two)
      SENSORFLEET_CONFIG: JSON.stringify({
        sensor: { version },
        targets: { aws: [{ accountId: sandbox.aws.accountId, regions: [region] }] },
        rollout: { deadlineSeconds: 40, pollSeconds: 1, readinessPollSeconds: 1, maxAttempts: 3, retryBackoffSeconds: 1, checkInGate: { enabled: true, deadlineSeconds: 30, pollSeconds: 1 }, rings: { canary: ['*:demo-canary'], shares: [100], maxRestarts: 2 }, blastRadius: { percent: 25, minClusters: 2 } },
        qualys: { baseUrl: q.qualys.baseUrl, auth: q.qualys.auth, retry: q.qualys.retry },
      }),
    });
    nightly = await freshBundledHandler('functions/nightly.ts');
    onAwsEvent = await freshBundledHandler('functions/on-aws-event.ts');
    const worker = await freshBundledHandler<SqsHandler>('functions/reconcile-worker.ts');
    const timed: SqsHandler = async (e, c) => {
      const s = performance.now();
      try {
        return await worker(e, c);
      } finally {
        longest = Math.max(longest, performance.now() - s);
      }
    };
    mapping = new SqsEventSourceMapping(sqs, work.url, work.arn, timed, { region: home, batchSize: 10 });
  };
  const pump = async (done: () => Promise<boolean>, timeoutMs: number) => {
    const result: DrainResult = { invocations: 0, processed: 0, failedRecords: 0 };
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      if (await done()) return;
      if ((await mapping.pollOnce(result)) === 0) await new Promise((r) => setTimeout(r, 150));
    }
    throw new Error(`rollout demo: not done within ${timeoutMs} ms`);
  };
  const runUntil = async (runId: string, statuses: RunRecord['status'][]) => {
    let run: RunRecord | undefined;
    await pump(async () => Boolean((run = await rollouts.getRun(runId)) && statuses.includes(run.status)), 150_000);
    return run!;
  };
  const startRun = async (version: string) => {
    await configure(version);
    const out = await nightly({ id: `demo-nightly-${randomBytes(4).toString('hex')}`, 'detail-type': 'Scheduled Event', source: 'aws.events' }, lambdaContext('nightly', 60_000));
    log(`  nightly started ${out.runId}: ${out.rings.map((r: { name: string; clusters: number }) => `${r.name} (${r.clusters})`).join(', ')} -> ${version}`);
    return out.runId as string;
  };
  const image = (ref: string) => sandbox.kubeClusterFor(ref)?.get('apps/v1', 'DaemonSet', 'qualys-sensor', 'qualys-container-sensor')?.spec.template.spec.containers[0].image;
  const show = async (runId: string) => {
    const run = (await rollouts.getRun(runId))!;
    runs.push({ runId, status: run.status, targetVersion: run.targetVersion, ...(run.halt ? { halt: run.halt.reason } : {}) });
    for (const line of renderRun(run, await rollouts.listResults(runId)).split('\n')) log(`    ${line}`);
    const written = { runId, status: run.status, json: join(reportsDir, 'runs', runId, `${run.status}.json`), html: join(reportsDir, 'runs', runId, `${run.status}.html`) };
    const there = existsSync(written.json) && existsSync(written.html);
    if (there) reports.push(written);
    check(`the ${run.status} run's report was written`, there, there ? written.html : `missing ${written.html}`);
  };

  try {
    log(`\n== rollout: three EKS clusters in ${region}; nightly runs roll sensor versions out ring by ring (Step Functions in the sandbox)`);
    const canary = (await sandbox.fleet.createEksCluster({ name: 'demo-canary', region, nodes: [{ name: 'canary-1' }, { name: 'canary-2' }] })).ref;
    const web = (await sandbox.fleet.createEksCluster({ name: 'demo-web', region, nodes: [{ name: 'dweb-1' }, { name: 'dweb-2' }] })).ref;
    const data = (await sandbox.fleet.createEksCluster({ name: 'demo-data', region, nodes: [{ name: 'ddata-1' }] })).ref;

    log(`\n-- run 1: every cluster gets ${V1}; the fleet baseline is recorded`);
    const first = await startRun(V1);
    check('first run succeeded', (await runUntil(first, ['succeeded', 'halted', 'failed'])).status === 'succeeded', `${first}`);

    log(`\n-- run 2: ${V2} through two rings with the gate; a node event for demo-web while the canary rolls out`);
    const second = await startRun(V2);
    await sandbox.fleet.addEksNodes(web, [{ name: 'dweb-3' }]);
    const since = new Date().toISOString();
    await onAwsEvent(eksUpdateNodegroupConfig({ account: sandbox.aws.accountId, region }, 'demo-web', 'default', 3), lambdaContext('on-aws-event', 30_000));
    const byEvent = async () => (await store.listReconciles(web, 20)).find((r) => r.trigger.kind === 'nodes-changed' && r.startedAt >= since && r.outcome !== 'applying');
    await pump(async () => Boolean(await byEvent()), 60_000);
    const event = (await byEvent())!;
    check('the node event did not jump the ring', event.version?.desired === V1 && image(web) === `${IMAGE}:${V1}`, `demo-web reconciled for nodes-changed at ${event.version?.desired} (${event.version?.reason}); ${event.message}`);
    const r2 = await runUntil(second, ['succeeded', 'halted', 'failed']);
    await show(second);
    const gate = r2.history.find((h) => /ring 0 \(canary\) passed its gate/.test(h.event));
    const ring1 = await rollouts.getRelease(web);
    check('two rings, the second released after the canary passed its gate', r2.status === 'succeeded' && Boolean(gate) && Boolean(ring1 && gate && ring1.releasedAt >= gate.at), `${r2.status}; ${gate?.event ?? 'no gate'}`);
    check(`every cluster runs ${V2}`, [canary, web, data].every((c) => image(c) === `${IMAGE}:${V2}`), [canary, web, data].map((c) => `${c.split(':')[3]} ${image(c)}`).join(', '));

    log(`\n-- run 3: ${V3}, whose sensor crash-loops on the canary: the ring fails its gate, the run halts`);
    const kube = sandbox.kubeClusterFor(canary)!;
    kube.options.crashingImages = new Set([`${IMAGE}:${V3}`]);
    const third = await startRun(V3);
    const halted = await runUntil(third, ['halted', 'succeeded', 'failed']);
    await show(third);
    check('the failed ring halted the run with the reason', halted.status === 'halted' && /restarted \d+ times/.test(halted.halt?.reason ?? ''), halted.halt?.reason ?? halted.status);
    check('the later ring kept its version', [web, data].every((c) => image(c) === `${IMAGE}:${V2}`), [web, data].map((c) => `${c.split(':')[3]} ${image(c)}`).join(', '));

    log('\n-- the crash is fixed; on-call restarts the canary sensor; sensorfleet rollout resume');
    kube.options.crashingImages = new Set();
    const restart = { id: `demo-restart-${randomBytes(4).toString('hex')}`, time: new Date().toISOString(), kind: 'redeploy-requested' as const, cluster: canary, source: 'sensorfleet.redeploy', detail: { action: 'restart', reason: 'DEMO-1 crash loop fixed', requestedBy: 'oncall' } };
    const { enqueueClusterEvents } = await import('../../shared/queue/work-queue');
    await enqueueClusterEvents(work.url, [restart]);
    await pump(async () => (await store.listReconciles(canary, 20)).some((r) => r.trigger.eventId === restart.id && r.outcome === 'converged'), 60_000);
    await answerHalt(rollouts, third, 'resume', 'demo');
    const resumed = await runUntil(third, ['succeeded', 'halted', 'failed']);
    await show(third);
    check('resumed: the ring ran again and the run finished', resumed.status === 'succeeded' && [canary, web, data].every((c) => image(c) === `${IMAGE}:${V3}`), `${resumed.status}; ${[canary, web, data].map((c) => `${c.split(':')[3]} ${image(c)}`).join(', ')}`);
    check('no invocation ran longer than 60 s', longest < 60_000, `longest worker invocation ${Math.round(longest)} ms`);
  } finally {
    for (const k of ENV) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
    sqs.destroy();
  }
  return { ok: checks.length > 0 && checks.every((c) => c.ok), checks, runs, reports, longestInvocationMs: Math.round(longest), durationMs: Date.now() - t0 };
}

const bundles = new Map<string, Promise<FunctionBundle>>();

/**
 * The bundled handler as a new module instance (it reads its configuration once, at first use): built
 * once per process, copied to a new directory for each instance (a build takes seconds, a copy none).
 */
async function freshBundledHandler<T = any>(entry: string): Promise<T> {
  if (!bundles.has(entry)) bundles.set(entry, bundleFunction(entry, mkdtempSync(join(tmpdir(), 'sensorfleet-bundle-'))));
  const bundle = await bundles.get(entry)!;
  const copy = mkdtempSync(join(tmpdir(), 'sensorfleet-bundle-'));
  cpSync(bundle.root, copy, { recursive: true });
  return ((await import(pathToFileURL(join(copy, bundle.entry)).href)) as { handler: T }).handler;
}
