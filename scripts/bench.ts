/**
 * `npm run bench`: prints the DESIGN §7 budget figures (benchmarks, not timed tests).
 *  1. each function bundle as `serverless package` builds it: the entry, what a cold start loads
 *     (entry + static chunks), every chunk with its size and contents, and the cold import time
 *  2. requests for an in-sync EKS, ECS, AKS and GKE cluster (reads, writes, by operation)
 *  3. the first AKS and the first GKE connect in a fresh process (import of the cloud's chunk,
 *     credential + cluster read, first Kubernetes request)
 *  4. nightly plan over N sandbox clusters (default 1,000; half ECS, half EKS in 16 regions) with realistic node
 *     counts, 1 % drifted, built in bulk (test/sandbox/bulk-fleet.ts): the planner's wall time, CPU, memory, outcomes
 *  5. fan-out simulation (scripts/bench-fanout.ts, its own process): 10,000 clusters through the real
 *     handlers and the state machine read from serverless.yml, against rate-limited stand-ins on a virtual clock
 * Usage: node bin/run-ts.mjs scripts/bench.ts [--clusters N] [--skip-fleet] [--fanout-clusters N] [--skip-fanout] [--only-fanout] [--enforce-limits] [--json]
 * With --json, stdout carries one JSON document ({nightlyPlan, fanOut}); the human figures go to stderr.
 */
import { execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { promisify } from 'node:util';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { parseConfig } from '../shared/config/load';
import { parseClusterRef } from '../shared/domain/cluster-ref';
import { buildEngine } from '../shared/engine/build';
import { reconcileCluster } from '../shared/engine/reconcile';
import { buildBulkFleet, bulkMotoEnv, type BulkClusterSpec, type BulkDrift } from '../test/sandbox/bulk-fleet';
import { resetAwsClients } from '../shared/platforms/aws/clients';
import { CallCounter, countCalls } from '../shared/runtime/call-log';
import { startAzureSandbox } from '../test/sandbox/azure/index';
import { startGcpSandbox } from '../test/sandbox/gcp/index';
import { startSandbox, type Sandbox } from '../test/sandbox/index';
import { sandboxCa } from '../test/sandbox/kube/tls';
import { bundleFunction, staticClosure, type OutputFile } from '../test/support/bundle';
import type { FirstConnectResult } from './bench-first-connect';

const { values } = parseArgs({
  options: {
    clusters: { type: 'string', default: '1000' },
    'skip-fleet': { type: 'boolean', default: false },
    'fanout-clusters': { type: 'string', default: '10000' },
    'skip-fanout': { type: 'boolean', default: false },
    'only-fanout': { type: 'boolean', default: false },
    'enforce-limits': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
/** The one JSON document of --json (figures are added as each part finishes). */
const results: Record<string, unknown> = {};
// with --json the human figures go to stderr, so stdout holds the document alone
if (values.json) console.log = console.error;
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';

/**
 * The Azure/Google SDKs reach the sandbox's HTTPS stand-ins only if the process trusts the sandbox CA,
 * which Node reads from NODE_EXTRA_CA_CERTS at start: run the bench again, once, with it set.
 * (bin/run-ts.mjs rewrites process.argv, so the re-run names it again.)
 */
function trustSandboxCa(): void {
  const file = sandboxCa().file;
  if (process.env.NODE_EXTRA_CA_CERTS === file) return;
  const r = spawnSync(process.execPath, [...process.execArgv, 'bin/run-ts.mjs', ...process.argv.slice(1)], { stdio: 'inherit', env: { ...process.env, NODE_EXTRA_CA_CERTS: file } });
  process.exit(r.status ?? 1);
}

const ROLLOUT = { deadlineSeconds: 60, pollSeconds: 0.2, concurrency: 16 };

async function main(): Promise<void> {
  if (values['only-fanout']) {
    results.fanOut = await fanOut(Number(values['fanout-clusters']));
    if (values.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
    return;
  }
  trustSandboxCa();
  await bundles();
  // its own moto, set up to hold the nightly plan's bulk fleet (test/sandbox/bulk-fleet.ts)
  const sandbox = await startSandbox({ motoEnv: bulkMotoEnv() });
  const restore = sandbox.useAwsEnv();
  try {
    resetAwsClients();
    await sandbox.fleet.putActivationSecret();
    const aws = { accountId: sandbox.aws.accountId, regions: [sandbox.aws.region] };
    const config = parseConfig({ targets: { aws: [aws] }, rollout: ROLLOUT });
    const clouds = await cloudFixtures(sandbox);
    try {
      await firstConnects(clouds.fixtures, aws);
      await inSync(sandbox, config, clouds.fixtures, aws);
    } finally {
      await clouds.stop();
    }
    if (!values['skip-fleet']) await nightlyPlan(sandbox, Number(values.clusters));
  } finally {
    restore();
    await sandbox.stop();
  }
  if (!values['skip-fanout']) results.fanOut = await fanOut(Number(values['fanout-clusters']));
  if (values.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
}

/**
 * The fan-out simulation in its own process: scripts/bench-fanout.ts bundled as the functions are
 * (esbuild, ESM, code-split), run by plain node, so the handlers' import() calls load chunks as they
 * do in Lambda (no TypeScript loader thread between them and the virtual clock).
 */
async function fanOut(clusters: number): Promise<unknown> {
  console.log(`\n# fan-out simulation: ${clusters} clusters, real handlers and state machine, stand-ins on a virtual clock`);
  const bundle = await bundleFunction('scripts/bench-fanout.ts', mkdtempSync(join(tmpdir(), 'sensorfleet-fanout-')));
  // stderr (progress) passes through; stdout carries the one JSON line
  const child = spawn(process.execPath, ['--expose-gc', '--max-old-space-size=4096', bundle.entryFile, '--clusters', String(clusters), ...(values['enforce-limits'] ? ['--enforce-limits'] : [])], {
    env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', NODE_NO_WARNINGS: '1' },
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 18 * 60_000,
  });
  let stdout = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`fan-out simulation exited with ${code}`);
  const r = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
  console.log(JSON.stringify(r, null, 2));
  const platforms = (r.platforms ?? {}) as Record<string, { clusters: number; inSync: number; converged: number; drifted: number }>;
  for (const [p, s] of Object.entries(platforms)) console.log(`  ${p}: ${s.clusters} clusters, ${s.inSync} in sync, ${s.converged} converged (${s.drifted} drifted)`);
  const budgets = (r.budgets ?? {}) as Record<string, { pass?: boolean }>;
  console.log(`  budgets: ${Object.entries(budgets).map(([k, v]) => `${k} ${v.pass ? 'pass' : 'FAIL'}`).join(', ')}`);
  return r;
}

/** A ready AKS or GKE cluster in the sandbox and the config targets that reach it. */
interface CloudFixture {
  platform: 'azure-aks' | 'gcp-gke';
  ref: string;
  /** `targets.azure` or `targets.gcp` (endpoints pointing at the sandbox's stand-ins). */
  targets: { azure?: unknown[]; gcp?: unknown[] };
}

/**
 * AKS and GKE clusters in the sandbox for the first-connect and in-sync figures: per cloud, one ready
 * cluster with 3 nodes and the targets config that reaches its stand-ins (an Entra-integrated AKS
 * cluster; a GKE Standard cluster), through the secretless federation path.
 * The Azure and GCP stand-ins are started here until startSandbox() starts them (then use sandbox's).
 */
async function cloudFixtures(sandbox: Sandbox): Promise<{ fixtures: CloudFixture[]; stop(): Promise<void> }> {
  const deps = { kube: sandbox.kube, front: sandbox.front, sensors: sandbox.sensors };
  const gcp = await startGcpSandbox({ ...deps, awsAccountId: sandbox.aws.accountId });
  const azure = await startAzureSandbox(deps);
  const projectId = 'bench-gke-project';
  const gke = await gcp.fleet.createGkeCluster({ projectId, projectNumber: '310254880341', location: 'europe-west1', name: 'bench-gke', nodePools: [{ name: 'default-pool', nodeCount: 3 }] });
  // Entra's federated credential trusts the subject of the caller's web identity token: this process's identity
  const sts = new STSClient({ endpoint: sandbox.aws.endpoint, region: sandbox.aws.region, credentials: sandbox.aws.credentials });
  const caller = await sts.send(new GetCallerIdentityCommand({}));
  sts.destroy();
  const app = azure.registerApp({ awsAccount: sandbox.aws.accountId, subject: caller.Arn! });
  const aks = await azure.fleet.createAksCluster({ resourceGroup: 'bench-rg', name: 'bench-aks', mode: 'entra', nodePools: [{ name: 'system', count: 3 }] });
  return {
    fixtures: [
      { platform: 'azure-aks', ref: aks.ref, targets: { azure: [azure.targetConfig(app)] } },
      { platform: 'gcp-gke', ref: gke.ref, targets: { gcp: [gcp.target(projectId)] } },
    ],
    stop: async () => {
      await gcp.stop();
      await azure.stop();
    },
  };
}

function cloudConfig(fixture: CloudFixture, aws: unknown): ReturnType<typeof parseConfig> {
  return parseConfig({ targets: { aws: [aws], ...fixture.targets }, rollout: ROLLOUT });
}

/** Each cloud's first connect in a fresh node process running the bundled scripts/bench-first-connect.ts. */
async function firstConnects(clouds: CloudFixture[], aws: unknown): Promise<void> {
  console.log('\n# first connect in a fresh process (bundled; import of the cloud chunk + credential + cluster read + first Kubernetes request)');
  const bundle = await bundleFunction('scripts/bench-first-connect.ts', mkdtempSync(join(tmpdir(), 'sensorfleet-first-connect-')));
  for (const fixture of clouds) {
    const input = JSON.stringify({ platform: fixture.platform, ref: fixture.ref, config: cloudConfig(fixture, aws) });
    let r: FirstConnectResult;
    try {
      // asynchronous: this process serves the sandbox the child calls
      const { stdout } = await promisify(execFile)(process.execPath, [bundle.entryFile, input], {
        env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'SILENT', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
        maxBuffer: 16 * 2 ** 20,
        timeout: 120_000,
      });
      r = JSON.parse(stdout.trim().split('\n').at(-1)!) as FirstConnectResult;
    } catch (err) {
      console.log(`${fixture.ref}: first connect FAILED: ${((err as { stderr?: string }).stderr ?? String(err)).trim().split('\n').at(-1)}`);
      continue;
    }
    const requests = Object.entries(r.requests).map(([op, n]) => `${n} x ${op}`).join(', ');
    console.log(
      `${fixture.ref}: first connect ${r.firstConnectMs.toFixed(0)} ms = import() of the chunk ${r.importMs.toFixed(0)} ms + connect ${r.connectMs.toFixed(0)} ms + first Kubernetes request ${r.kubeMs.toFixed(0)} ms; second connect ${r.secondConnectMs.toFixed(0)} ms; requests: ${requests}`,
    );
  }
}

async function inSync(sandbox: Sandbox, awsConfig: ReturnType<typeof parseConfig>, clouds: CloudFixture[], aws: unknown): Promise<void> {
  console.log('\n# in-sync cluster: requests of a reconcile that finds nothing to change');
  const eks = await sandbox.fleet.createEksCluster({ name: 'bench-eks', nodes: [{ name: 'b1' }, { name: 'b2' }, { name: 'b3' }] });
  const ecs = await sandbox.fleet.createEcsCluster({ name: 'bench-ecs', instances: 3 });
  const targets = [eks, ecs].map(({ ref }) => ({ ref, config: awsConfig })).concat(clouds.map((c) => ({ ref: c.ref, config: cloudConfig(c, aws) })));
  for (const { ref, config } of targets) {
    const cluster = parseClusterRef(ref);
    const deps = await buildEngine(config, [cluster], { store: false });
    const first = await reconcileCluster(cluster, deps, { trigger: { kind: 'reconcile-requested', source: 'bench' } });
    const counter = new CallCounter();
    const second = await countCalls(counter, () => reconcileCluster(cluster, deps, { trigger: { kind: 'reconcile-requested', source: 'bench' } }));
    console.log(`${ref}: first reconcile ${first.outcome} (${first.changed.writes} writes); in-sync reconcile ${second.outcome}: ${counter.calls.length} requests, ${counter.reads} reads, ${counter.writes} writes`);
    for (const [op, n] of Object.entries(counter.byOperation())) console.log(`    ${n} x ${op}`);
  }
}

/**
 * Nodes of the i-th bench cluster: tens for most (10-50), a few hundred for one in a hundred, as fleets
 * are (a deterministic spread, so runs compare).
 */
function benchNodeCount(i: number): number {
  const h = (Math.imul(i + 1, 2654435761) >>> 0) % 1000;
  return i % 100 === 37 ? 150 + (h % 251) : 10 + (h % 41);
}

/**
 * 1 % of the bench fleet drifted, deterministically: every 200th ECS cluster has its service's
 * minimumHealthyPercent set to 0, every 200th EKS cluster had its sensor DaemonSet edited (memory limit)
 * or deleted by hand, alternately.
 */
function benchDrift(i: number): BulkDrift | undefined {
  if (i % 200 === 50) return 'ecs-minimum-healthy-zero';
  if (i % 200 === 151) return i % 400 === 151 ? 'eks-memory-edited' : 'eks-daemonset-deleted';
  return undefined;
}

/**
 * The bench fleet's regions: fleets span regions, and moto's EC2 and ECS scan a region's whole inventory on
 * every RunInstances, RegisterContainerInstance and ListTasks, so one region of 16,000 instances would make
 * the sandbox quadratic.
 */
const FLEET_REGIONS = ['us-east-2', 'us-west-1', 'us-west-2', 'ca-central-1', 'eu-west-1', 'eu-west-2', 'eu-west-3', 'eu-central-1', 'eu-north-1', 'eu-south-1', 'ap-south-1', 'ap-northeast-1', 'ap-northeast-2', 'ap-southeast-1', 'ap-southeast-2', 'sa-east-1'];

async function nightlyPlan(sandbox: Awaited<ReturnType<typeof startSandbox>>, n: number): Promise<void> {
  const specs: BulkClusterSpec[] = Array.from({ length: n }, (_, i) => {
    const drift = benchDrift(i);
    const region = FLEET_REGIONS[Math.floor(i / 2) % FLEET_REGIONS.length]!;
    return { platform: i % 2 === 0 ? 'aws-ecs' : 'aws-eks', name: `fleet-${String(i).padStart(4, '0')}`, region, nodes: benchNodeCount(i), ...(drift ? { drift } : {}) };
  });
  const regions = [...new Set(specs.map((s) => s.region!))];
  const config = parseConfig({ targets: { aws: [{ accountId: sandbox.aws.accountId, regions }] }, rollout: ROLLOUT });
  const counts = specs.map((s) => s.nodes);
  const nodes = counts.reduce((a, b) => a + b, 0);
  console.log(`\n# nightly plan over ${n} sandbox clusters (half ECS, half EKS, in ${regions.length} regions; each enrolled), ${nodes} nodes: ${Math.min(...counts)}-${Math.max(...counts)} per cluster, ${counts.filter((c) => c >= 100).length} with hundreds`);
  // one cluster per platform enrolled through the product, the rest copies of that enrollment (test/sandbox/bulk-fleet.ts)
  const fleet = await buildBulkFleet(sandbox, config, specs, { onProgress: (line) => console.log(`setup: ${line}`) });
  const sandboxRssMb = Math.round(process.memoryUsage().rss / 2 ** 20);
  console.log(`setup (enroll templates, create + copy, drift ${fleet.drifted.length} clusters, settle) took ${fleet.seconds.total} s: ${JSON.stringify(fleet.seconds)}; the sandbox's process holds ${sandboxRssMb} MB`);
  // the plan runs in its own process: its time and memory are the product's, not the sandbox's
  const list = join(mkdtempSync(join(tmpdir(), 'sensorfleet-plan-')), 'clusters.txt');
  writeFileSync(list, fleet.refs.join('\n'));
  for (const c of process.env.BENCH_COMPARE?.split(',') ?? []) console.log(`concurrency ${c}: ${JSON.stringify(await planInChild(list, config, c))}`);
  const r = await planInChild(list, config);
  const changed = new Set(r.changedClusters);
  const drifted = fleet.drifted.map((d) => d.ref);
  const found = drifted.filter((ref) => changed.has(ref)).length;
  const unexpected = r.changedClusters.filter((ref) => !drifted.includes(ref));
  console.log(`plan: ${r.seconds.toFixed(2)} s wall for ${n} clusters, ${nodes} nodes (wall time includes the sandbox — moto_server, the AWS front, the Kubernetes stand-in — answering on the same 2 cores); the planning process used ${r.cpuSeconds.toFixed(1)} s of CPU (${((r.cpuSeconds * 1000) / n).toFixed(1)} per 1,000 clusters)`);
  console.log(`plan: ${r.requests} requests (${r.writes} writes), outcomes ${JSON.stringify(r.outcomes)}; drift found in ${found}/${drifted.length} drifted clusters${unexpected.length ? `; UNEXPECTED changes planned for ${unexpected.join(', ')}` : ''}`);
  console.log(`memory of the planning process: rss ${r.rssStartMB.toFixed(0)} MB at start, ${r.rssPeakMB.toFixed(0)} MB peak`);
  results.nightlyPlan = {
    clusters: n,
    nodes,
    regions: regions.length,
    nodesPerCluster: { min: Math.min(...counts), max: Math.max(...counts), mean: Math.round(nodes / n), withHundreds: counts.filter((c) => c >= 100).length },
    seconds: round(r.seconds),
    peakRssMb: Math.round(r.rssPeakMB),
    cpuSeconds: round(r.cpuSeconds),
    cpuSecondsPer1000: round((r.cpuSeconds * 1000) / n),
    requests: r.requests,
    writes: r.writes,
    outcomes: r.outcomes,
    drift: { drifted: drifted.length, found, unexpected: unexpected.length, kinds: countBy(fleet.drifted.map((d) => d.drift)) },
    setupSeconds: fleet.seconds.total,
    setup: { ...fleet.seconds, sandboxRssMb },
    note:
      'dry-run plan (runFleet) over enrolled sandbox clusters, in its own child process; seconds is wall time and includes the sandbox (moto_server, the AWS front, the Kubernetes stand-in) answering on the same 2 cores; ' +
      'cpuSeconds is the planning process alone. setup (not in seconds): one ECS and one EKS cluster per region enrolled through the product, the others given a copy of what it applied (test/sandbox/bulk-fleet.ts), then 1 % drifted by hand',
  };
}

function countBy(xs: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
}

const round = (x: number) => Math.round(x * 100) / 100;

interface PlanResult {
  seconds: number;
  cpuSeconds: number;
  requests: number;
  writes: number;
  outcomes: Record<string, number>;
  /** Clusters the plan would change (outcome planned). */
  changedClusters: string[];
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
  console.log('# function bundles (as `serverless package` builds them: minified ESM entry + code-split chunks)');
  const root = mkdtempSync(join(tmpdir(), 'sensorfleet-bench-'));
  for (const file of readdirSync('functions').filter((f) => f.endsWith('.ts'))) {
    const bundle = await bundleFunction(join('functions', file), join(root, file.replace(/\.ts$/, '')));
    const cold = staticClosure(bundle);
    const lazy = [...bundle.files.values()].filter((f) => !cold.includes(f)).sort((a, b) => b.bytes - a.bytes);
    const total = (files: OutputFile[]) => kb(files.reduce((n, f) => n + f.bytes, 0));
    const ms = coldImportMs(bundle.entryFile);
    console.log(
      `${file.replace(/\.ts$/, '').padEnd(18)} entry ${kb(bundle.files.get(bundle.entry)!.bytes)}, cold start loads ${total(cold)} in ${cold.length} files, ` +
        `${lazy.length} lazy chunks ${total(lazy)}; cold import ${ms[2]!.toFixed(0)} ms (median of 5; min ${ms[0]!.toFixed(0)}, max ${ms[4]!.toFixed(0)})`,
    );
    for (const f of [...cold, ...lazy]) console.log(`    ${cold.includes(f) ? 'static' : 'lazy  '} ${kb(f.bytes).padStart(8)}  ${f.path.replace(/^functions\//, '').padEnd(48)} ${chunkContents(f)}`);
    for (const f of lazy.filter((c) => c.entryPoint && CLOUD_HALVES.includes(c.entryPoint))) {
      const chunkMs = coldImportMs(join(bundle.root, f.path), bundle.entryFile);
      console.log(`    import() of ${f.entryPoint} (${kb(f.bytes)}) after the entry, in a fresh process: ${chunkMs[2]!.toFixed(0)} ms (median of 5; min ${chunkMs[0]!.toFixed(0)}, max ${chunkMs[4]!.toFixed(0)})`);
    }
  }
}

/** The modules shared/engine/build.ts loads with import() for AKS and GKE clusters. */
const CLOUD_HALVES = ['shared/platforms/aks/adapter.ts', 'shared/platforms/gke/adapter.ts'];

const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`;

/** What a chunk holds: the module it answers an import() for, and its largest packages by bytes. */
function chunkContents(f: OutputFile): string {
  const byPackage = new Map<string, number>();
  for (const [input, bytes] of Object.entries(f.inputs)) {
    const owner = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1] ?? 'sensorfleet';
    byPackage.set(owner, (byPackage.get(owner) ?? 0) + bytes);
  }
  const sum = [...byPackage.values()].reduce((a, b) => a + b, 0) || 1;
  const top = [...byPackage.entries()].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([p, n]) => `${p} ${Math.round((100 * n) / sum)}%`);
  return `${f.entryPoint && f.path.includes('.chunks/') ? `import() of ${f.entryPoint}; ` : ''}${top.join(', ')}`;
}

/**
 * Import time of `file` in 5 fresh node processes, sorted (one sample is at the mercy of whatever else
 * the machine does). With `after`, that bundle is imported first, untimed: a chunk's own cost.
 */
function coldImportMs(file: string, after?: string): number[] {
  const first = after ? `await import(${JSON.stringify(pathToFileURL(after).href)}); ` : '';
  const script = `${first}const t=performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); console.log(performance.now()-t);`;
  return Array.from({ length: 5 }, () =>
    Number(
      execFileSync(process.execPath, ['--input-type=module', '-e', script], {
        env: { ...process.env, SENSORFLEET_CONFIG: '{}', AWS_REGION: 'us-east-1', POWERTOOLS_LOG_LEVEL: 'SILENT', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      }).toString(),
    ),
  ).sort((a, b) => a - b);
}

await main();
