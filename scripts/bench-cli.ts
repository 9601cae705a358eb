/**
 * CLI start-up and `plan` as whole processes, side by side with kubectl (issue 10):
 *   - `sensorfleet --help` (bundle in dist/ and the tsx fallback);
 *   - `sensorfleet plan --cluster REF` of one sandbox EKS cluster (bundle and tsx);
 *   - `kubectl diff --server-side` of the same objects against the same sandbox API server.
 * Both are measured on an enrolled cluster: in sync, and with a new sensor version to roll out (kubectl
 * cannot diff a cluster that has no namespace yet: a dry-run create in a missing namespace is a 404).
 * The commands run round-robin, N rounds after one warm-up round (kubectl's discovery cache is warm
 * then); each figure is a median. The CLI measured is a copy of the checkout built as `npm install`
 * builds it, so edits made meanwhile (after which the launcher runs the sources) change nothing.
 * With GNU time installed, each process runs under /usr/bin/time (the same ~1 ms for every case) and
 * each line also gives its median CPU time (user + system): on a shared machine the load moves wall
 * times far more than CPU times. The load average is printed at the start and the end.
 * Usage: npm run bench:cli -- [--runs N] [--nodes N] [--skip-tsx]
 *   --skip-tsx: leave out the tsx (sources) cases, which take most of the bench's time.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { stringify } from 'yaml';
import { parseConfig } from '../shared/config/load';
import { parseClusterRef } from '../shared/domain/cluster-ref';
import { buildEngine } from '../shared/engine/build';
import { runFleet } from '../shared/engine/run-fleet';
import { resetAwsClients } from '../shared/platforms/aws/clients';
import { eksBearerToken } from '../shared/platforms/eks/token';
import { buildSensorObjects } from '../shared/platforms/kubernetes/manifests';
import { startSandbox } from '../test/sandbox/index';
import { sandboxCa } from '../test/sandbox/kube/tls';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '15' }, nodes: { type: 'string', default: '3' }, 'skip-tsx': { type: 'boolean', default: false } } });
const RUNS = Number(values.runs);
const run = promisify(execFile);
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';

interface Timing {
  median: number;
  min: number;
  max: number;
  code: number;
}

interface Case {
  label: string;
  cmd: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** Runs before each run, outside the timing (kubectl: a fresh token). */
  prepare?: () => Promise<void>;
}

/** GNU time, when installed, reports each process's CPU time (user + system, 10 ms steps) on its last stderr line. */
const GNU_TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
const CPU_LINE = /sfcpu ([\d.]+) ([\d.]+)\s*$/;

/** One process: wall time in ms, CPU time in ms (when GNU time is there), and its exit code (kubectl diff exits 1 when there are differences). */
async function timeOnce(c: Case): Promise<{ ms: number; cpuMs?: number; code: number }> {
  await c.prepare?.();
  const [cmd, args] = GNU_TIME ? [GNU_TIME, ['-f', 'sfcpu %U %S', c.cmd, ...c.args]] : [c.cmd, c.args];
  const cpuOf = (stderr: string | undefined) => {
    const m = CPU_LINE.exec(stderr ?? '');
    return m ? { cpuMs: (Number(m[1]) + Number(m[2])) * 1000 } : {};
  };
  const t0 = performance.now();
  try {
    const r = await run(cmd, args, { env: c.env, encoding: 'utf8', maxBuffer: 16 * 2 ** 20 });
    return { ms: performance.now() - t0, code: 0, ...cpuOf(r.stderr) };
  } catch (err) {
    const ms = performance.now() - t0;
    const e = err as { code?: unknown; stderr?: string };
    if (typeof e.code !== 'number' || e.code > 1) throw new Error(`${c.label}: ${c.cmd} ${c.args.join(' ')} exited ${String(e.code)}: ${e.stderr}`);
    return { ms, code: e.code, ...cpuOf(e.stderr) };
  }
}

/**
 * Runs the cases round-robin (so a busy moment of the machine hits all of them alike), one warm-up
 * round first (kubectl's discovery cache is warm after it), and prints each median.
 */
async function compare(cases: Case[]): Promise<Map<string, Timing>> {
  const samples = new Map(cases.map((c) => [c.label, [] as number[]]));
  const cpu = new Map(cases.map((c) => [c.label, [] as number[]]));
  const codes = new Map<string, number>();
  for (let round = 0; round <= RUNS; round++) {
    for (const c of cases) {
      const r = await timeOnce(c);
      codes.set(c.label, r.code);
      if (round > 0) samples.get(c.label)!.push(r.ms);
      if (round > 0 && r.cpuMs !== undefined) cpu.get(c.label)!.push(r.cpuMs);
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const out = new Map<string, Timing>();
  for (const c of cases) {
    const s = samples.get(c.label)!.sort((a, b) => a - b);
    const t = { median: median(s), min: s[0]!, max: s[s.length - 1]!, code: codes.get(c.label)! };
    out.set(c.label, t);
    const cpuMs = cpu.get(c.label)!;
    const cpuText = cpuMs.length ? `; CPU median ${median(cpuMs).toFixed(0)} ms` : '';
    console.log(`${c.label.padEnd(30)}median ${t.median.toFixed(0).padStart(4)} ms (min ${t.min.toFixed(0)}, max ${t.max.toFixed(0)}; exit ${t.code}${cpuText})`);
  }
  return out;
}

/**
 * A copy of the checkout with its own build (what `npm install` makes), so edits made meanwhile (the
 * launcher would then run the sources) do not change what is measured.
 */
async function snapshotCheckout(): Promise<string> {
  const root = mkdtempSync(join(tmpdir(), 'bench-cli-checkout-'));
  for (const d of ['bin', 'shared', 'functions']) cpSync(d, join(root, d), { recursive: true });
  for (const f of ['package.json', 'package-lock.json', 'tsconfig.json']) cpSync(f, join(root, f));
  for (const d of ['node_modules', 'test']) symlinkSync(join(process.cwd(), d), join(root, d));
  await run('node', [join(root, 'bin', 'build-cli.mjs'), '--quiet']);
  return root;
}

/** 1, 5 and 15 minutes: the machine may be shared, and its load moves every figure. */
function loadAverage(): string {
  return loadavg().map((l) => l.toFixed(2)).join(', ');
}

/** The tsx (sources) case, unless --skip-tsx. */
function tsx(c: Case): Case[] {
  return values['skip-tsx'] ? [] : [c];
}

/** What `sensorfleet --version` says it runs: the bundle, or the sources (when the bundle is missing or stale). */
async function whichBuild(cli: string, env: NodeJS.ProcessEnv): Promise<string> {
  const out = (await run('node', [cli, '--version'], { env, encoding: 'utf8' })).stdout.trim();
  return /\(bundle/.test(out) ? out : `${out}: NOT the bundle`;
}

async function main(): Promise<void> {
  const checkout = await snapshotCheckout();
  const sandbox = await startSandbox();
  const restore = sandbox.useAwsEnv();
  try {
    resetAwsClients();
    await sandbox.fleet.putActivationSecret();
    const nodes = Array.from({ length: Number(values.nodes) }, (_, i) => ({ name: `bench-cli-${i + 1}` }));
    const { ref } = await sandbox.fleet.createEksCluster({ name: 'bench-cli', nodes });
    const rawConfig = { targets: { aws: [{ accountId: sandbox.aws.accountId, regions: [sandbox.aws.region] }] }, rollout: { deadlineSeconds: 60, pollSeconds: 0.2 } };
    const config = parseConfig(rawConfig);
    const cluster = parseClusterRef(ref);
    const deps = await buildEngine(config, [cluster], { store: false });

    const enrolled = await runFleet(deps, { clusters: [cluster], trigger: { kind: 'reconcile-requested', source: 'bench-cli' } });
    if (enrolled.clusters[0]?.outcome !== 'converged') throw new Error(`enrolling ${ref}: ${enrolled.clusters[0]?.outcome} ${enrolled.clusters[0]?.message}`);

    const dir = mkdtempSync(join(tmpdir(), 'bench-cli-'));
    const kubeconfig = join(dir, 'kubeconfig');
    const kube = sandbox.kubeClusterFor(ref)!;
    const freshToken = async () => {
      const token = await eksBearerToken({ clusterName: cluster.name, region: cluster.location, credentials: sandbox.aws.credentials });
      writeFileSync(kubeconfig, kube.kubeconfig(token), { mode: 0o600 });
    };
    const env = { ...process.env, SENSORFLEET_CONFIG: JSON.stringify(rawConfig), NODE_EXTRA_CA_CERTS: sandboxCa().file, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
    const cli = [join(checkout, 'bin', 'sensorfleet.mjs')];
    const objectCount = buildSensorObjects(deps.desired).length;

    console.log(`# CLI vs kubectl, ${RUNS} runs each, round-robin, medians after one warm-up round; one sandbox EKS cluster with ${nodes.length} nodes, ${objectCount} objects`);
    console.log(`bundle: ${await whichBuild(cli[0]!, env)}`);
    console.log(`load average at the start: ${loadAverage()}`);
    await compare([
      { label: 'node -e 0 (Node start-up)', cmd: 'node', args: ['-e', '0'], env },
      { label: 'sensorfleet --help (bundle)', cmd: 'node', args: [...cli, '--help'], env },
      ...tsx({ label: 'sensorfleet --help (tsx)', cmd: 'node', args: [...cli, '--help'], env: { ...env, SENSORFLEET_CLI_SOURCE: '1' } }),
    ]);

    // kubectl diffs what the plan would apply: the same objects, built from the same desired state
    for (const [state, version] of [['enrolled, in sync: nothing to change', undefined], ['enrolled, a new sensor version to roll out', '1.35.0-0']] as const) {
      const want = version ? { ...deps.desired, config: { ...deps.desired.config, sensor: { ...deps.desired.config.sensor, version } } } : deps.desired;
      const objects = join(dir, `sensor-${version ?? 'current'}.yaml`);
      writeFileSync(objects, buildSensorObjects(want).map((o) => stringify(o)).join('---\n'), { mode: 0o600 });
      const runEnv = version ? { ...env, SENSORFLEET_SENSOR_VERSION: version } : env;
      const plan = [...cli, 'plan', '--cluster', ref, '--no-record'];
      console.log(`\n## ${state}`);
      const t = await compare([
        { label: 'sensorfleet plan (bundle)', cmd: 'node', args: plan, env: runEnv },
        { label: 'kubectl diff --server-side', cmd: 'kubectl', args: ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'kube-cache'), 'diff', '--server-side', '--field-manager', 'sensorfleet', '-f', objects], env, prepare: freshToken },
        ...tsx({ label: 'sensorfleet plan (tsx)', cmd: 'node', args: plan, env: { ...runEnv, SENSORFLEET_CLI_SOURCE: '1' } }),
      ]);
      const ratio = t.get('sensorfleet plan (bundle)')!.median / t.get('kubectl diff --server-side')!.median;
      console.log(`plan (bundle) / kubectl diff: ${ratio.toFixed(2)}`);
    }
    console.log(`\nbundle at the end: ${await whichBuild(cli[0]!, env)}`);
    console.log(`load average at the end: ${loadAverage()}`);
  } finally {
    restore();
    await sandbox.stop();
  }
}

await main();
