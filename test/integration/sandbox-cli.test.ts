import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';

/**
 * `sensorfleet sandbox` as a person uses it: started as a process, then used from "another shell" that
 * has nothing but the printed exports (PATH aside): the real kubectl through the kubeconfig's exec
 * credential plugin, the AWS CLI, and sensorfleet itself. Stopped with SIGINT, it exits 0 and leaves
 * no process behind (moto_server included).
 */
const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'sandbox-cli-'));
let sandbox: ChildProcess;
let stdout = '';
let stderr = '';
let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
let exports: Record<string, string> = {};
let env: NodeJS.ProcessEnv;
let refs: { web: string; data: string; ecs: string; aks: string; aksLocal: string; gke: string };

/** Reverses session.ts shellQuote: bare words, or '…' with '\'' for a quote. */
function parseExports(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/^\s*export ([A-Z_]+)=('(?:[^']|'\\'')*'|\S+)$/gm)) {
    const raw = m[2]!;
    out[m[1]!] = raw.startsWith("'") ? raw.slice(1, -1).replace(/'\\''/g, "'") : raw;
  }
  return out;
}

const sh = async (cmd: string, args: string[], timeout = 30_000) => {
  try {
    const r = await run(cmd, args, { env, cwd: dir, encoding: 'utf8', timeout });
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === 'number' ? x.code : -1, out: x.stdout ?? '', err: x.stderr ?? String(e) };
  }
};
const sensorfleet = (...args: string[]) => sh(process.execPath, [join(process.cwd(), 'bin', 'sensorfleet.mjs'), ...args], 45_000);
/** A README line as a person pastes it into a shell in the checkout (`npx sensorfleet` → this checkout's bin). */
const shellLine = async (line: string, timeout: number) => {
  try {
    const r = await run('bash', ['-c', line.replace(/^npx sensorfleet /, `"${process.execPath}" "${join(process.cwd(), 'bin', 'sensorfleet.mjs')}" `)], { env, cwd: process.cwd(), encoding: 'utf8', timeout });
    return { code: 0 as number | 'killed', out: r.stdout, err: r.stderr };
  } catch (e) {
    const x = e as { code?: number; killed?: boolean; stdout?: string; stderr?: string };
    return { code: x.killed ? ('killed' as const) : typeof x.code === 'number' ? x.code : -1, out: x.stdout ?? '', err: x.stderr ?? String(e) };
  }
};
/** Polls (a test may; a function may not) until `done` or the deadline. */
async function until<T>(what: string, probe: () => Promise<T>, done: (t: T) => boolean, ms = 120_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const t = await probe();
    if (done(t)) return t;
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms; last: ${JSON.stringify(t).slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
/** The commands of the README's "Using the sandbox by hand", terminal 2, in order: [line, expected exit]. */
function readmeSandboxCommands(): { line: string; exit: number; watches: boolean }[] {
  const readme = readFileSync('README.md', 'utf8');
  const start = readme.indexOf('## Using the sandbox by hand');
  const block = readme.slice(start).split('```bash\n')[1]!.split('```')[0]!;
  const terminal2 = block.slice(block.indexOf('# terminal 2'));
  return terminal2
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'))
    .map((l) => {
      const [command, comment = ''] = l.split(/\s+#\s/, 2) as [string, string?];
      return { line: command.trim(), exit: Number(/\(exit (\d)/.exec(comment)?.[1] ?? 0), watches: /\s-w(\s|$)/.test(command) };
    });
}
const kubectl = (...args: string[]) => sh('kubectl', args);
const aws = (...args: string[]) => sh('aws', [...args, '--output', 'json']);

/** The process and everything it started, by parent pid (moto_server runs in a process group of its own). */
async function processTree(root: number): Promise<{ pid: number; args: string }[]> {
  const { stdout: ps } = await run('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' });
  const children = new Map<number, { pid: number; args: string }[]>();
  const byPid = new Map<number, { pid: number; args: string }>();
  for (const line of ps.trim().split('\n')) {
    const m = /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line)!;
    const p = { pid: Number(m[1]), args: m[3]! };
    byPid.set(p.pid, p);
    children.set(Number(m[2]), [...(children.get(Number(m[2])) ?? []), p]);
  }
  const out: { pid: number; args: string }[] = [];
  const walk = (p: { pid: number; args: string }) => {
    out.push(p);
    for (const c of children.get(p.pid) ?? []) walk(c);
  };
  walk(byPid.get(root)!);
  return out;
}

/** Still running (a zombie is not): what `ps` reports, state aside. */
async function stillRunning(procs: { pid: number; args: string }[]): Promise<string[]> {
  const { stdout: ps } = await run('ps', ['-eo', 'pid=,stat=,args='], { encoding: 'utf8' });
  const live = new Map(ps.trim().split('\n').map((l) => /^\s*(\d+)\s+(\S+)\s+(.*)$/.exec(l)!).filter((m) => !m[2]!.startsWith('Z')).map((m) => [Number(m[1]), m[3]!]));
  return procs.filter((p) => live.get(p.pid) === p.args).map((p) => `${p.pid} ${p.args}`);
}

beforeAll(async () => {
  // nothing of this test process's AWS or CA settings: the sandbox must bring its own (and re-run itself trusting its CA)
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(AWS_|NODE_EXTRA_CA_CERTS|SENSORFLEET_|KUBECONFIG)/.test(k)));
  sandbox = spawn(process.execPath, ['bin/sensorfleet.mjs', 'sandbox', '--fleet', 'demo'], { env: { ...base, SENSORFLEET_SANDBOX_DIR: join(dir, 'session') }, stdio: ['ignore', 'pipe', 'pipe'] });
  exited = new Promise((resolve) => sandbox.once('exit', (code, signal) => resolve({ code, signal })));
  sandbox.stdout!.on('data', (d) => (stdout += d));
  sandbox.stderr!.on('data', (d) => (stderr += d));
  const t0 = Date.now();
  while (!stdout.includes('press Ctrl-C to stop')) {
    // it bundles the reconcile-worker and starts a second moto (Step Functions): generous on a loaded CI machine
    if (sandbox.exitCode !== null || Date.now() - t0 > 100_000) throw new Error(`sandbox did not start:\n${stdout}\n${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  exports = parseExports(stdout);
  // "another shell": the exports, a PATH to find kubectl/aws/node, and a HOME of its own (no ~/.aws, ~/.kube)
  env = { PATH: process.env.PATH, HOME: join(dir, 'home'), ...exports };
  const ref = (name: string) => new RegExp(`^\\s+((?:aws-eks|aws-ecs|azure-aks|gcp-gke):[a-z0-9-]+:[a-z0-9-]+:${name})\\s`, 'm').exec(stdout)![1]!;
  refs = { web: ref('web-eks'), data: ref('data-eks'), ecs: ref('payments-ecs'), aks: ref('payments-aks'), aksLocal: ref('legacy-aks'), gke: ref('web-gke') };
}, 120_000);

afterAll(async () => {
  if (!sandbox || sandbox.exitCode !== null || sandbox.signalCode !== null) return;
  // still running (a test before the SIGINT one failed, or was filtered out): stop it as Ctrl-C would, so it
  // stops its moto servers too; whatever of its tree is left after that is killed
  const tree = await processTree(sandbox.pid!);
  sandbox.kill('SIGINT');
  const stopped = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 20_000))]);
  for (const p of stopped ? [] : tree) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
}, 30_000);

describe('sensorfleet sandbox, used from another shell with only its exports', () => {
  it('prints exports the AWS CLI, kubectl and sensorfleet take as they are', () => {
    expect(Object.keys(exports)).toEqual(expect.arrayContaining(['AWS_ENDPOINT_URL', 'AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'KUBECONFIG', 'NODE_EXTRA_CA_CERTS', 'SENSORFLEET_CONFIG', 'SENSORFLEET_TABLE', 'SENSORFLEET_QUEUE_URL']));
    expect(exports.AWS_ENDPOINT_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(exports.AWS_DEFAULT_REGION).toBe(exports.AWS_REGION);
    const config = JSON.parse(exports.SENSORFLEET_CONFIG!);
    expect(config).toMatchObject({ targets: { aws: [{ accountId: expect.stringMatching(/^\d{12}$/), regions: [exports.AWS_REGION] }] }, state: { tableName: exports.SENSORFLEET_TABLE }, queue: { url: exports.SENSORFLEET_QUEUE_URL } });
    // the same exports as a file to source, and a kubeconfig whose users are exec plugins (no token written down)
    expect(parseExports(readFileSync(join(dir, 'session', 'env.sh'), 'utf8'))).toEqual(exports);
    const kc = YAML.parse(readFileSync(exports.KUBECONFIG!, 'utf8'));
    expect(kc.contexts.map((c: any) => c.name)).toEqual(['web-eks', 'data-eks', 'payments-aks', 'legacy-aks', 'web-gke', 'batch-autopilot']);
    expect(kc.users[0].user).toEqual({ exec: expect.objectContaining({ apiVersion: 'client.authentication.k8s.io/v1', args: expect.arrayContaining(['sandbox', 'token', '--cluster', refs.web]), interactiveMode: 'Never' }) });
    expect(JSON.stringify(kc.users)).not.toContain('k8s-aws-v1.');
  });

  it('kubectl reaches each seeded EKS cluster through the kubeconfig and its credential plugin', async () => {
    const nodes = await kubectl('get', 'nodes');
    expect(nodes.code, nodes.err).toBe(0);
    expect(nodes.out).toMatch(/^web-1\s+Ready\s/m);
    expect(nodes.out).toMatch(/^web-ingress-1\s+Ready\s/m);
    const data = await kubectl('--context', 'data-eks', 'get', 'nodes', '-L', 'kubernetes.io/arch');
    expect(data.out).toMatch(/^data-2\s+Ready\s.*arm64$/m);
    const token = await sensorfleet('sandbox', 'token', '--cluster', refs.web);
    expect(token.code, token.err).toBe(0);
    expect(JSON.parse(token.out)).toMatchObject({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: expect.stringMatching(/^k8s-aws-v1\./), expirationTimestamp: expect.any(String) } });
  });

  it('kubectl reaches the AKS clusters (Entra token; local-account client certificate) and the GKE cluster (Google token) through the same plugin', async () => {
    const aks = await kubectl('--context', 'payments-aks', 'get', 'nodes', '-L', 'kubernetes.io/os');
    expect(aks.code, aks.err).toBe(0);
    expect(aks.out).toMatch(/^aks-system-\d{8}-vmss000000\s+Ready\s/m);
    expect(aks.out).toMatch(/windows$/m);
    const local = await kubectl('--context', 'legacy-aks', 'get', 'nodes', '-o', 'name');
    expect(local.code, local.err).toBe(0);
    expect(local.out.trim().split('\n')).toHaveLength(2);
    const gke = await kubectl('--context', 'web-gke', 'get', 'nodes', '-L', 'kubernetes.io/arch');
    expect(gke.code, gke.err).toBe(0);
    expect(gke.out).toMatch(/^gke-web-gke-arm-pool-\S+\s+Ready\s.*arm64$/m);
    const entra = JSON.parse((await sensorfleet('sandbox', 'token', '--cluster', refs.aks)).out);
    expect(entra.status).toEqual({ token: expect.stringMatching(/^ey/), expirationTimestamp: expect.any(String) });
    const cert = JSON.parse((await sensorfleet('sandbox', 'token', '--cluster', refs.aksLocal)).out);
    expect(cert.status.clientCertificateData).toContain('BEGIN CERTIFICATE');
  });

  it('the AWS CLI sees the fleet, with local endpoints for EKS', async () => {
    const version = await sh('aws', ['--version']);
    expect(version.code).toBe(0);
    const eks = await aws('eks', 'list-clusters');
    expect(eks.code, eks.err).toBe(0);
    expect(JSON.parse(eks.out).clusters).toEqual(expect.arrayContaining(['web-eks', 'data-eks']));
    const described = JSON.parse((await aws('eks', 'describe-cluster', '--name', 'web-eks')).out);
    expect(described.cluster.endpoint).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/clusters\//);
    const ecs = JSON.parse((await aws('ecs', 'list-clusters')).out);
    expect(ecs.clusterArns).toEqual(expect.arrayContaining([expect.stringMatching(/:cluster\/payments-ecs$/), expect.stringMatching(/:cluster\/batch-ecs$/)]));
    const secret = await aws('secretsmanager', 'describe-secret', '--secret-id', 'sensorfleet/qualys-activation');
    expect(secret.code, secret.err).toBe(0);
    const table = JSON.parse((await aws('dynamodb', 'describe-table', '--table-name', exports.SENSORFLEET_TABLE!)).out);
    expect(table.Table.TableStatus).toBe('ACTIVE');
    // AWS CLI v1 ignores AWS_ENDPOINT_URL for sqs (aws/aws-cli#8737), hence the flag the sandbox's hints use
    const queue = await aws('--endpoint-url', exports.AWS_ENDPOINT_URL!, 'sqs', 'get-queue-attributes', '--queue-url', exports.SENSORFLEET_QUEUE_URL!, '--attribute-names', 'FifoQueue');
    expect(JSON.parse(queue.out).Attributes).toEqual({ FifoQueue: 'true' });
  });

  it('sensorfleet reconcile enrolls a cluster, kubectl rollout status follows it, sensorfleet status shows it', async () => {
    const rec = await sensorfleet('reconcile', '--cluster', refs.web, '--cluster', refs.ecs);
    expect(rec.code, rec.out + rec.err).toBe(0);
    const rollout = await kubectl('--context', 'web-eks', 'rollout', 'status', 'daemonset/qualys-container-sensor', '-n', 'qualys-sensor', '--timeout=30s');
    expect(rollout.code, rollout.err).toBe(0);
    expect(rollout.out).toContain('daemon set "qualys-container-sensor" successfully rolled out');
    const status = await sensorfleet('status');
    expect(status.code, status.err).toBe(0);
    // PLATFORM SCOPE CLUSTER(location/name) DESIRED RUNNING RING NODES STATUS …
    const row = (ref: string) => new RegExp(`${ref.split(':')[0]}\\s+${ref.split(':')[1]}\\s+${ref.split(':')[2]}/${ref.split(':')[3]}\\s+\\S+\\s+\\S+\\s+-\\s+3/3\\s+converged`);
    expect(status.out).toMatch(row(refs.web));
    expect(status.out).toMatch(row(refs.ecs));
    const events = await kubectl('--context', 'web-eks', 'get', 'events', '-n', 'qualys-sensor', '--field-selector', 'reason=SuccessfulCreate');
    expect(events.out).toMatch(/Normal\s+SuccessfulCreate\s+daemonset\/qualys-container-sensor\s+Created pod: qualys-container-sensor-/);
  });

  it('an EKS cluster created by hand with the AWS CLI gets a local endpoint, nodes from its nodegroup and a kubeconfig context', async () => {
    const account = refs.web.split(':')[1]!;
    const created = await aws('eks', 'create-cluster', '--name', 'hand-eks', '--role-arn', `arn:aws:iam::${account}:role/eks-cluster`, '--resources-vpc-config', 'subnetIds=subnet-0a1b2c3d');
    expect(created.code, created.err).toBe(0);
    expect(JSON.parse(created.out).cluster.endpoint).toMatch(/^https:\/\/127\.0\.0\.1:\d+\//);
    const ng = await aws('eks', 'create-nodegroup', '--cluster-name', 'hand-eks', '--nodegroup-name', 'default', '--node-role', `arn:aws:iam::${account}:role/eks-node`, '--subnets', 'subnet-0a1b2c3d', '--scaling-config', 'minSize=0,maxSize=4,desiredSize=2');
    expect(ng.code, ng.err).toBe(0);
    await aws('eks', 'describe-cluster', '--name', 'hand-eks');
    const kc = YAML.parse(readFileSync(exports.KUBECONFIG!, 'utf8'));
    expect(kc.contexts.map((c: any) => c.name)).toContain('hand-eks');
    const nodes = await kubectl('--context', 'hand-eks', 'get', 'nodes', '-o', 'name');
    expect(nodes.code, nodes.err).toBe(0);
    expect(nodes.out.trim().split('\n')).toHaveLength(2);
    const plan = await sensorfleet('plan', '--cluster', `aws-eks:${account}:${exports.AWS_REGION}:hand-eks`);
    expect(plan.code, plan.err).toBe(0);
    expect(plan.out).toMatch(/\+ DaemonSet qualys-sensor\/qualys-container-sensor/);
  });

  it("every command of the README's 'Using the sandbox by hand' runs as written, with the exit code it says", async () => {
    const commands = readmeSandboxCommands();
    expect(commands[0]!.line).toBe('source .sandbox/session/env.sh'); // the default session dir (this test's is its own)
    expect(commands.filter((c) => c.line.startsWith('npx sensorfleet ')).length).toBeGreaterThanOrEqual(10);
    const results: string[] = [];
    for (const c of commands.slice(1)) {
      // the report goes where the README says, under this test's directory rather than the checkout's
      const r = await shellLine(c.line.replace('--dir .sandbox/reports', `--dir ${join(dir, 'readme-reports')}`), c.watches ? 8_000 : 90_000);
      // a watch runs until Ctrl-C: it is still watching when the timeout stops it
      const ok = c.watches ? r.code === 'killed' && !/error/i.test(r.err) : r.code === c.exit;
      results.push(`${ok ? 'ok  ' : 'FAIL'} exit ${r.code} (want ${c.watches ? 'a watch' : c.exit}): ${c.line}${ok ? '' : `\n${r.out.slice(0, 1500)}\n${r.err.slice(0, 1500)}`}`);
    }
    expect(results.filter((l) => l.startsWith('FAIL')), results.join('\n')).toEqual([]);
  }, 600_000);

  it("the whole-fleet reconcile runs on the stack's workflow and the sandbox's worker: the run succeeds, rollout status and report follow it, a queued redeploy is handled", async () => {
    const runs = await until('the rollout run', () => sensorfleet('rollout', 'status', '-o', 'json'), (r) => r.code === 0 && ['succeeded', 'halted', 'failed'].includes((JSON.parse(r.out) as { status: string }[])[0]?.status ?? ''), 240_000);
    const run = (JSON.parse(runs.out) as { runId: string; status: string }[])[0]!;
    expect(run.status).toBe('succeeded');
    const shown = await sensorfleet('rollout', 'status', run.runId);
    expect(shown.code, shown.err).toBe(0);
    expect(shown.out).toMatch(/every ring released .* and passed its gate/);
    const report = await sensorfleet('report', run.runId, '--dir', join(dir, 'reports'));
    expect(report.code, report.err).toBe(0);
    expect(existsSync(join(dir, 'reports', 'runs', run.runId, 'succeeded.html'))).toBe(true);
    // the README's `redeploy` (no --now) was queued; the worker in the sandbox's process ran it
    const redeployed = await until('the queued redeploy', () => sensorfleet('status', '--cluster', refs.ecs), (r) => /redeploy-requested \(INC-1 trying it\)\s+converged/.test(r.out));
    expect(redeployed.code).toBe(0);
    expect(stderr).toMatch(/^reconcile-worker: \d+ work item\(s\) handled/m);
  }, 300_000);

  it('sensorfleet webhook serve answers Event Grid deliveries with the secret the sandbox names, and refuses others', async () => {
    const secretId = /Secrets Manager secret (sensorfleet\/webhook-event-grid-[0-9a-f]+)/.exec(stdout)![1]!;
    const secret = JSON.parse((await aws('secretsmanager', 'get-secret-value', '--secret-id', secretId)).out).SecretString as string;
    const server = spawn(process.execPath, [join(process.cwd(), 'bin', 'sensorfleet.mjs'), 'webhook', 'serve', '--port', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    server.stdout!.on('data', (d) => (log += d));
    server.stderr!.on('data', (d) => (log += d));
    const stopped = new Promise((resolve) => server.once('exit', resolve));
    try {
      const url = await until('webhook serve listening', async () => /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(log)?.[1], (u) => u !== undefined || server.exitCode !== null, 60_000);
      expect(url, log).toBeDefined();
      const body = readFileSync('events/azure/eventgrid-aks-resourcewritesuccess.json', 'utf8');
      const post = (code: string) => fetch(`${url}/azure/event-grid?code=${encodeURIComponent(code)}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      expect((await post(secret)).status).toBe(200);
      expect((await post('not-the-secret')).status).toBe(401);
    } finally {
      server.kill('SIGINT');
      await stopped;
    }
    expect(log).not.toContain(secret);
  }, 120_000);

  it('stops on SIGINT with exit 0, leaving no process and no kubeconfig behind', async () => {
    const tree = await processTree(sandbox.pid!);
    // the command, the run of it trusting the CA, moto_server (and tsx's esbuild service)
    expect(tree.map((p) => p.args)).toEqual(expect.arrayContaining([expect.stringMatching(/sensorfleet\.mjs sandbox --fleet demo$/), expect.stringMatching(/moto_server -H 127\.0\.0\.1/)]));
    expect(tree.filter((p) => /sensorfleet\.mjs sandbox/.test(p.args))).toHaveLength(2);
    sandbox.kill('SIGINT');
    const { code, signal } = await exited;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    // a helper may take a moment to notice its parent is gone (esbuild's service reads stdin to EOF)
    let left = await stillRunning(tree);
    for (let i = 0; i < 30 && left.length > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      left = await stillRunning(tree);
    }
    expect(left).toEqual([]);
    expect(existsSync(exports.KUBECONFIG!)).toBe(false);
  }, 20_000);
});
