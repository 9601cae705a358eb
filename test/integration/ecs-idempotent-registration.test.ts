import { DescribeServicesCommand, DescribeTaskDefinitionCommand, ECSClient, ListTaskDefinitionsCommand } from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseConfig } from '../../shared/config/load';
import { parseClusterRef } from '../../shared/domain/cluster-ref';
import { resetAwsClients } from '../../shared/platforms/aws/clients';
import { createEcsAdapter } from '../../shared/platforms/ecs/adapter';
import type { DesiredSensor } from '../../shared/platforms/types';
import { startSandbox, type Sandbox } from '../sandbox/index';

/**
 * Issue 7: a CreateService throttled past the SDK's retries left a task definition revision behind
 * on every attempt (three revisions for one cluster). Registration now reuses an identical ACTIVE
 * revision of the family, and a CreateService whose answer was lost after it took effect is
 * recognised by reading the service again. Through the real ECSClient against the sandbox (moto
 * behind the AWS front, whose fault switches throttle or fail after commit).
 */
let sandbox: Sandbox;
let restoreEnv: () => void;
let ecs: ECSClient;
let adapter: ReturnType<typeof createEcsAdapter>;
const VERIFY = { deadlineMs: 20_000, pollMs: 150 };
const stamp = Date.now().toString(36);

beforeAll(async () => {
  // a region of its own: revisions of the shared family are counted per cluster and region
  sandbox = await startSandbox({ motoUrl: inject('motoUrl'), region: 'ca-central-1' });
  restoreEnv = sandbox.useAwsEnv();
  resetAwsClients();
  await sandbox.fleet.putActivationSecret();
  adapter = createEcsAdapter({ targets: [{ accountId: sandbox.aws.accountId, regions: [sandbox.aws.region], platforms: ['aws-ecs'] }] });
  ecs = new ECSClient({ region: sandbox.aws.region, endpoint: sandbox.aws.endpoint, credentials: sandbox.aws.credentials });
}, 120_000);

afterAll(async () => {
  if (sandbox) sandbox.front.faults = {};
  restoreEnv?.();
  resetAwsClients();
  await sandbox?.stop();
});

function desired(): DesiredSensor {
  return {
    config: parseConfig({ sensor: { version: '1.34.1-0' }, targets: { aws: [{ accountId: sandbox.aws.accountId, regions: [sandbox.aws.region] }] } }),
    podUrl: 'https://cmsqagpublic.qg2.apps.qualys.com/ContainerSensor',
    credentialsSecretArn: (r) => `arn:aws:secretsmanager:${r.location}:${r.scope}:secret:sensorfleet/qualys-activation`,
  };
}

/** One reconcile attempt: connect -> observe -> plan -> apply -> verify; an error is returned, not thrown. */
async function attempt(ref: string) {
  const d = desired();
  try {
    const connected = await adapter.connect(parseClusterRef(ref));
    const plan = adapter.plan(d, await adapter.observe(connected, d), {});
    if (plan.actions.some((a) => a.type !== 'finding')) await adapter.apply(connected, plan);
    return { plan, coverage: await adapter.verify(connected, d, VERIFY) };
  } catch (err) {
    return { error: err as Error };
  }
}

/** Revisions of the sensor family that belong to this cluster (its log group names it). */
async function revisionsOf(clusterName: string): Promise<string[]> {
  const arns = (await ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: 'qualys-container-sensor' }))).taskDefinitionArns ?? [];
  const mine: string[] = [];
  for (const arn of arns) {
    const td = (await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn }))).taskDefinition;
    if (td?.containerDefinitions?.[0]?.logConfiguration?.options?.['awslogs-group'] === `/ecs/${clusterName}/qualys-container-sensor`) mine.push(arn);
  }
  return mine;
}

describe('ECS task definition registration is idempotent', () => {
  it('CreateService throttled past the SDK retries on two attempts: one revision, and the third attempt converges', async () => {
    const clusterName = `ecs-thr-${stamp}`;
    const cluster = await sandbox.fleet.createEcsCluster({ name: clusterName, instances: 2 });
    // 4 = the SDK's attempts per call (shared/platforms/aws/clients.ts): two whole CreateService calls fail
    sandbox.front.faults = { throttleNext: { service: 'ecs', operation: 'CreateService', count: 8 } };
    const first = await attempt(cluster.ref);
    const second = await attempt(cluster.ref);
    const third = await attempt(cluster.ref);
    sandbox.front.faults = {};
    expect(first.error?.name).toBe('ThrottlingException');
    expect(second.error?.name).toBe('ThrottlingException');
    expect(third.error).toBeUndefined();
    expect(third.coverage).toMatchObject({ total: 2, covered: 2, rollout: { state: 'complete' } });
    const revisions = await revisionsOf(clusterName);
    console.log(`throttled CreateService x2: ${revisions.length} revision(s) for the cluster; RegisterTaskDefinition calls ${sandbox.front.count('ecs', 'RegisterTaskDefinition')}`);
    expect(revisions).toHaveLength(1);
    const svc = (await ecs.send(new DescribeServicesCommand({ cluster: clusterName, services: ['qualys-container-sensor'] }))).services![0]!;
    expect(svc.taskDefinition).toBe(revisions[0]);
  });

  it('a CreateService whose answer is lost after it took effect is recognised: the first attempt converges, one revision, one service', async () => {
    const clusterName = `ecs-lost-${stamp}`;
    const cluster = await sandbox.fleet.createEcsCluster({ name: clusterName, instances: 2 });
    sandbox.front.faults = { failAfterCommit: { service: 'ecs', operation: 'CreateService', count: 4, status: 503 } };
    const first = await attempt(cluster.ref);
    sandbox.front.faults = {};
    expect(first.error).toBeUndefined();
    expect(first.coverage).toMatchObject({ total: 2, covered: 2, rollout: { state: 'complete' } });
    expect(await revisionsOf(clusterName)).toHaveLength(1);
    const services = (await ecs.send(new DescribeServicesCommand({ cluster: clusterName, services: ['qualys-container-sensor'] }))).services ?? [];
    expect(services.filter((s) => s.status === 'ACTIVE')).toHaveLength(1);
    // a second reconcile finds it in sync
    const again = await attempt(cluster.ref);
    expect(again.plan?.actions).toEqual([]);
  });

  it('an identical revision registered for another cluster is not reused (each cluster names its own log group)', async () => {
    const a = await sandbox.fleet.createEcsCluster({ name: `ecs-a-${stamp}`, instances: 1 });
    const b = await sandbox.fleet.createEcsCluster({ name: `ecs-b-${stamp}`, instances: 1 });
    expect((await attempt(a.ref)).error).toBeUndefined();
    expect((await attempt(b.ref)).error).toBeUndefined();
    const [ra] = await revisionsOf(`ecs-a-${stamp}`);
    const [rb] = await revisionsOf(`ecs-b-${stamp}`);
    expect(ra).toBeDefined();
    expect(rb).toBeDefined();
    expect(ra).not.toBe(rb);
  });
});
