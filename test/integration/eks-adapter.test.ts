import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { awsTargetSchema, configSchema } from '../../shared/config/schema';
import { formatClusterRef, parseClusterRef } from '../../shared/domain/cluster-ref';
import { resetAwsClients } from '../../shared/platforms/aws/clients';
import { createEksAdapter } from '../../shared/platforms/eks/adapter';
import { ClusterDeletingError, ClusterFailedError } from '../../shared/platforms/eks/errors';
import type { DesiredSensor } from '../../shared/platforms/types';
import { CallCounter, countCalls } from '../../shared/runtime/call-log';
import { ClusterNotFoundError, ClusterNotReadyError } from '../../shared/runtime/errors';
import { startSandbox, type Sandbox } from '../sandbox';

const CREDS = { activationId: 'eks-itest-activation-51f0', customerId: 'eks-itest-customer-a7c2' };
const VERIFY = { deadlineMs: 8_000, pollMs: 100 };
const OTHER_ACCOUNT = '210987654321';

let sandbox: Sandbox;
let restoreEnv: () => void;
const suffix = randomBytes(3).toString('hex');

beforeAll(async () => {
  sandbox = await startSandbox({ motoUrl: inject('motoUrl') });
  restoreEnv = sandbox.useAwsEnv();
  resetAwsClients();
});
afterAll(async () => {
  restoreEnv?.();
  resetAwsClients();
  await sandbox?.stop();
});

function desired(sensor: Record<string, unknown> = {}): DesiredSensor {
  return { config: configSchema.parse({ sensor }), credentials: CREDS, podUrl: 'https://cmsqagpublic.qg2.apps.qualys.com/ContainerSensor' };
}

function adapter() {
  return createEksAdapter({
    targets: [
      awsTargetSchema.parse({ accountId: sandbox.aws.accountId, regions: [sandbox.aws.region] }),
      awsTargetSchema.parse({ accountId: OTHER_ACCOUNT, regions: [sandbox.aws.region], roleArn: `arn:aws:iam::${OTHER_ACCOUNT}:role/sensorfleet-reconciler` }),
    ],
  });
}

describe('EKS adapter end to end through the AWS sandbox', () => {
  it('a CREATING cluster is not ready (retried later); once ACTIVE the sensor covers every node; in sync costs 1 EKS + 13 Kubernetes reads', async () => {
    const eks = adapter();
    const name = `eks-e2e-${suffix}`;
    const { ref } = await sandbox.fleet.createEksCluster({ name, nodes: [{ name: 'ip-10-0-1-11' }, { name: 'ip-10-0-1-12' }, { name: 'ip-10-0-1-13', taints: [{ key: 'dedicated', value: 'batch', effect: 'NoSchedule' }] }], tags: { team: 'platform' }, creatingForMs: 1_200 });
    const clusterRef = parseClusterRef(ref);
    await expect(eks.connect(clusterRef)).rejects.toBeInstanceOf(ClusterNotReadyError);

    await new Promise((r) => setTimeout(r, 1_300));
    const discovered = await eks.discover({ platform: 'aws-eks', scope: sandbox.aws.accountId, location: sandbox.aws.region });
    expect(discovered.map(formatClusterRef)).toContain(ref);

    const connected = await eks.connect(clusterRef);
    expect(connected.status).toBe('ACTIVE');
    expect(connected.tags).toMatchObject({ team: 'platform' });
    const want = desired();
    const observed = await eks.observe(connected, want);
    const plan = eks.plan(want, observed, {});
    expect(plan.actions).toHaveLength(12);
    expect(await eks.apply(connected, plan)).toEqual({ applied: 12, rolloutStarted: true });
    const coverage = await eks.verify(connected, want, VERIFY);
    expect(coverage).toMatchObject({ total: 3, covered: 3, uncovered: [], sensorVersion: '1.34.1-0' });

    // the second reconcile: same code path as the worker (connect -> observe -> plan -> verify)
    const kube = sandbox.kubeClusterFor(ref)!;
    const before = kube.requests.length;
    const counter = new CallCounter();
    const again = await countCalls(counter, async () => {
      const c = await eks.connect(clusterRef);
      const o = await eks.observe(c, want);
      const p = eks.plan(want, o, {});
      return { plan: p, coverage: await eks.verify(c, want, VERIFY) };
    });
    const kubeRequests = kube.requests.slice(before);
    console.log(`in-sync EKS cluster: ${counter.calls.length} calls (${counter.byOperation()['EKS:DescribeCluster'] ?? 0} EKS DescribeCluster, ${kubeRequests.length} Kubernetes requests), ${counter.writes} writes`);
    expect(again.plan.actions).toEqual([]);
    expect(again.coverage).toMatchObject({ total: 3, covered: 3 });
    expect(counter.writes).toBe(0);
    expect(kubeRequests.every((r) => r.method === 'GET' && r.status === 200)).toBe(true);
    expect(kubeRequests.length).toBeLessThanOrEqual(13);
    expect(counter.byOperation()).toMatchObject({ 'EKS:DescribeCluster': 1 });
  });

  it('nodes added by a nodegroup scale-out are covered on the next verify', async () => {
    const eks = adapter();
    const { ref } = await sandbox.fleet.createEksCluster({ name: `eks-scale-${suffix}`, nodes: [{ name: 'n-1' }] });
    const want = desired();
    const c = await eks.connect(parseClusterRef(ref));
    await eks.apply(c, eks.plan(want, await eks.observe(c, want), {}));
    expect((await eks.verify(c, want, VERIFY)).covered).toBe(1);
    await sandbox.fleet.addEksNodes(ref, [{ name: 'n-2' }, { name: 'n-3' }]);
    const c2 = await eks.connect(parseClusterRef(ref));
    const plan = eks.plan(want, await eks.observe(c2, want), {});
    expect(plan.actions).toEqual([]);
    expect(await eks.verify(c2, want, VERIFY)).toMatchObject({ total: 3, covered: 3, uncovered: [] });
  });

  it('reaches a cluster in another account through STS AssumeRole; the token is signed by the assumed role', async () => {
    const eks = adapter();
    const { ref } = await sandbox.fleet.createEksCluster({ name: `eks-xacct-${suffix}`, accountId: OTHER_ACCOUNT, nodes: [{ name: 'x-1' }] });
    const want = desired();
    const counter = new CallCounter();
    const c = await countCalls(counter, async () => {
      const connected = await eks.connect(parseClusterRef(ref));
      await eks.apply(connected, eks.plan(want, await eks.observe(connected, want), {}));
      return connected;
    });
    // the sandbox API server admits only identities of the cluster's own account (aws/eks-token.ts), so
    // these writes succeeding means the token was signed with the assumed role's credentials
    expect(counter.byOperation()['STS:AssumeRole']).toBe(1);
    expect(counter.writes).toBeGreaterThanOrEqual(12);
    expect(await eks.verify(c, want, VERIFY)).toMatchObject({ total: 1, covered: 1 });
  });

  it('UPDATING after ACTIVE still connects; DELETING and FAILED are named errors', async () => {
    const eks = adapter();
    const name = `eks-status-${suffix}`;
    const { ref } = await sandbox.fleet.createEksCluster({ name, nodes: [{ name: 's-1' }] });
    const r = parseClusterRef(ref);
    sandbox.front.setEksStatus(r.scope, r.location, name, 'UPDATING');
    expect((await eks.connect(r)).status).toBe('UPDATING');
    sandbox.front.setEksStatus(r.scope, r.location, name, 'DELETING');
    const deleting = await eks.connect(r).catch((e) => e);
    expect(deleting).toBeInstanceOf(ClusterDeletingError);
    expect(deleting).toBeInstanceOf(ClusterNotFoundError); // the engine records it as skipped, not failed
    sandbox.front.setEksStatus(r.scope, r.location, name, 'FAILED');
    await expect(eks.connect(r)).rejects.toBeInstanceOf(ClusterFailedError);
    sandbox.front.setEksStatus(r.scope, r.location, name, 'ACTIVE');
  });

  it('a cluster that does not exist is ClusterNotFoundError; an account that is not a target is refused', async () => {
    const eks = adapter();
    await expect(eks.connect({ platform: 'aws-eks', scope: sandbox.aws.accountId, location: sandbox.aws.region, name: `missing-${suffix}` })).rejects.toBeInstanceOf(ClusterNotFoundError);
    await expect(eks.connect({ platform: 'aws-eks', scope: '999999999999', location: sandbox.aws.region, name: 'x' })).rejects.toThrow(/not a configured target/);
  });

  it('a token for another cluster is refused by the API server (401 without the token in the error)', async () => {
    const eks = adapter();
    const a = await sandbox.fleet.createEksCluster({ name: `eks-a-${suffix}`, nodes: [{ name: 'a-1' }] });
    const b = await sandbox.fleet.createEksCluster({ name: `eks-b-${suffix}`, nodes: [{ name: 'b-1' }] });
    const ca = await eks.connect(parseClusterRef(a.ref));
    const cb = await eks.connect(parseClusterRef(b.ref));
    // A's client (tokens for cluster A) pointed at B's endpoint
    const { KubeClient } = await import('../../shared/platforms/kubernetes/client');
    const tokenForA = (ca.handle.kube as any).config.token as () => Promise<string>;
    const crossed = new KubeClient({ server: cb.handle.endpoint, caPem: sandbox.kube.caPem, token: tokenForA, retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 } });
    const err = await crossed.list('v1', 'Node').catch((e) => e);
    expect(err.status).toBe(401);
    expect(err.message).not.toContain(await tokenForA());
    expect(await ca.handle.kube.list('v1', 'Node')).toHaveLength(1);
  });
});
