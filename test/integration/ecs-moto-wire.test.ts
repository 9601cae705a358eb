import { randomBytes } from 'node:crypto';
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  ListTaskDefinitionsCommand,
  RegisterTaskDefinitionCommand,
} from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseConfig } from '../../shared/config/load';
import type { ClusterRef } from '../../shared/domain/cluster-ref';
import { resetAwsClients } from '../../shared/platforms/aws/clients';
import { createEcsAdapter } from '../../shared/platforms/ecs/adapter';
import type { DesiredSensor } from '../../shared/platforms/types';
import { CallCounter, countCalls } from '../../shared/runtime/call-log';
import { ClusterNotFoundError, ConfigError } from '../../shared/runtime/errors';

/**
 * The ECS adapter against plain moto_server (no scheduler in front): what AWS answers to our writes
 * must read back as "in sync", unmanaged services are left alone, missing clusters are named.
 * Coverage and rollouts need the sandbox's scheduler simulator: see ecs-adapter.test.ts.
 */
const ACCOUNT = '123456789012'; // moto's default account
const REGION = 'eu-west-1';
const suffix = randomBytes(3).toString('hex');
const saved = { ...process.env };
let ecs: ECSClient;

const desired = (version = '1.34.1-0'): DesiredSensor => ({
  config: parseConfig({ sensor: { version }, targets: { aws: [{ accountId: ACCOUNT, regions: [REGION] }] } }),
  podUrl: 'https://cmsqagpublic.qg2.apps.qualys.com/ContainerSensor',
  credentialsSecretArn: (r) => `arn:aws:secretsmanager:${r.location}:${r.scope}:secret:sensorfleet/qualys-activation-AbCdEf`,
});
const adapter = createEcsAdapter({ targets: [{ accountId: ACCOUNT, regions: [REGION], platforms: ['aws-ecs'] }] });
const ref = (name: string): ClusterRef => ({ platform: 'aws-ecs', scope: ACCOUNT, location: REGION, name });

beforeAll(() => {
  Object.assign(process.env, { AWS_ENDPOINT_URL: inject('motoUrl'), AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: REGION });
  resetAwsClients();
  ecs = new ECSClient({ region: REGION, endpoint: inject('motoUrl'), credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
});

afterAll(() => {
  process.env = saved;
  resetAwsClients();
});

async function observeAndPlan(name: string, d: DesiredSensor) {
  const counter = new CallCounter();
  const plan = await countCalls(counter, async () => {
    const connected = await adapter.connect(ref(name));
    return adapter.plan(d, await adapter.observe(connected, d), {});
  });
  return { plan, counter };
}

describe('ECS adapter against moto (wire format)', () => {
  it('creates the task definition and DAEMON service, then reads them back as in sync', async () => {
    const name = `wire-${suffix}`;
    await ecs.send(new CreateClusterCommand({ clusterName: name }));
    const connected = await adapter.connect(ref(name));
    const first = adapter.plan(desired(), await adapter.observe(connected, desired()), {});
    expect(first.actions.map((a) => a.type)).toEqual(['register-task-definition', 'create-service']);
    const counter = new CallCounter();
    await countCalls(counter, () => adapter.apply(connected, first));
    // before registering, the newest ACTIVE revisions of the family are compared (a retry reuses its own, issue 7);
    // other tests share this region's family, so how many are described varies (at most 10)
    const { 'ECS:ListTaskDefinitions': listed, 'ECS:DescribeTaskDefinition': described = 0, ...writes } = counter.byOperation();
    expect(writes).toEqual({ 'ECS:RegisterTaskDefinition': 1, 'ECS:CreateService': 1 });
    expect(listed).toBe(1);
    expect(described).toBeLessThanOrEqual(10);

    const svc = (await ecs.send(new DescribeServicesCommand({ cluster: name, services: ['qualys-container-sensor'], include: ['TAGS'] }))).services![0]!;
    expect(svc).toMatchObject({ schedulingStrategy: 'DAEMON', launchType: 'EC2' });
    expect(svc.tags).toContainEqual({ key: 'app.kubernetes.io/managed-by', value: 'sensorfleet' });
    const td = (await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: svc.taskDefinition, include: ['TAGS'] })));
    expect(td.taskDefinition!.containerDefinitions![0]!.secrets!.map((s) => s.name)).toEqual(['ACTIVATIONID', 'CUSTOMERID']);
    expect(td.tags).toContainEqual({ key: 'app.kubernetes.io/managed-by', value: 'sensorfleet' });

    // moto 5.2.1 drops deploymentConfiguration on CreateService (it keeps it on UpdateService), so plain
    // moto reads back the DAEMON default minimumHealthyPercent 0: the task definition reads back in sync,
    // the deployment configuration is corrected once, then everything is in sync.
    const corrective = await observeAndPlan(name, desired());
    expect(corrective.plan.actions.map((a) => a.reason)).toEqual(
      svc.deploymentConfiguration?.minimumHealthyPercent === 50 ? [] : ['deploymentConfiguration.minimumHealthyPercent want 50 have 0'],
    );
    await adapter.apply(await adapter.connect(ref(name)), corrective.plan);

    const again = await observeAndPlan(name, desired());
    console.log(`ECS in-sync observe+plan against moto: ${again.counter.calls.length} calls`, again.counter.byOperation());
    expect(again.plan.actions).toEqual([]);
    expect(again.counter.writes).toBe(0);
    expect(again.counter.byOperation()).toEqual({ 'ECS:DescribeClusters': 1, 'ECS:DescribeServices': 1, 'ECS:DescribeTaskDefinition': 1 });
  });

  it('a version change registers exactly one new revision and points the service at it', async () => {
    const name = `wire-up-${suffix}`;
    await ecs.send(new CreateClusterCommand({ clusterName: name }));
    let c = await adapter.connect(ref(name));
    await adapter.apply(c, adapter.plan(desired(), await adapter.observe(c, desired()), {}));
    const before = (await ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: 'qualys-container-sensor' }))).taskDefinitionArns!.length;

    c = await adapter.connect(ref(name));
    const plan = adapter.plan(desired('1.35.0-0'), await adapter.observe(c, desired('1.35.0-0')), {});
    expect(plan.actions.map((a) => a.type)).toEqual(['register-task-definition', 'update-service']);
    expect(plan.actions[0]!.reason).toContain('image want qualys/qcs-sensor:1.35.0-0 have qualys/qcs-sensor:1.34.1-0');
    await adapter.apply(c, plan);

    const after = (await ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: 'qualys-container-sensor' }))).taskDefinitionArns!;
    expect(after.length).toBe(before + 1);
    const svc = (await ecs.send(new DescribeServicesCommand({ cluster: name, services: ['qualys-container-sensor'] }))).services![0]!;
    expect(svc.taskDefinition).toBe(after.at(-1));
    expect((await observeAndPlan(name, desired('1.35.0-0'))).plan.actions).toEqual([]);
  });

  it('a service of the same name without our tag is left alone and nothing is written', async () => {
    const name = `wire-foreign-${suffix}`;
    await ecs.send(new CreateClusterCommand({ clusterName: name }));
    const td = await ecs.send(
      new RegisterTaskDefinitionCommand({ family: 'someone-elses-sensor', containerDefinitions: [{ name: 'qualys-container-sensor', image: 'qualys/qcs-sensor:latest', memory: 512 }] }),
    );
    await ecs.send(new CreateServiceCommand({ cluster: name, serviceName: 'qualys-container-sensor', taskDefinition: td.taskDefinition!.taskDefinitionArn, schedulingStrategy: 'DAEMON' }));
    const { plan } = await observeAndPlan(name, desired());
    expect(plan.actions).toEqual([{ type: 'finding', target: 'ECS service qualys-container-sensor', reason: 'ECS service qualys-container-sensor exists, not managed by sensorfleet; left alone' }]);
    const counter = new CallCounter();
    const connected = await adapter.connect(ref(name));
    expect(await countCalls(counter, () => adapter.apply(connected, plan))).toEqual({ applied: 0, rolloutStarted: false });
    expect(counter.writes).toBe(0);
    const svc = (await ecs.send(new DescribeServicesCommand({ cluster: name, services: ['qualys-container-sensor'] }))).services![0]!;
    expect(svc.taskDefinition).toBe(td.taskDefinition!.taskDefinitionArn);
  });

  it('discovers clusters and names a missing one or an unconfigured account', async () => {
    const name = `wire-disc-${suffix}`;
    await ecs.send(new CreateClusterCommand({ clusterName: name }));
    const refs = await adapter.discover({ platform: 'aws-ecs', scope: ACCOUNT, location: REGION });
    expect(refs).toContainEqual(ref(name));
    await expect(adapter.connect(ref(`absent-${suffix}`))).rejects.toThrow(ClusterNotFoundError);
    await expect(adapter.connect({ ...ref(name), scope: '999999999999' })).rejects.toThrow(ConfigError);
  });
});
