import { randomBytes } from 'node:crypto';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runCli } from '../support/run-cli';
import { resetAwsClients } from '../../shared/platforms/aws/clients';
import { startSandbox, type CloudSandbox } from '../sandbox/index';
import { deployStackResources } from '../sandbox/stack';

/** `sensorfleet plan | reconcile | status` with AKS and GKE cluster references, against the sandbox clouds. */
const id = randomBytes(3).toString('hex');
const PROJECT = `cli-gke-${id}`;
let sandbox: CloudSandbox;
let restoreEnv: () => void;
let aks: string;
let gke: string;
const saved = { ...process.env };

const run = runCli;

beforeAll(async () => {
  sandbox = await startSandbox({ motoUrl: inject('motoUrl'), region: 'ca-central-1', clouds: true });
  restoreEnv = sandbox.useAwsEnv();
  const table = Object.values((await deployStackResources({ stage: `cloudcli${id}`, ...sandbox.aws })).tables)[0]!.name;
  await sandbox.fleet.putActivationSecret();
  const roleArn = `arn:aws:iam::${sandbox.aws.accountId}:role/sensorfleet-oncall-cli`;
  const sts = new STSClient({ endpoint: sandbox.aws.endpoint, region: sandbox.aws.region, credentials: sandbox.aws.credentials });
  const c = (await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: `cli-${id}` }))).Credentials!;
  sts.destroy();
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: c.AccessKeyId!, AWS_SECRET_ACCESS_KEY: c.SecretAccessKey!, AWS_SESSION_TOKEN: c.SessionToken! });
  resetAwsClients();
  const app = sandbox.azure.registerApp({ awsAccount: sandbox.aws.accountId, subject: roleArn });
  aks = (await sandbox.azure.fleet.createAksCluster({ resourceGroup: `rg-cli-${id}`, name: 'aks-cli', mode: 'local', nodePools: [{ name: 'nodepool1', count: 2 }] })).ref;
  gke = (await sandbox.gcp.fleet.createGkeCluster({ projectId: PROJECT, projectNumber: '551922404187', location: 'europe-west2', name: 'gke-cli', nodePools: [{ name: 'default-pool', nodeCount: 2 }] })).ref;
  Object.assign(process.env, {
    SENSORFLEET_TABLE: table,
    SENSORFLEET_USER: 'oncall-test',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    SENSORFLEET_CONFIG: JSON.stringify({
      targets: { azure: [sandbox.azure.targetConfig(app)], gcp: [sandbox.gcp.target(PROJECT, { projectNumber: '551922404187' })] },
      rollout: { deadlineSeconds: 20, pollSeconds: 0.2 },
    }),
  });
}, 120_000);

afterAll(async () => {
  process.env = saved;
  restoreEnv?.();
  resetAwsClients();
  await sandbox?.stop();
});

describe('the CLI takes AKS and GKE cluster references', () => {
  it('plan shows what would be created on both and exits 1 with --exit-code', async () => {
    const r = await run(['plan', '--cluster', aks, '--cluster', gke, '--exit-code']);
    expect(r.code, r.err).toBe(1);
    const lines = r.out.split('\n');
    expect(lines).toContain(aks);
    expect(lines).toContain(gke);
    expect(lines.some((l) => l.startsWith('  + DaemonSet qualys-sensor/qualys-container-sensor'))).toBe(true);
    expect(r.out.trimEnd().split('\n').at(-1)).toMatch(/^2 clusters to change: \d+ objects to create; 0 in sync$/);
  });

  it('reconcile converges both; then plan has nothing to do and status shows full coverage', async () => {
    const r = await run(['reconcile', '--cluster', aks, '--cluster', gke, '-o', 'json']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(aks);
    expect(r.out).toContain(gke);
    const plan = await run(['plan', '--cluster', aks, '--cluster', gke, '--exit-code']);
    expect(plan.code, plan.out + plan.err).toBe(0);
    expect(plan.out.trimEnd().split('\n').at(-1)).toBe('no changes: 2 clusters in sync');
    for (const ref of [aks, gke]) {
      const s = await run(['status', '--cluster', ref, '-o', 'json']);
      expect(s.code, s.err).toBe(0);
      const doc = JSON.parse(s.out);
      expect(doc.cluster).toMatchObject({ cluster: ref, outcome: 'converged', nodes: { covered: 2, total: 2 }, sensorVersion: '1.34.1-0' });
    }
  });

  it('a GKE reference naming the project by number, or an AKS reference with a malformed subscription, is refused with the reason', async () => {
    const byNumber = await run(['plan', '--cluster', 'gcp-gke:551922404187:europe-west2:gke-cli', '--exit-code']);
    expect(byNumber.code).not.toBe(0);
    expect(byNumber.out + byNumber.err).toContain(PROJECT);
    const bad = await run(['plan', '--cluster', 'azure-aks:not-a-guid:rg:aks', '--exit-code']);
    expect(bad.code).toBe(2);
    expect(bad.out + bad.err).toMatch(/subscription/i);
  });
});
