/**
 * `npm run bench`: prints the DESIGN §7 budget figures (benchmarks, not timed tests).
 *  1. requests for an in-sync EKS cluster and an in-sync ECS cluster (reads, writes, by operation)
 *  2. nightly plan over N sandbox clusters (default 1,000): wall time and memory
 *  3. each function bundle's minified size and cold import time
 * Usage: node bin/run-ts.mjs scripts/bench.ts [--clusters N] [--skip-fleet]
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseConfig } from '../shared/config/load';
import { parseClusterRef } from '../shared/domain/cluster-ref';
import { buildEngine } from '../shared/engine/build';
import { reconcileCluster } from '../shared/engine/reconcile';
import { runFleet } from '../shared/engine/run-fleet';
import { resetAwsClients } from '../shared/platforms/aws/clients';
import { CallCounter, countCalls } from '../shared/runtime/call-log';
import { startSandbox } from '../test/sandbox/index';
import { bundleHandler } from '../test/support/bundle';

const { values } = parseArgs({ options: { clusters: { type: 'string', default: '1000' }, 'skip-fleet': { type: 'boolean', default: false } } });
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';

async function main(): Promise<void> {
  await bundles();
  const sandbox = await startSandbox();
  const restore = sandbox.useAwsEnv();
  try {
    resetAwsClients();
    await sandbox.fleet.putActivationSecret();
    const config = parseConfig({
      targets: { aws: [{ accountId: sandbox.aws.accountId, regions: [sandbox.aws.region] }] },
      rollout: { deadlineSeconds: 60, pollSeconds: 0.2, concurrency: 16 },
    });
    await inSync(sandbox, config);
    if (!values['skip-fleet']) await nightlyPlan(sandbox, config, Number(values.clusters));
  } finally {
    restore();
    await sandbox.stop();
  }
}

async function inSync(sandbox: Awaited<ReturnType<typeof startSandbox>>, config: ReturnType<typeof parseConfig>): Promise<void> {
  console.log('\n# in-sync cluster: requests of a reconcile that finds nothing to change');
  const eks = await sandbox.fleet.createEksCluster({ name: 'bench-eks', nodes: [{ name: 'b1' }, { name: 'b2' }, { name: 'b3' }] });
  const ecs = await sandbox.fleet.createEcsCluster({ name: 'bench-ecs', instances: 3 });
  for (const { ref } of [eks, ecs]) {
    const cluster = parseClusterRef(ref);
    const deps = await buildEngine(config, [cluster], { store: false });
    const first = await reconcileCluster(cluster, deps, { trigger: { kind: 'reconcile-requested', source: 'bench' } });
    const counter = new CallCounter();
    const second = await countCalls(counter, () => reconcileCluster(cluster, deps, { trigger: { kind: 'reconcile-requested', source: 'bench' } }));
    console.log(`${ref}: first reconcile ${first.outcome} (${first.changed.writes} writes); in-sync reconcile ${second.outcome}: ${counter.calls.length} requests, ${counter.reads} reads, ${counter.writes} writes`);
    for (const [op, n] of Object.entries(counter.byOperation())) console.log(`    ${n} x ${op}`);
  }
}

async function nightlyPlan(sandbox: Awaited<ReturnType<typeof startSandbox>>, config: ReturnType<typeof parseConfig>, n: number): Promise<void> {
  console.log(`\n# nightly plan over ${n} sandbox clusters (half ECS, half EKS; each already enrolled)`);
  const t0 = Date.now();
  const refs = [];
  for (let i = 0; i < n; i++) {
    const name = `fleet-${String(i).padStart(4, '0')}`;
    refs.push(i % 2 === 0 ? (await sandbox.fleet.createEcsCluster({ name, instances: 2 })).ref : (await sandbox.fleet.createEksCluster({ name, nodes: [{ name: `${name}-a` }, { name: `${name}-b` }] })).ref);
  }
  const clusters = refs.map(parseClusterRef);
  const deps = await buildEngine(config, clusters, { store: false });
  await runFleet(deps, { clusters, forceRun: true, trigger: { kind: 'reconcile-requested', source: 'bench-setup' } });
  console.log(`setup (create + enroll) took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  // the plan runs in its own process: its time and memory are the product's, not the sandbox's
  const list = join(mkdtempSync(join(tmpdir(), 'sensorfleet-plan-')), 'clusters.txt');
  writeFileSync(list, refs.join('\n'));
  for (const c of process.env.BENCH_COMPARE?.split(',') ?? []) console.log(`concurrency ${c}: ${JSON.stringify(await planInChild(list, config, c))}`);
  const r = await planInChild(list, config);
  console.log(`plan: ${r.seconds.toFixed(2)} s for ${n} clusters (the planning process used ${r.cpuSeconds.toFixed(1)} s of CPU; the rest of the 2 cores serve the sandbox), ${r.requests} requests (${r.writes} writes), outcomes ${JSON.stringify(r.outcomes)}`);
  console.log(`memory of the planning process: rss ${r.rssStartMB.toFixed(0)} MB at start, ${r.rssPeakMB.toFixed(0)} MB peak`);
}

interface PlanResult {
  seconds: number;
  cpuSeconds: number;
  requests: number;
  writes: number;
  outcomes: Record<string, number>;
  rssStartMB: number;
  rssPeakMB: number;
}

/** Runs scripts/bench-plan.ts in a child process; asynchronous, because this process serves the sandbox the child calls. */
async function planInChild(list: string, config: ReturnType<typeof parseConfig>, concurrency?: string): Promise<PlanResult> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', 'bin/run-ts.mjs', 'scripts/bench-plan.ts', list], {
    env: { ...process.env, SENSORFLEET_CONFIG: JSON.stringify(config), POWERTOOLS_LOG_LEVEL: 'SILENT', ...(concurrency ? { BENCH_CONCURRENCY: concurrency } : {}) },
    maxBuffer: 16 * 2 ** 20,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as PlanResult;
}

async function bundles(): Promise<void> {
  console.log('# function bundles (esbuild, minified ESM, as serverless.yml packages them)');
  const dir = mkdtempSync(join(tmpdir(), 'sensorfleet-bench-'));
  for (const file of readdirSync('functions').filter((f) => f.endsWith('.ts'))) {
    const outfile = join(dir, file.replace(/\.ts$/, '.mjs'));
    await bundleHandler(join('functions', file), outfile);
    // median of 5 fresh node processes: one sample is at the mercy of whatever else the machine does
    const samples = Array.from({ length: 5 }, () =>
      Number(
        execFileSync(
          process.execPath,
          ['--input-type=module', '-e', `const t=performance.now(); await import(${JSON.stringify(outfile)}); console.log((performance.now()-t).toFixed(0));`],
          { env: { ...process.env, SENSORFLEET_CONFIG: '{}', AWS_REGION: 'us-east-1', POWERTOOLS_LOG_LEVEL: 'SILENT' } },
        ).toString(),
      ),
    ).sort((a, b) => a - b);
    const cold = `${samples[2]} (min ${samples[0]}, max ${samples[4]})`;
    console.log(`${file.replace(/\.ts$/, '').padEnd(18)} ${(statSync(outfile).size / 1024).toFixed(0).padStart(5)} KB minified, cold import ${cold} ms`);
  }
}

await main();
