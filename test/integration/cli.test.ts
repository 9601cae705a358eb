import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { main } from '../../shared/cli/main';
import { DynamoDbFleetStore } from '../../shared/state/dynamodb-store';
import type { Sandbox } from '../sandbox/index';
import type { QualysSandbox } from '../sandbox/qualys/fixture';
import { startTestWorld, type TestWorld } from '../support/world';
import { deployStackResources } from '../sandbox/stack';

/** The `sensorfleet` CLI through main(), against the sandbox: what an on-call engineer types. */
const id = randomBytes(3).toString('hex');
let sandbox: Sandbox;
let qualys: QualysSandbox;
let world: TestWorld;
let refs: { eks: string; ecs: string };
let table: string;

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += d));
  stderr.on('data', (d) => (err += d));
  const code = await main(argv, { stdin: new PassThrough(), stdout, stderr });
  return { code, out, err };
}

beforeAll(async () => {
  world = await startTestWorld(inject('motoUrl'));
  ({ sandbox, qualys } = world);
  const stack = await deployStackResources({ stage: `cli${id}`, ...sandbox.aws });
  table = Object.values(stack.tables)[0]!.name;
  refs = {
    eks: (await sandbox.fleet.createEksCluster({ name: `cli-eks-${id}`, nodes: [{ name: `cli-${id}-1` }, { name: `cli-${id}-2` }] })).ref,
    ecs: (await sandbox.fleet.createEcsCluster({ name: `cli-ecs-${id}`, instances: 2 })).ref,
  };
  const config = qualys.config({}, { targets: { aws: [{ accountId: sandbox.aws.accountId, regions: [sandbox.aws.region] }] }, rollout: { deadlineSeconds: 20, pollSeconds: 0.2 } });
  Object.assign(process.env, { SENSORFLEET_CONFIG: JSON.stringify(config), SENSORFLEET_TABLE: table, SENSORFLEET_USER: 'oncall-test' });
}, 120_000);

afterAll(async () => {
  await world?.stop();
});

describe('sensorfleet CLI', () => {
  it('plan says what would change and why, and changes nothing', async () => {
    const r = await run('plan', '--cluster', refs.eks, '--cluster', refs.ecs);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`${refs.eks}: planned`);
    expect(r.out).toContain('  - apply DaemonSet qualys-sensor/qualys-container-sensor: missing; create');
    expect(r.out).toContain(`${refs.ecs}: planned`);
    expect(r.out).toMatch(/0 write\(s\)/);
    expect(await new DynamoDbFleetStore(table).getCluster(refs.eks)).toBeUndefined();
  });

  it('reconcile converges both clusters and records them; status shows coverage and Qualys check-in', async () => {
    const r = await run('reconcile', '--cluster', refs.eks, '--cluster', refs.ecs);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(new RegExp(`${refs.eks}\\s+aws-eks\\s+1\\.34\\.1-0\\s+2/2\\s+converged`));
    expect(r.out).toMatch(new RegExp(`${refs.ecs}\\s+aws-ecs\\s+1\\.34\\.1-0\\s+2/2\\s+converged`));

    // sensors register with Qualys as their pods/tasks start and check in on a timer
    await new Promise((ok) => setTimeout(ok, 600));
    const s = await run('status', '--check-in', '--json');
    expect(s.code, s.err).toBe(0);
    const status = JSON.parse(s.out) as { clusters: { cluster: string; nodes: { covered: number; total: number } }[]; checkIn: { cluster: string; nodes: number; checkedIn: number }[] };
    for (const ref of [refs.eks, refs.ecs]) {
      expect(status.clusters.find((c) => c.cluster === ref)!.nodes).toEqual({ covered: 2, total: 2 });
      expect(status.checkIn.find((c) => c.cluster === ref)).toMatchObject({ nodes: 2, checkedIn: 2 });
    }
  });

  it('kubectl pointed at the sandbox API server lists what the product created', async () => {
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const { eksBearerToken } = await import('../../shared/platforms/eks/token');
    const token = await eksBearerToken({ clusterName: `cli-eks-${id}`, region: sandbox.aws.region, credentials: sandbox.aws.credentials });
    const kubeconfig = join(mkdtempSync(join(tmpdir(), 'kubeconfig-')), 'config');
    writeFileSync(kubeconfig, sandbox.kubeClusterFor(refs.eks)!.kubeconfig(token));
    // asynchronous: this process serves the API server kubectl talks to
    const kubectl = async (...args: string[]) => (await promisify(execFile)('kubectl', ['--kubeconfig', kubeconfig, ...args], { encoding: 'utf8' })).stdout;
    const ds = await kubectl('get', 'daemonsets', '-n', 'qualys-sensor');
    expect(ds).toMatch(/qualys-container-sensor\s+2\s+2\s+2\s+2\s+2/);
    const pods = await kubectl('get', 'pods', '-n', 'qualys-sensor', '-o', 'wide');
    expect(pods).toContain(`cli-${id}-1`);
    expect(pods).toContain(`cli-${id}-2`);
    expect(await kubectl('get', 'secret', 'qualys-credentials', '-n', 'qualys-sensor', '-o', 'jsonpath={.metadata.labels.app\\.kubernetes\\.io/managed-by}')).toBe('sensorfleet');
  });

  it('redeploy --now restarts the sensor, recording who asked, the reason and the outcome', async () => {
    const r = await run('redeploy', '--cluster', refs.eks, '--reason', 'INC-1234 sensor hung on node 2', '--now');
    expect(r.code, r.err).toBe(0);
    const history = await new DynamoDbFleetStore(table).listReconciles(refs.eks, 1);
    expect(history[0]).toMatchObject({
      outcome: 'converged',
      trigger: { kind: 'redeploy-requested', requestedBy: 'oncall-test', reason: 'INC-1234 sensor hung on node 2' },
    });
    expect(history[0]!.planned.map((a) => a.type)).toContain('restart');
    const text = await run('status', '--cluster', refs.eks);
    expect(text.out).toContain('redeploy-requested (INC-1234 sensor hung on node 2)  converged');
  });

  it('rejects bad input with a clear message and exit 2', async () => {
    expect((await run('redeploy', '--cluster', refs.eks, '--now')).err).toMatch(/a reason is required/);
    const bad = await run('plan', '--cluster', 'aws-ecs:nope');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/must have 4 parts/);
    expect((await run('frobnicate')).code).toBe(2);
  });
});
