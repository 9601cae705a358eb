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
    if (sandbox.exitCode !== null || Date.now() - t0 > 40_000) throw new Error(`sandbox did not start:\n${stdout}\n${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  exports = parseExports(stdout);
  // "another shell": the exports, a PATH to find kubectl/aws/node, and a HOME of its own (no ~/.aws, ~/.kube)
  env = { PATH: process.env.PATH, HOME: join(dir, 'home'), ...exports };
  const ref = (name: string) => new RegExp(`^\\s+((?:aws-eks|aws-ecs|azure-aks|gcp-gke):[a-z0-9-]+:[a-z0-9-]+:${name})\\s`, 'm').exec(stdout)![1]!;
  refs = { web: ref('web-eks'), data: ref('data-eks'), ecs: ref('payments-ecs'), aks: ref('payments-aks'), aksLocal: ref('legacy-aks'), gke: ref('web-gke') };
}, 60_000);

afterAll(async () => {
  if (sandbox && sandbox.exitCode === null && sandbox.signalCode === null) {
    sandbox.kill('SIGKILL');
    await exited;
  }
});

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
