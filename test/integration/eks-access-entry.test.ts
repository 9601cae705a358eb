import { randomBytes } from 'node:crypto';
import { CreateAccessEntryCommand, CreateClusterCommand, CreateNodegroupCommand, DescribeAccessEntryCommand, DescribeClusterCommand, EKSClient, ListAccessEntriesCommand } from '@aws-sdk/client-eks';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { configSchema, type SensorfleetConfig } from '../../shared/config/schema';
import type { ClusterEvent } from '../../shared/domain/cluster-event';
import { formatClusterRef, parseClusterRef } from '../../shared/domain/cluster-ref';
import { reconcileCluster, type ReconcileDeps } from '../../shared/engine/reconcile';
import { decideAfterAttempt } from '../../shared/engine/work-decision';
import { resetAwsClients } from '../../shared/platforms/aws/clients';
import { principalOfCaller } from '../../shared/platforms/eks/access-entry';
import { createEksAdapter } from '../../shared/platforms/eks/adapter';
import type { ReconcileRecord } from '../../shared/state/records';
import type { Sandbox } from '../sandbox';
import { clusterEvent, startWorkerWorld, type WorkerWorld } from '../support/issue7-worker-harness';

/**
 * A NEW EKS cluster, made by someone else after the platform team's Terraform listed the clusters of its
 * day, refuses sensorfleet's role (only its creator is an admin): the first reconcile gives the role an
 * access entry with AmazonEKSClusterAdminPolicy (cluster scope) and is requeued as not ready, the next one
 * converges. A CONFIG_MAP cluster and `eksAccessEntries: never` are terminal, with what a human must do.
 * Real EKS SDK calls through the AWS front (which plays access entries: moto has none) and the sandbox
 * Kubernetes API server, which admits only the creator and principals with an access entry and policy.
 */
const CREDS = { activationId: 'eks-ae-activation-2c91', customerId: 'eks-ae-customer-7d40' };
const MEMBER = '345678901234';
const POLICY = 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy';
const suffix = randomBytes(3).toString('hex');

let world: WorkerWorld;
let sandbox: Sandbox;
let admin: EKSClient;

beforeAll(async () => {
  world = await startWorkerWorld(inject('motoUrl'), 'af-south-1');
  sandbox = world.sandbox;
  admin = new EKSClient({ region: sandbox.aws.region, endpoint: sandbox.aws.endpoint, credentials: sandbox.aws.credentials });
}, 120_000);
afterAll(async () => {
  admin?.destroy();
  await world?.stop();
});

/** Credentials of a role in the stack's account, assumed through the front (so the EKS token check knows their secret). */
async function assume(roleName: string): Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken: string }> {
  const sts = new STSClient({ region: sandbox.aws.region, endpoint: sandbox.aws.endpoint, credentials: sandbox.aws.credentials });
  try {
    const c = (await sts.send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${sandbox.aws.accountId}:role/${roleName}`, RoleSessionName: roleName, DurationSeconds: 3600 }))).Credentials!;
    return { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! };
  } finally {
    sts.destroy();
  }
}

/** Runs `fn` with the process acting as `roleName` (as a Lambda function acts as its role). */
async function actingAs<T>(roleName: string, fn: () => Promise<T>): Promise<T> {
  const creds = await assume(roleName);
  const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY, token: process.env.AWS_SESSION_TOKEN };
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: creds.accessKeyId, AWS_SECRET_ACCESS_KEY: creds.secretAccessKey, AWS_SESSION_TOKEN: creds.sessionToken });
  resetAwsClients();
  try {
    return await fn();
  } finally {
    for (const [k, v] of [['AWS_ACCESS_KEY_ID', saved.id], ['AWS_SECRET_ACCESS_KEY', saved.secret], ['AWS_SESSION_TOKEN', saved.token]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    resetAwsClients();
  }
}

function configFor(targets: unknown[]): SensorfleetConfig {
  return configSchema.parse({ targets: { aws: targets }, rollout: { deadlineSeconds: 30, pollSeconds: 0.1 } });
}

function deps(config: SensorfleetConfig): ReconcileDeps {
  return { adapters: { 'aws-eks': createEksAdapter({ targets: config.targets.aws }) }, desired: { config, credentials: CREDS, podUrl: 'https://cmsqagpublic.qg2.apps.qualys.com/ContainerSensor' } };
}

function reconcile(ref: string, d: ReconcileDeps, n: number): Promise<ReconcileRecord> {
  return reconcileCluster(parseClusterRef(ref), d, { trigger: { kind: 'cluster-created', eventId: `ae-${suffix}-${n}` } });
}

function event(ref: string): ClusterEvent {
  return { id: `ae-${suffix}`, time: new Date().toISOString(), kind: 'cluster-created', cluster: ref, source: 'aws.eks', detail: {} };
}

/** A cluster with one node made by `creator` through the AWS front (EKS records the caller as its creator). */
async function createAs(creator: string, name: string, accessConfig?: { authenticationMode?: 'API' | 'API_AND_CONFIG_MAP' | 'CONFIG_MAP' }): Promise<string> {
  const creds = await assume(creator);
  const eks = new EKSClient({ region: sandbox.aws.region, endpoint: sandbox.aws.endpoint, credentials: creds });
  try {
    const subnets = ['subnet-0a1b2c3d', 'subnet-4e5f6a7b'];
    await eks.send(new CreateClusterCommand({ name, roleArn: `arn:aws:iam::${sandbox.aws.accountId}:role/eks-cluster`, resourcesVpcConfig: { subnetIds: subnets }, ...(accessConfig ? { accessConfig } : {}) }));
    await eks.send(new CreateNodegroupCommand({ clusterName: name, nodegroupName: 'default', nodeRole: `arn:aws:iam::${sandbox.aws.accountId}:role/eks-node`, subnets, scalingConfig: { minSize: 0, maxSize: 2, desiredSize: 1 } }));
  } finally {
    eks.destroy();
  }
  return formatClusterRef({ platform: 'aws-eks', scope: sandbox.aws.accountId, location: sandbox.aws.region, name });
}

async function entries(clusterName: string, client: EKSClient = admin): Promise<string[]> {
  return (await client.send(new ListAccessEntriesCommand({ clusterName }))).accessEntries ?? [];
}

describe('a new EKS cluster made by another identity', () => {
  it("in the stack's own account: the first reconcile creates the function role's access entry and is requeued; the next converges", async () => {
    const name = `ae-own-${suffix}`;
    const ref = await createAs('platform-admin', name);
    const worker = `arn:aws:iam::${sandbox.aws.accountId}:role/sensorfleet-reconcile-worker`;
    const config = configFor([{ accountId: sandbox.aws.accountId, regions: [sandbox.aws.region] }]);
    expect((await admin.send(new DescribeClusterCommand({ name }))).cluster?.accessConfig).toMatchObject({ authenticationMode: 'API_AND_CONFIG_MAP' });
    // the creator has the admin entry EKS bootstraps; sensorfleet has none
    expect(await entries(name)).toEqual([`arn:aws:iam::${sandbox.aws.accountId}:role/platform-admin`]);

    const [first, second] = await actingAs('sensorfleet-reconcile-worker', async () => {
      const d = deps(config);
      const a = await reconcile(ref, d, 1);
      return [a, await reconcile(ref, d, 2)];
    });

    expect(first.outcome).toBe('not-ready');
    expect(first.message).toBe(`cluster ${ref}: access entry for ${worker} created by sensorfleet (AmazonEKSClusterAdminPolicy, cluster scope); waiting for it to take effect; it will be retried until it does or the readiness deadline passes`);
    expect(first.changed.writes).toBe(2); // CreateAccessEntry + AssociateAccessPolicy, nothing in the cluster yet
    expect(decideAfterAttempt(event(ref), first, 1, config.rollout, new Date())).toMatchObject({ kind: 'retry', delaySeconds: config.rollout.readinessPollSeconds, reason: first.message });

    const entry = (await admin.send(new DescribeAccessEntryCommand({ clusterName: name, principalArn: worker }))).accessEntry;
    expect(entry).toMatchObject({ principalArn: worker, type: 'STANDARD', clusterName: name, username: `arn:aws:sts::${sandbox.aws.accountId}:assumed-role/sensorfleet-reconcile-worker/{{SessionName}}` });
    expect((await admin.send(new ListAccessEntriesCommand({ clusterName: name, associatedPolicyArn: POLICY }))).accessEntries?.sort()).toEqual([`arn:aws:iam::${sandbox.aws.accountId}:role/platform-admin`, worker].sort());

    expect(second.outcome).toBe('converged');
    expect(second.verified).toMatchObject({ total: 1, covered: 1 });
  });

  it('through the worker as Lambda runs it: the item comes back later (no wait in process) and the cluster converges; the records say why', async () => {
    const s = await world.stack();
    const ref = await createAs('platform-admin', `ae-worker-${suffix}`);
    const worker = `arn:aws:iam::${sandbox.aws.accountId}:role/sensorfleet-reconcile-worker`;
    await s.send([clusterEvent('cluster-created', ref)]);
    process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
    const drained = await actingAs('sensorfleet-reconcile-worker', async () => {
      const handler = await s.worker({ targets: { aws: [{ accountId: sandbox.aws.accountId, regions: [sandbox.aws.region] }] }, rollout: { deadlineSeconds: 60, pollSeconds: 1, readinessPollSeconds: 1 } });
      return s.mapping(handler).drain(90_000);
    });
    expect(drained.invocations).toBeGreaterThanOrEqual(2);
    const records = await s.records(ref); // newest first
    expect(records.at(-1)).toMatchObject({ outcome: 'not-ready', changed: { writes: 2 } });
    expect(records.at(-1)!.message).toContain(`access entry for ${worker} created by sensorfleet (AmazonEKSClusterAdminPolicy, cluster scope); waiting for it to take effect`);
    expect(records[0]).toMatchObject({ outcome: 'converged', verified: { total: 1, covered: 1 } });
    expect(await s.deadLetters()).toEqual([]);
  }, 120_000);

  it('in a member account: the configured target role, path included, gets the entry; the assumed session is admitted through it', async () => {
    const role = `arn:aws:iam::${MEMBER}:role/platform/sensorfleet-target-${suffix}`;
    const { ref } = await sandbox.fleet.createEksCluster({ name: `ae-member-${suffix}`, accountId: MEMBER, nodes: [{ name: 'm-1' }, { name: 'm-2' }], access: { creator: `arn:aws:iam::${MEMBER}:role/platform-admin` } });
    const config = configFor([{ accountId: MEMBER, regions: [sandbox.aws.region], roleArn: role, externalId: 'ae-test' }]);
    const d = deps(config);
    const first = await reconcile(ref, d, 3);
    expect(first.outcome).toBe('not-ready');
    expect(first.message).toContain(`access entry for ${role} created by sensorfleet`);
    const second = await reconcile(ref, d, 4);
    expect(second.outcome).toBe('converged');
    expect(second.verified).toMatchObject({ total: 2, covered: 2 });
  });

  it('an access entry that exists without a policy (ResourceInUseException) gets the policy; the next reconcile converges', async () => {
    const name = `ae-half-${suffix}`;
    const ref = await createAs('platform-admin', name);
    const worker = `arn:aws:iam::${sandbox.aws.accountId}:role/sensorfleet-reconcile-worker`;
    await admin.send(new CreateAccessEntryCommand({ clusterName: name, principalArn: worker }));
    const config = configFor([{ accountId: sandbox.aws.accountId, regions: [sandbox.aws.region] }]);
    const [first, second] = await actingAs('sensorfleet-reconcile-worker', async () => {
      const d = deps(config);
      const a = await reconcile(ref, d, 5);
      return [a, await reconcile(ref, d, 6)];
    });
    expect(first.outcome).toBe('not-ready');
    expect(first.message).toContain(`access entry for ${worker} already exists (AmazonEKSClusterAdminPolicy, cluster scope); waiting for it to take effect`);
    expect(second.outcome).toBe('converged');
  });

  it('AssociateAccessPolicy failing after the entry was created: the record says sensorfleet created it; the next attempts finish the job', async () => {
    const name = `ae-fault-${suffix}`;
    const ref = await createAs('platform-admin', name);
    const worker = `arn:aws:iam::${sandbox.aws.accountId}:role/sensorfleet-reconcile-worker`;
    const config = configFor([{ accountId: sandbox.aws.accountId, regions: [sandbox.aws.region] }]);
    const [first, second, third] = await actingAs('sensorfleet-reconcile-worker', async () => {
      const d = deps(config);
      sandbox.front.faults = { failNext: { service: 'eks', operation: 'AssociateAccessPolicy', count: 10 } };
      let a: ReconcileRecord;
      try {
        a = await reconcile(ref, d, 9);
      } finally {
        sandbox.front.faults = {};
      }
      const b = await reconcile(ref, d, 10);
      return [a, b, await reconcile(ref, d, 11)];
    });
    expect(first.outcome).toBe('failed');
    expect(first.terminal).toBeUndefined();
    expect(first.message).toMatch(new RegExp(`^created the EKS access entry for ${worker} on ${ref}, then associating AmazonEKSClusterAdminPolicy with the access entry for ${worker} on ${ref}: Service Unavailable`));
    expect(second.outcome).toBe('not-ready');
    expect(second.message).toContain(`access entry for ${worker} already exists`);
    expect(third.outcome).toBe('converged');
  });

  it('a CONFIG_MAP cluster: terminal, naming what a human must do; nothing is written', async () => {
    const name = `ae-cm-${suffix}`;
    const ref = await createAs('platform-admin', name, { authenticationMode: 'CONFIG_MAP' });
    const config = configFor([{ accountId: sandbox.aws.accountId, regions: [sandbox.aws.region] }]);
    const record = await actingAs('sensorfleet-reconcile-worker', () => reconcile(ref, deps(config), 7));
    expect(record).toMatchObject({ outcome: 'failed', terminal: true, changed: { writes: 0 } });
    expect(record.message).toBe(
      `cluster ${ref} refused sensorfleet's identity arn:aws:iam::${sandbox.aws.accountId}:role/sensorfleet-reconcile-worker: its authentication mode is CONFIG_MAP, which has no access entries; ` +
        `a human must map the role in the aws-auth ConfigMap (rolearn arn:aws:iam::${sandbox.aws.accountId}:role/sensorfleet-reconcile-worker) to a group allowed to apply the sensor, ` +
        `or switch the cluster to API_AND_CONFIG_MAP (aws eks update-cluster-config --name ${name} --access-config authenticationMode=API_AND_CONFIG_MAP), after which sensorfleet creates its access entry itself`,
    );
    expect(decideAfterAttempt(event(ref), record, 1, config.rollout, new Date()).kind).toBe('dead-letter');
    // EKS refuses access entries on a CONFIG_MAP cluster, as documented
    const refused = await entries(name).catch((err: { name: string; $metadata: { httpStatusCode: number } }) => err);
    expect(refused).toMatchObject({ name: 'InvalidRequestException', $metadata: { httpStatusCode: 400 } });
  });

  it("eksAccessEntries: 'never': no write, a terminal error that says how to give access", async () => {
    const name = `ae-never-${suffix}`;
    const ref = await createAs('platform-admin', name);
    const config = configFor([{ accountId: sandbox.aws.accountId, regions: [sandbox.aws.region], eksAccessEntries: 'never' }]);
    const before = sandbox.front.count('eks', 'CreateAccessEntry') + sandbox.front.count('eks', 'AssociateAccessPolicy');
    const record = await actingAs('sensorfleet-reconcile-worker', () => reconcile(ref, deps(config), 8));
    expect(record).toMatchObject({ outcome: 'failed', terminal: true, changed: { writes: 0 } });
    expect(record.message).toMatch(/refused sensorfleet's identity .*role\/sensorfleet-reconcile-worker: it has no access entry for this role and targets\.aws\[\]\.eksAccessEntries is 'never'; add one \(infra\/aws-member-account eks_clusters, or aws eks create-access-entry/);
    expect(sandbox.front.count('eks', 'CreateAccessEntry') + sandbox.front.count('eks', 'AssociateAccessPolicy')).toBe(before);
    expect(await entries(name)).toEqual([`arn:aws:iam::${sandbox.aws.accountId}:role/platform-admin`]);
  });
});

describe('the sandbox plays the EKS access entry API', () => {
  it('ResourceInUseException 409 for a second entry, ResourceNotFoundException 404 for an unknown cluster or principal, InvalidParameterException for a session ARN', async () => {
    const name = `ae-wire-${suffix}`;
    await createAs('platform-admin', name);
    const principalArn = `arn:aws:iam::${sandbox.aws.accountId}:role/team/ops-${suffix}`;
    const created = (await admin.send(new CreateAccessEntryCommand({ clusterName: name, principalArn }))).accessEntry;
    expect(created?.accessEntryArn).toMatch(new RegExp(`^arn:aws:eks:${sandbox.aws.region}:${sandbox.aws.accountId}:access-entry/${name}/role/${sandbox.aws.accountId}/ops-${suffix}/[0-9a-f-]{36}$`));
    const fail = (p: Promise<unknown>) => p.then(() => undefined, (err: { name: string; $metadata: { httpStatusCode: number } }) => ({ name: err.name, status: err.$metadata.httpStatusCode }));
    expect(await fail(admin.send(new CreateAccessEntryCommand({ clusterName: name, principalArn })))).toEqual({ name: 'ResourceInUseException', status: 409 });
    expect(await fail(admin.send(new ListAccessEntriesCommand({ clusterName: `missing-${suffix}` })))).toEqual({ name: 'ResourceNotFoundException', status: 404 });
    expect(await fail(admin.send(new DescribeAccessEntryCommand({ clusterName: name, principalArn: `arn:aws:iam::${sandbox.aws.accountId}:role/nobody` })))).toEqual({ name: 'ResourceNotFoundException', status: 404 });
    expect(await fail(admin.send(new CreateAccessEntryCommand({ clusterName: name, principalArn: `arn:aws:sts::${sandbox.aws.accountId}:assumed-role/ops/session` })))).toEqual({ name: 'InvalidParameterException', status: 400 });
    expect((await admin.send(new DescribeAccessEntryCommand({ clusterName: name, principalArn }))).accessEntry?.principalArn).toBe(principalArn);
  });
});

describe("sensorfleet's principal from the STS caller ARN", () => {
  it.each([
    ['arn:aws:sts::111122223333:assumed-role/sensorfleet-dev-ReconcileWorkerRole-AbC123/sensorfleet-dev-reconcile-worker', 'arn:aws:iam::111122223333:role/sensorfleet-dev-ReconcileWorkerRole-AbC123'],
    ['arn:aws-us-gov:sts::111122223333:assumed-role/ops/session', 'arn:aws-us-gov:iam::111122223333:role/ops'],
    ['arn:aws:iam::111122223333:user/platform/alice', 'arn:aws:iam::111122223333:user/platform/alice'],
    ['arn:aws:iam::111122223333:root', undefined],
    ['arn:aws:sts::111122223333:federated-user/bob', undefined],
  ])('%s -> %s', (caller, principal) => {
    expect(principalOfCaller(caller)).toBe(principal);
  });
});
