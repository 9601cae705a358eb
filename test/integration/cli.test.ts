import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runCli } from '../support/run-cli';
import type { PlanView } from '../../shared/cli/plan-view';
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
let config: Record<string, any>;
const dir = mkdtempSync(join(tmpdir(), 'cli-test-'));

const run = runCli;

function configFile(name: string, patch: Record<string, unknown>): string {
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify({ ...config, ...patch }));
  return file;
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
  config = qualys.config({}, { targets: { aws: [{ accountId: sandbox.aws.accountId, regions: [sandbox.aws.region] }] }, rollout: { deadlineSeconds: 20, pollSeconds: 0.2 } });
  Object.assign(process.env, { SENSORFLEET_CONFIG: JSON.stringify(config), SENSORFLEET_TABLE: table, SENSORFLEET_USER: 'oncall-test' });
}, 120_000);

afterAll(async () => {
  await world?.stop();
});

describe('sensorfleet plan: a diff, a summary and an exit code', () => {
  it('before enrollment: + per object, per cluster; the summary; nothing written', async () => {
    const r = await run(['plan', '--cluster', refs.eks, '--cluster', refs.ecs]);
    expect(r.code, r.err).toBe(0);
    const lines = r.out.split('\n');
    expect(lines).toContain(refs.eks);
    expect(lines).toContain('  + DaemonSet qualys-sensor/qualys-container-sensor  missing; create');
    expect(lines).toContain('  + Secret qualys-sensor/qualys-credentials  missing; create');
    expect(lines).toContain(refs.ecs);
    expect(lines).toContain('  + ECS service qualys-container-sensor  service missing: create DAEMON service (minimumHealthyPercent 50, maximumPercent 100)');
    const creates = lines.filter((l) => l.startsWith('  + ')).length;
    expect(lines.at(-2)).toBe(`2 clusters to change: ${creates} objects to create; 0 in sync`);
    const json = await run(['plan', '--cluster', refs.eks, '--cluster', refs.ecs, '-o', 'json']);
    const view = JSON.parse(json.out) as PlanView;
    expect(view.calls.writes).toBe(0);
    expect(view.summary).toMatchObject({ clusters: 2, clustersToChange: 2, create: creates, update: 0 });
    expect(parseYaml((await run(['plan', '--cluster', refs.eks, '-o', 'yaml'])).out)).toMatchObject({ summary: { clustersToChange: 1 } });
    expect(await new DynamoDbFleetStore(table).getCluster(refs.eks)).toBeUndefined();
  });

  it('--exit-code: 1 while changes are pending', async () => {
    expect((await run(['plan', '--cluster', refs.eks, '--exit-code'])).code).toBe(1);
  });

  it('a --cluster that does not exist is named and fails the run (1, or 3 with --exit-code)', async () => {
    const typo = refs.eks.replace(/cli-eks-/, 'cli-esk-');
    const r = await run(['plan', '--cluster', refs.eks, '--cluster', typo]);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`${typo}  not found in AWS account ${sandbox.aws.accountId}, region ${sandbox.aws.region}`);
    expect(r.err).toContain(`sensorfleet plan: ${typo}: no such cluster in AWS account ${sandbox.aws.accountId}, region ${sandbox.aws.region}`);
    expect(r.out.trimEnd().split('\n').at(-1)).toMatch(/; 1 not found$/);
    expect((await run(['plan', '--cluster', typo, '--exit-code'])).code).toBe(3);
  });
});

describe('sensorfleet reconcile', () => {
  it('converges both clusters and records them; progress (wave, nodes updated/total) on a terminal only', async () => {
    const r = await run(['reconcile', '--cluster', refs.eks, '--cluster', refs.ecs], { tty: true });
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(new RegExp(`${refs.eks}\\s+aws-eks\\s+1\\.34\\.1-0\\s+2/2\\s+converged`));
    expect(r.out).toMatch(new RegExp(`${refs.ecs}\\s+aws-ecs\\s+1\\.34\\.1-0\\s+2/2\\s+converged`));
    const frames = r.err.split('\r\x1b[2K').filter(Boolean);
    expect(frames).toContain('reconcile: wave 1/2 (1 cluster): applying');
    expect(frames.some((f) => /^reconcile: wave \d\/2 \(1 cluster\): aws-(eks|ecs):\S+: \d\/2 nodes updated/.test(f))).toBe(true);
    expect(r.err.endsWith('\r\x1b[2K')).toBe(true); // erased before the result was printed
  });

  it('then plan says there is nothing to do (exit 0 with --exit-code), and nothing is shown on stderr when not a terminal', async () => {
    const r = await run(['plan', '--cluster', refs.eks, '--cluster', refs.ecs, '--exit-code']);
    expect([r.code, r.err]).toEqual([0, '']);
    expect(r.out.trim()).toBe('no changes: 2 clusters in sync');
    const quiet = await run(['plan', '--cluster', refs.eks, '--quiet'], { tty: true });
    expect(quiet.err).toBe('');
  });

  it('a new sensor version: ~ lines with field paths and old → new values', async () => {
    process.env.SENSORFLEET_SENSOR_VERSION = '1.35.0-0';
    try {
      const r = await run(['plan', '--cluster', refs.eks, '--cluster', refs.ecs, '--exit-code']);
      expect(r.code, r.err).toBe(1);
      const lines = r.out.split('\n');
      expect(lines).toContain(`${refs.eks}  (sensor 1.34.1-0 → 1.35.0-0)`);
      expect(lines).toContain('  ~ DaemonSet qualys-sensor/qualys-container-sensor');
      expect(lines).toContain('      spec.template.spec.containers[qualys-container-sensor].image: qualys/qcs-sensor:1.34.1-0 → qualys/qcs-sensor:1.35.0-0');
      expect(lines).toContain('  ~ ECS task definition qualys-container-sensor');
      expect(lines).toContain('      containerDefinitions[qualys-container-sensor].image: qualys/qcs-sensor:1.34.1-0 → qualys/qcs-sensor:1.35.0-0');
      expect(lines.at(-2)).toMatch(/^2 clusters to change: 3 objects to update; 0 in sync$/);
    } finally {
      delete process.env.SENSORFLEET_SENSOR_VERSION;
    }
  });

  it('status shows coverage and Qualys check-in', async () => {
    // sensors register with Qualys as their pods/tasks start and check in on a timer
    await new Promise((ok) => setTimeout(ok, 600));
    const s = await run(['status', '--check-in', '--json']);
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
    const r = await run(['redeploy', '--cluster', refs.eks, '--reason', 'INC-1234 sensor hung on node 2', '--now']);
    expect(r.code, r.err).toBe(0);
    const history = await new DynamoDbFleetStore(table).listReconciles(refs.eks, 1);
    expect(history[0]).toMatchObject({
      outcome: 'converged',
      trigger: { kind: 'redeploy-requested', requestedBy: 'oncall-test', reason: 'INC-1234 sensor hung on node 2' },
    });
    expect(history[0]!.planned.map((a) => a.type)).toContain('restart');
    const text = await run(['status', '--cluster', refs.eks]);
    expect(text.out).toContain('redeploy-requested (INC-1234 sensor hung on node 2)  converged');
  });
});

describe('runs that reach nothing exit non-zero', () => {
  it('discovery failing for a scope: named on stderr, exit 1 (3 with --exit-code)', async () => {
    const file = configFile('discovery', { targets: { aws: [{ accountId: sandbox.aws.accountId, regions: ['ca-west-1'] }] } });
    sandbox.front.faults.failNext = { count: 20, service: 'eks', operation: 'ListClusters', status: 503 };
    try {
      const r = await run(['plan', '--config', file]);
      expect(r.code).toBe(1);
      expect(r.err).toContain(`sensorfleet plan: could not list aws-eks:${sandbox.aws.accountId}:ca-west-1:`);
      expect(r.err).toContain(`sensorfleet plan: no cluster found (1 of 2 configured scope(s) listed: aws-ecs:${sandbox.aws.accountId}:ca-west-1, aws-eks:${sandbox.aws.accountId}:ca-west-1)`);
      expect((await run(['plan', '--config', file, '--exit-code'])).code).toBe(3);
    } finally {
      sandbox.front.faults.failNext = undefined;
    }
  });

  it('no cluster in any configured scope: exit 1, not "0 cluster(s)"', async () => {
    const r = await run(['reconcile', '--config', configFile('empty-region', { targets: { aws: [{ accountId: sandbox.aws.accountId, regions: ['il-central-1'], platforms: ['aws-eks'] }] } })]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`no cluster found (1 of 1 configured scope(s) listed: aws-eks:${sandbox.aws.accountId}:il-central-1)`);
  });
});

describe('errors say what they were about and keep the provider\'s words', () => {
  it('a missing activation secret names the secret, the account and the region', async () => {
    const secret = `sensorfleet/missing-${id}`;
    const r = await run(['plan', '--cluster', refs.eks, '--config', configFile('secret', { credentials: { secretsManagerSecretId: secret } })]);
    expect(r.code).toBe(1);
    expect(r.err.trim()).toBe(`sensorfleet plan: reading secret ${secret} in ${sandbox.aws.accountId}/${sandbox.aws.region}: Secrets Manager can't find the specified secret.`);
  });

  it('a fleet table that does not exist is named, read (status) or written (reconcile)', async () => {
    const saved = process.env.SENSORFLEET_TABLE;
    process.env.SENSORFLEET_TABLE = `sensorfleet-missing-${id}`;
    const where = `the fleet table sensorfleet-missing-${id} in ${sandbox.aws.region} (state.tableName, $SENSORFLEET_TABLE): Requested resource not found`;
    try {
      const r = await run(['status']);
      expect(r.code).toBe(1);
      expect(r.err.trim()).toBe(`sensorfleet status: reading ${where}`);
      const w = await run(['reconcile', '--cluster', refs.ecs]);
      expect(w.code).toBe(1);
      // the inventory is read first when the cluster was in sync (its node names), written after a change
      expect([`: recording ${refs.ecs} in ${where}`, `: reading ${where}`].some((end) => w.err.trim().endsWith(end)), w.err).toBe(true);
      expect(w.err.trim().split('\n')).toHaveLength(1);
    } finally {
      process.env.SENSORFLEET_TABLE = saved;
    }
  });
});

describe('bad input', () => {
  it('is rejected with a clear message and exit 2', async () => {
    const noReason = await run(['redeploy', '--cluster', refs.eks, '--now']);
    expect([noReason.code, noReason.err.split('\n')[0]]).toEqual([2, 'sensorfleet redeploy: --reason TEXT is required']);
    const bad = await run(['plan', '--cluster', 'aws-ecs:nope']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/must have 4 parts/);
    expect((await run(['frobnicate'])).code).toBe(2);
  });
});
