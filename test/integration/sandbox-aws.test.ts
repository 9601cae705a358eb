import { randomBytes } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import { Sha256 } from '@aws-crypto/sha256-js';
import {
  CreateServiceCommand,
  DeleteServiceCommand,
  DescribeServicesCommand,
  DescribeTasksCommand,
  ECSClient,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  UpdateContainerInstancesStateCommand,
  UpdateServiceCommand,
  type Service,
} from '@aws-sdk/client-ecs';
import { DescribeClusterCommand, EKSClient } from '@aws-sdk/client-eks';
import { CreateSecretCommand, DescribeSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseClusterRef } from '../../shared/domain/cluster-ref';
import { startSandbox, type Sandbox } from '../sandbox/index';
import type { SensorInstance } from '../sandbox/sensor-events';
import { createCa } from '../sandbox/kube/tls';

/**
 * The AWS side of the sandbox through real SDK clients at the AWS front: forwarding, faults, the EKS
 * DescribeCluster that leads to the sandbox Kubernetes API server, EKS token checks, and the ECS
 * scheduler simulator placing DAEMON tasks the way ECS does.
 */
type Creds = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
const suffix = randomBytes(3).toString('hex');
const OTHER_ACCOUNT = '210987654321';
let sandbox: Sandbox;
let region: string;
let creds: Creds;

beforeAll(async () => {
  sandbox = await startSandbox({ motoUrl: inject('motoUrl') });
  region = sandbox.aws.region;
  creds = sandbox.aws.credentials;
}, 60_000);

afterAll(async () => {
  await sandbox?.stop();
});

const client = <C>(Ctor: new (c: any) => C, c: Creds = creds, extra: Record<string, unknown> = {}): C =>
  new Ctor({ region, endpoint: sandbox.aws.endpoint, credentials: c, ...extra });

/** EKS bearer token as aws-iam-authenticator / `aws eks get-token` make it (toolchain.md §3). */
async function eksToken(cluster: string, c: Creds, o: { expiresIn?: number; signingDate?: Date; host?: string } = {}): Promise<string> {
  const host = o.host ?? `sts.${region}.amazonaws.com`;
  const signer = new SignatureV4({ service: 'sts', region, credentials: c, sha256: Sha256 });
  const req = new HttpRequest({ method: 'GET', protocol: 'https:', hostname: host, path: '/', query: { Action: 'GetCallerIdentity', Version: '2011-06-15' }, headers: { host, 'x-k8s-aws-id': cluster } });
  const signed = await signer.presign(req, { expiresIn: o.expiresIn ?? 60, ...(o.signingDate ? { signingDate: o.signingDate } : {}) });
  const qs = Object.entries(signed.query ?? {})
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
    .join('&');
  return `k8s-aws-v1.${Buffer.from(`https://${host}/?${qs}`).toString('base64url')}`;
}

/** GET on the cluster's API server exactly as DescribeCluster describes it: endpoint + CA, bearer token. */
function kubeGet(endpoint: string, caBase64: string | undefined, token: string, path = '/api/v1/nodes'): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const u = new URL(endpoint + path);
    const req = httpsRequest(
      { host: u.hostname, port: u.port, path: u.pathname, method: 'GET', headers: { authorization: `Bearer ${token}`, accept: 'application/json' }, ...(caBase64 ? { ca: Buffer.from(caBase64, 'base64') } : {}) },
      (res) => {
        let b = '';
        res.on('data', (d) => (b += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b ? JSON.parse(b) : undefined }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function kubeRequest(endpoint: string, caBase64: string, token: string, method: string, path: string, body: unknown): Promise<number> {
  return new Promise((resolve, reject) => {
    const u = new URL(endpoint + path);
    const data = JSON.stringify(body);
    const req = httpsRequest(
      { host: u.hostname, port: u.port, path: u.pathname + u.search, method, ca: Buffer.from(caBase64, 'base64'), headers: { authorization: `Bearer ${token}`, 'content-type': 'application/apply-patch+yaml', 'content-length': Buffer.byteLength(data) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

async function assumeRole(account: string): Promise<Creds> {
  const out = await client(STSClient).send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${account}:role/sensorfleet-${suffix}`, RoleSessionName: 'sensorfleet' }));
  return { accessKeyId: out.Credentials!.AccessKeyId!, secretAccessKey: out.Credentials!.SecretAccessKey!, sessionToken: out.Credentials!.SessionToken! };
}

describe('AWS front: forwarding and faults', () => {
  it('forwards requests to moto unchanged (answers and errors) and counts them per service and operation', async () => {
    const sm = client(SecretsManagerClient);
    const before = sandbox.front.count('secretsmanager', 'GetSecretValue');
    const name = `fwd-${suffix}`;
    const created = await sm.send(new CreateSecretCommand({ Name: name, SecretString: '{"a":1}' }));
    const got = await sm.send(new GetSecretValueCommand({ SecretId: name }));
    expect(got).toMatchObject({ ARN: created.ARN, Name: name, SecretString: '{"a":1}' });
    await expect(sm.send(new DescribeSecretCommand({ SecretId: `missing-${suffix}` }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    const me = await client(STSClient).send(new GetCallerIdentityCommand({}));
    expect(me.Account).toBe(sandbox.aws.accountId);
    expect(sandbox.front.count('secretsmanager', 'GetSecretValue')).toBe(before + 1);
    expect(sandbox.front.count('secretsmanager', 'DescribeSecret')).toBeGreaterThanOrEqual(1);
    expect(sandbox.front.count('sts', 'GetCallerIdentity')).toBeGreaterThanOrEqual(1);
  });

  it('throttles the next requests with the real error shape; the SDK retries through it', async () => {
    const sm = client(SecretsManagerClient, creds, { maxAttempts: 1 });
    sandbox.front.faults = { throttleNext: { count: 1, service: 'secretsmanager' } };
    await expect(sm.send(new DescribeSecretCommand({ SecretId: `x-${suffix}` }))).rejects.toMatchObject({ name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });
    sandbox.front.faults = { throttleNext: { count: 2, service: 'sts' } };
    const sts = client(STSClient, creds, { maxAttempts: 3 });
    const out = await sts.send(new GetCallerIdentityCommand({}));
    expect(out.$metadata.attempts).toBe(3);
    sandbox.front.faults = { failNext: { count: 1, service: 'eks', status: 503 } };
    const eks = client(EKSClient, creds, { maxAttempts: 1 });
    await expect(eks.send(new DescribeClusterCommand({ name: `nope-${suffix}` }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 503 } });
    expect(sandbox.front.faults.failNext!.count).toBe(0);
    sandbox.front.faults = {};
  });
});

describe('EKS: DescribeCluster leads to the sandbox Kubernetes API server', () => {
  it('answers the fake API server endpoint and a CA that verifies; a valid token is admitted', async () => {
    const name = `eks-${suffix}`;
    const { ref } = await sandbox.fleet.createEksCluster({ name, nodes: [{ name: 'n1' }, { name: 'n2' }] });
    const c = (await client(EKSClient).send(new DescribeClusterCommand({ name }))).cluster!;
    expect(c.status).toBe('ACTIVE');
    expect(c.endpoint).toBe(sandbox.kubeClusterFor(ref)!.endpoint);
    expect(Buffer.from(c.certificateAuthority!.data!, 'base64').toString()).toContain('-----BEGIN CERTIFICATE-----');
    const ok = await kubeGet(c.endpoint!, c.certificateAuthority!.data, await eksToken(name, creds));
    expect(ok.status).toBe(200);
    expect(ok.body.items.map((n: any) => n.metadata.name).sort()).toEqual(['n1', 'n2']);
    // trusting another CA instead (test processes trust the sandbox CA by default), the server is refused
    const otherCa = Buffer.from(createCa('another-ca').certPem).toString('base64');
    await expect(kubeGet(c.endpoint!, otherCa, await eksToken(name, creds))).rejects.toThrow(/self[- ]signed|unable to verify|certificate/i);
  });

  it('refuses invalid, expired, over-long, wrong-cluster and unknown-key tokens like aws-iam-authenticator and STS', async () => {
    const name = `eks-tok-${suffix}`;
    const other = `eks-tok2-${suffix}`;
    await sandbox.fleet.createEksCluster({ name, nodes: [{ name: 'n1' }] });
    await sandbox.fleet.createEksCluster({ name: other, nodes: [{ name: 'm1' }] });
    const c = (await client(EKSClient).send(new DescribeClusterCommand({ name }))).cluster!;
    const get = (token: string) => kubeGet(c.endpoint!, c.certificateAuthority!.data, token).then((r) => r.status);
    expect(await get(await eksToken(name, creds))).toBe(200);
    expect(await get('not-a-token')).toBe(401);
    expect(await get(`k8s-aws-v1.${Buffer.from('https://evil.example.com/?Action=GetCallerIdentity').toString('base64url')}`)).toBe(401);
    expect(await get(await eksToken(name, creds, { signingDate: new Date(Date.now() - 20 * 60_000), expiresIn: 900 }))).toBe(401);
    expect(await get(await eksToken(name, creds, { expiresIn: 3600 }))).toBe(401);
    expect(await get(await eksToken(other, creds))).toBe(401);
    expect(await get(await eksToken(name, { accessKeyId: 'AKIAUNKNOWNKEY000000', secretAccessKey: 'x' }))).toBe(401);
    expect(await get(await eksToken(name, { ...creds, secretAccessKey: 'wrong' }))).toBe(401);
  });

  it('pods of the cluster emit sensor events with the cluster ref, node, hostname and image tag', async () => {
    const name = `eks-pods-${suffix}`;
    const { ref } = await sandbox.fleet.createEksCluster({ name, nodes: [{ name: 'p1', hostname: 'ip-10-0-0-1.ec2.internal' }, { name: 'p2' }] });
    const started: SensorInstance[] = [];
    const onStart = (s: SensorInstance) => s.cluster === ref && started.push(s);
    sandbox.sensors.on('started', onStart);
    const c = (await client(EKSClient).send(new DescribeClusterCommand({ name }))).cluster!;
    const ds = {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'sensor', namespace: 'default' },
      spec: { selector: { matchLabels: { app: 'sensor' } }, template: { metadata: { labels: { app: 'sensor' } }, spec: { containers: [{ name: 'sensor', image: 'qualys/qcs-sensor:1.2.3' }] } } },
    };
    const applied = await kubeRequest(c.endpoint!, c.certificateAuthority!.data!, await eksToken(name, creds), 'PATCH', '/apis/apps/v1/namespaces/default/daemonsets/sensor?fieldManager=test', ds);
    expect(applied).toBeLessThan(300);
    await sandbox.kubeClusterFor(ref)!.settle(10_000);
    sandbox.sensors.off('started', onStart);
    expect(started.map((s) => [s.platform, s.nodeName, s.hostname, s.version]).sort()).toEqual([
      ['aws-eks', 'p1', 'ip-10-0-0-1.ec2.internal', '1.2.3'],
      ['aws-eks', 'p2', 'p2', '1.2.3'],
    ]);
  });

  it('reports CREATING (no endpoint yet) for a while after creation, then ACTIVE', async () => {
    const name = `eks-creating-${suffix}`;
    await sandbox.fleet.createEksCluster({ name, nodes: [{ name: 'n1' }], creatingForMs: 800 });
    const eks = client(EKSClient);
    const first = (await eks.send(new DescribeClusterCommand({ name }))).cluster!;
    expect(first.status).toBe('CREATING');
    expect(first.endpoint).toBeUndefined();
    await new Promise((r) => setTimeout(r, 900));
    const later = (await eks.send(new DescribeClusterCommand({ name }))).cluster!;
    expect(later.status).toBe('ACTIVE');
    expect(later.endpoint).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/clusters\//);
  });

  it('a role assumed into another account sees that account; only identities of the cluster account are admitted', async () => {
    const name = `eks-xacct-${suffix}`;
    await sandbox.fleet.createEksCluster({ name, accountId: OTHER_ACCOUNT, nodes: [{ name: 'x1' }] });
    const role = await assumeRole(OTHER_ACCOUNT);
    expect((await client(STSClient, role).send(new GetCallerIdentityCommand({}))).Account).toBe(OTHER_ACCOUNT);
    // the default account does not have it
    await expect(client(EKSClient).send(new DescribeClusterCommand({ name }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    const c = (await client(EKSClient, role).send(new DescribeClusterCommand({ name }))).cluster!;
    expect(c.arn).toContain(`:${OTHER_ACCOUNT}:cluster/${name}`);
    const asRole = await kubeGet(c.endpoint!, c.certificateAuthority!.data, await eksToken(name, role));
    expect(asRole.status).toBe(200);
    const asDefault = await kubeGet(c.endpoint!, c.certificateAuthority!.data, await eksToken(name, creds));
    expect(asDefault.status).toBe(401);
  });
});

describe('ECS: DAEMON services are scheduled like ECS does', () => {
  const family = `qualys-container-sensor-${suffix}`;
  const taskDef = (ecs: ECSClient, tag: string, memory = 512) =>
    ecs
      .send(
        new RegisterTaskDefinitionCommand({
          family,
          requiresCompatibilities: ['EC2'],
          containerDefinitions: [{ name: 'qualys-container-sensor', image: `qualys/qcs-sensor:${tag}`, cpu: 256, memory }],
        }),
      )
      .then((o) => o.taskDefinition!.taskDefinitionArn!);
  const describe1 = async (ecs: ECSClient, cluster: string, service = 'sensor'): Promise<Service> =>
    (await ecs.send(new DescribeServicesCommand({ cluster, services: [service] }))).services![0]!;
  const sensorsOf = (events: SensorInstance[], ref: string) => events.filter((e) => e.cluster === ref);

  async function daemonCluster(name: string, instances: number, minimumHealthyPercent: number, ecs = client(ECSClient), accountId?: string) {
    const cluster = await sandbox.fleet.createEcsCluster({ name, instances, ...(accountId ? { accountId } : {}) });
    const td = await taskDef(ecs, '1.0.0');
    await ecs.send(
      new CreateServiceCommand({ cluster: name, serviceName: 'sensor', taskDefinition: td, schedulingStrategy: 'DAEMON', deploymentConfiguration: { maximumPercent: 100, minimumHealthyPercent } }),
    );
    await sandbox.ecs.settle(15_000);
    return { ...cluster, td, key: { account: parseClusterRef(cluster.ref).scope, region, cluster: name } };
  }

  it('places one task of the current task definition on every instance; DescribeServices and ListTasks report it as ECS does', async () => {
    const started: SensorInstance[] = [];
    const onStart = (s: SensorInstance) => started.push(s);
    sandbox.sensors.on('started', onStart);
    const ecs = client(ECSClient);
    const name = `ecs-place-${suffix}`;
    const c = await daemonCluster(name, 3, 50, ecs);
    sandbox.sensors.off('started', onStart);
    const svc = await describe1(ecs, name);
    expect(svc).toMatchObject({ schedulingStrategy: 'DAEMON', desiredCount: 3, runningCount: 3, pendingCount: 0, taskDefinition: c.td, deploymentConfiguration: { maximumPercent: 100, minimumHealthyPercent: 50 } });
    expect(svc.deployments).toHaveLength(1);
    expect(svc.deployments![0]).toMatchObject({ status: 'PRIMARY', taskDefinition: c.td, desiredCount: 3, runningCount: 3, rolloutState: 'COMPLETED' });
    expect(svc.events![0]!.message).toBe('(service sensor) has reached a steady state.');
    const arns = (await ecs.send(new ListTasksCommand({ cluster: name, serviceName: 'sensor' }))).taskArns!;
    const tasks = (await ecs.send(new DescribeTasksCommand({ cluster: name, tasks: arns }))).tasks!;
    expect(tasks).toHaveLength(3);
    expect(new Set(tasks.map((t) => t.containerInstanceArn)).size).toBe(3);
    expect(tasks.every((t) => t.taskDefinitionArn === c.td && t.group === 'service:sensor' && t.startedBy === svc.deployments![0]!.id)).toBe(true);
    // tasks stay RUNNING however often they are described (moto would walk them to STOPPED)
    const again = (await ecs.send(new DescribeTasksCommand({ cluster: name, tasks: arns }))).tasks!;
    expect(again.map((t) => t.lastStatus)).toEqual(['RUNNING', 'RUNNING', 'RUNNING']);
    expect((await ecs.send(new ListTasksCommand({ cluster: name, serviceName: 'other' }))).taskArns).toEqual([]);
    const mine = sensorsOf(started, c.ref);
    expect(mine).toHaveLength(3);
    expect(mine.every((s) => s.platform === 'aws-ecs' && s.version === '1.0.0' && /^i-/.test(s.nodeName) && /\.internal$/.test(s.hostname))).toBe(true);

    // a new instance gets a task; a DRAINING one loses its task
    const [added] = await sandbox.fleet.addEcsInstances(c.ref, 1);
    await sandbox.ecs.settle(15_000);
    expect(await describe1(ecs, name)).toMatchObject({ desiredCount: 4, runningCount: 4 });
    await ecs.send(new UpdateContainerInstancesStateCommand({ cluster: name, containerInstances: [added!], status: 'DRAINING' }));
    await sandbox.ecs.settle(15_000);
    expect(await describe1(ecs, name)).toMatchObject({ desiredCount: 3, runningCount: 3 });
    const onDrained = (await ecs.send(new ListTasksCommand({ cluster: name, containerInstance: added! }))).taskArns;
    expect(onDrained).toEqual([]);
  });

  it('replaces tasks of an old task definition honouring minimumHealthyPercent: 0 stops all at once, 50 half at a time', async () => {
    const ecs = client(ECSClient);
    for (const [pct, expectedPeak] of [
      [0, 4],
      [50, 2],
    ] as const) {
      const name = `ecs-roll${pct}-${suffix}`;
      const c = await daemonCluster(name, 4, pct, ecs);
      const td2 = await taskDef(ecs, '2.0.0');
      sandbox.ecs.pause();
      await ecs.send(new UpdateServiceCommand({ cluster: name, service: 'sensor', taskDefinition: td2 }));
      const during = await describe1(ecs, name);
      expect(during.deployments!.map((d) => [d.status, d.taskDefinition, d.runningCount, d.rolloutState])).toEqual([
        ['PRIMARY', td2, 0, 'IN_PROGRESS'],
        ['ACTIVE', c.td, 4, 'COMPLETED'],
      ]);
      sandbox.ecs.resume();
      await sandbox.ecs.settle(15_000);
      const after = await describe1(ecs, name);
      expect(after.deployments!.map((d) => [d.status, d.taskDefinition, d.runningCount, d.rolloutState])).toEqual([['PRIMARY', td2, 4, 'COMPLETED']]);
      expect(after).toMatchObject({ desiredCount: 4, runningCount: 4, taskDefinition: td2 });
      expect(sandbox.ecs.peakUnavailable(c.key, 'sensor')).toBe(expectedPeak);
    }
  });

  it('leaves a task that needs more memory than the instance has unplaced, with the reason and the ECS service event', async () => {
    const ecs = client(ECSClient);
    const name = `ecs-big-${suffix}`;
    const cluster = await sandbox.fleet.createEcsCluster({ name, instances: [{ memoryMiB: 8192 }, { memoryMiB: 1024 }] });
    const td = await taskDef(ecs, '1.0.0', 2048);
    await ecs.send(new CreateServiceCommand({ cluster: name, serviceName: 'sensor', taskDefinition: td, schedulingStrategy: 'DAEMON', deploymentConfiguration: { maximumPercent: 100, minimumHealthyPercent: 50 } }));
    await sandbox.ecs.settle(15_000);
    const svc = await describe1(ecs, name);
    expect(svc).toMatchObject({ desiredCount: 2, runningCount: 1 });
    expect(svc.deployments![0]).toMatchObject({ status: 'PRIMARY', runningCount: 1, rolloutState: 'IN_PROGRESS' });
    const unplaced = sandbox.ecs.unplaced({ account: sandbox.aws.accountId, region, cluster: name }, 'sensor');
    expect(unplaced).toHaveLength(1);
    expect(unplaced[0]!.reason).toBe('RESOURCE:MEMORY');
    expect(svc.events!.map((e) => e.message)).toContainEqual(
      expect.stringMatching(/^\(service sensor\) was unable to place a task because no container instance met all of its requirements\. The closest matching \(container-instance [0-9a-f-]+\) has insufficient memory available\./),
    );
    expect(cluster.ref).toBe(`aws-ecs:${sandbox.aws.accountId}:${region}:${name}`);
  });

  it('stops the tasks of a deleted service and emits stopped sensors', async () => {
    const stopped: SensorInstance[] = [];
    const onStop = (s: SensorInstance) => stopped.push(s);
    const ecs = client(ECSClient);
    const name = `ecs-del-${suffix}`;
    const c = await daemonCluster(name, 2, 50, ecs);
    sandbox.sensors.on('stopped', onStop);
    await ecs.send(new DeleteServiceCommand({ cluster: name, service: 'sensor' }));
    await sandbox.ecs.settle(15_000);
    sandbox.sensors.off('stopped', onStop);
    expect((await ecs.send(new ListTasksCommand({ cluster: name }))).taskArns).toEqual([]);
    expect(sensorsOf(stopped, c.ref)).toHaveLength(2);
  });

  it('schedules in another account reached through an assumed role', async () => {
    const role = await assumeRole(OTHER_ACCOUNT);
    const ecs = client(ECSClient, role);
    const name = `ecs-xacct-${suffix}`;
    await daemonCluster(name, 2, 50, ecs, OTHER_ACCOUNT);
    const svc = await describe1(ecs, name);
    expect(svc.serviceArn).toContain(`:${OTHER_ACCOUNT}:service/`);
    expect(svc).toMatchObject({ desiredCount: 2, runningCount: 2 });
  });
});
