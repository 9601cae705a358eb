import { CreateServiceCommand, DescribeClustersCommand, DescribeServicesCommand, DescribeTasksCommand, ECSClient, ListClustersCommand, ListContainerInstancesCommand, ListTasksCommand, RegisterTaskDefinitionCommand, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { privateDnsNames } from '../../shared/platforms/aws/ec2-host-names';
import { jsonError, jsonReply, AwsError } from '../sim/aws-json';
import { runSettled, VirtualClock } from '../sim/clock';
import { ECS_TASK_WAVE, SimEcs } from '../sim/ecs';
import { PROVIDER_LIMITS } from '../sim/limits';
import { RateLimits } from '../sim/rate-limit';
import { installSimTransport } from '../sim/transport';

const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';
const clock = new VirtualClock(Date.parse('2026-12-02T02:00:00Z'));
const limits = new RateLimits(PROVIDER_LIMITS, () => clock.now());
const ecs = new SimEcs(limits, () => clock.now());
let uninstall: () => void;
const client = new ECSClient({ region: REGION, credentials: { accessKeyId: `AKIASIM${ACCOUNT}`, secretAccessKey: 'x' }, maxAttempts: 1 });

/** Runs SDK work against the stand-ins on the virtual clock until it settles. */
const sim = <T>(work: () => Promise<T>): Promise<T> => runSettled(clock, work);

beforeAll(() => {
  uninstall = installSimTransport(clock, {
    accountOf: (key) => /^AKIASIM(\d{12})/.exec(key)?.[1] ?? '000000000000',
    aws: async (route) => {
      const op = String(route.request.headers['x-amz-target'] ?? '').split('.')[1]!;
      try {
        return { reply: jsonReply(ecs.handle(route.account, route.region, op, JSON.parse(route.body))), latencyMs: 40 };
      } catch (err) {
        if (err instanceof AwsError) return { reply: jsonError(err), latencyMs: 5 };
        throw err;
      }
    },
    kube: () => {
      throw new Error('no Kubernetes here');
    },
    web: async (host, _method, _url, body, headers) => {
      const key = /Credential=AKIASIM(\d{12})\/\d{8}\/([^/]+)\/ec2\//.exec(String(headers.authorization ?? ''));
      if (host !== 'ec2.sim.invalid' || !key) throw new Error(`unexpected ${host}`);
      return { reply: ecs.describeInstances(key[1]!, key[2]!, new URLSearchParams(body ?? '')), latencyMs: 80 };
    },
  });
  process.env.AWS_ENDPOINT_URL_EC2 = 'https://ec2.sim.invalid';
});
afterAll(() => {
  uninstall?.();
  delete process.env.AWS_ENDPOINT_URL_EC2;
});

const taskDefinition = { family: 'qualys-container-sensor', containerDefinitions: [{ name: 'qualys-container-sensor', image: 'qualys/qcs-sensor:1.34.1-0', memory: 512 }], tags: [{ key: 'app.kubernetes.io/managed-by', value: 'sensorfleet' }] };

describe('simulated ECS (awsJson1_1 through the real ECS client)', () => {
  it('lists and describes clusters, registers a revision and creates a DAEMON service that converges after one task wave', async () => {
    ecs.add(ACCOUNT, REGION, 'prod-a', 120, { team: 'payments' });
    ecs.add(ACCOUNT, REGION, 'prod-b', 3);
    const listed = await sim(() => client.send(new ListClustersCommand({})));
    expect(listed.clusterArns).toEqual([`arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/prod-a`, `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/prod-b`]);
    const described = await sim(() => client.send(new DescribeClustersCommand({ clusters: ['prod-a', 'nope'], include: ['TAGS'] })));
    expect(described.clusters?.[0]).toMatchObject({ clusterName: 'prod-a', status: 'ACTIVE', registeredContainerInstancesCount: 120, tags: [{ key: 'team', value: 'payments' }] });
    expect(described.failures).toEqual([{ arn: `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/nope`, reason: 'MISSING' }]);

    const reg = await sim(() => client.send(new RegisterTaskDefinitionCommand(taskDefinition)));
    expect(reg.taskDefinition).toMatchObject({ family: 'qualys-container-sensor', revision: 1, status: 'ACTIVE', taskDefinitionArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/qualys-container-sensor:1` });
    const td = reg.taskDefinition!.taskDefinitionArn!;
    await sim(() => client.send(new CreateServiceCommand({ cluster: 'prod-a', serviceName: 'qualys-container-sensor', taskDefinition: td, schedulingStrategy: 'DAEMON', deploymentConfiguration: { maximumPercent: 100, minimumHealthyPercent: 50 }, tags: taskDefinition.tags, clientToken: 't1' })));

    const starting = (await sim(() => client.send(new DescribeServicesCommand({ cluster: 'prod-a', services: ['qualys-container-sensor', 'other'], include: ['TAGS'] })))).services![0]!;
    expect(starting).toMatchObject({ status: 'ACTIVE', schedulingStrategy: 'DAEMON', desiredCount: 120, runningCount: 0, taskDefinition: td, deployments: [{ status: 'PRIMARY', rolloutState: 'IN_PROGRESS' }] });
    expect(starting.createdAt).toBeInstanceOf(Date);
    await sim(() => clock.sleep(ECS_TASK_WAVE.realisticMs));
    const done = await sim(() => client.send(new DescribeServicesCommand({ cluster: 'prod-a', services: ['qualys-container-sensor'] })));
    expect(done.services![0]).toMatchObject({ runningCount: 120, pendingCount: 0, deployments: [{ status: 'PRIMARY', rolloutState: 'COMPLETED', runningCount: 120 }] });

    // 120 instances: two pages of container instances; every task runs the service's revision, started by its deployment
    const page1 = await sim(() => client.send(new ListContainerInstancesCommand({ cluster: 'prod-a', status: 'ACTIVE', maxResults: 100 })));
    const page2 = await sim(() => client.send(new ListContainerInstancesCommand({ cluster: 'prod-a', status: 'ACTIVE', maxResults: 100, nextToken: page1.nextToken })));
    expect([page1.containerInstanceArns!.length, page2.containerInstanceArns!.length, page2.nextToken]).toEqual([100, 20, undefined]);
    const taskArns = (await sim(() => client.send(new ListTasksCommand({ cluster: 'prod-a', serviceName: 'qualys-container-sensor', desiredStatus: 'RUNNING' })))).taskArns!;
    const tasks = (await sim(() => client.send(new DescribeTasksCommand({ cluster: 'prod-a', tasks: taskArns.slice(0, 3) })))).tasks!;
    expect(tasks.map((t) => [t.lastStatus, t.taskDefinitionArn, t.group, t.startedBy])).toEqual(Array(3).fill(['RUNNING', td, 'service:qualys-container-sensor', done.services![0]!.deployments![0]!.id]));
  });

  it('replaces tasks in waves of (100 - minimumHealthyPercent)% on an update', async () => {
    const reg = await sim(() => client.send(new RegisterTaskDefinitionCommand({ ...taskDefinition, containerDefinitions: [{ ...taskDefinition.containerDefinitions[0]!, image: 'qualys/qcs-sensor:1.35.0-0' }] })));
    await sim(() => client.send(new UpdateServiceCommand({ cluster: 'prod-a', service: 'qualys-container-sensor', taskDefinition: reg.taskDefinition!.taskDefinitionArn })));
    await sim(() => clock.sleep(ECS_TASK_WAVE.realisticMs));
    const mid = (await sim(() => client.send(new DescribeServicesCommand({ cluster: 'prod-a', services: ['qualys-container-sensor'] })))).services![0]!;
    expect(mid.deployments!.map((d) => [d.status, d.runningCount])).toEqual([
      ['PRIMARY', 60],
      ['ACTIVE', 60],
    ]);
    await sim(() => clock.sleep(ECS_TASK_WAVE.realisticMs));
    const done = (await sim(() => client.send(new DescribeServicesCommand({ cluster: 'prod-a', services: ['qualys-container-sensor'] })))).services![0]!;
    expect(done.deployments!.map((d) => [d.status, d.rolloutState, d.runningCount])).toEqual([['PRIMARY', 'COMPLETED', 120]]);
  });

  it('answers the private DNS names of container instances to the product\'s hand-signed EC2 DescribeInstances', async () => {
    const c = ecs.all().find((x) => x.name === 'prod-b')!;
    const ids = [c.instanceId(0), c.instanceId(1), 'i-0000000000000dead'];
    const names = await sim(() => privateDnsNames(ids, REGION, async () => ({ accessKeyId: `AKIASIM${ACCOUNT}`, secretAccessKey: 'x' })));
    expect(Object.keys(names)).toEqual([c.instanceId(0), c.instanceId(1)]);
    expect(names[c.instanceId(0)]).toMatch(/^ip-10-0-0-9\.eu-west-1\.compute\.internal$/);
  });

  it('throttles per account, Region and action group (ThrottlingException, as ECS does)', () => {
    let now = 0;
    const l = new RateLimits(PROVIDER_LIMITS, () => now);
    const e = new SimEcs(l, () => now);
    e.add(ACCOUNT, REGION, 'c1', 2);
    const describe = () => e.handle(ACCOUNT, REGION, 'DescribeClusters', { clusters: ['c1'] });
    for (let i = 0; i < PROVIDER_LIMITS['ecs.clusterRead']!.burst; i++) describe();
    expect(describe).toThrow(/Rate exceeded/);
    try {
      describe();
    } catch (err) {
      expect((err as AwsError).type).toBe('ThrottlingException');
    }
    // another action group and another Region have their own buckets
    expect(() => e.handle(ACCOUNT, REGION, 'ListContainerInstances', { cluster: 'c1' })).not.toThrow();
    expect(() => e.handle(ACCOUNT, 'us-east-1', 'ListClusters', {})).not.toThrow();
    // refilled at the sustained rate: 20 per second
    now = 1_000;
    for (let i = 0; i < 20; i++) describe();
    expect(describe).toThrow(/Rate exceeded/);
    // 50 + 20 in eu-west-1, 1 in us-east-1
    expect(l.summary()['ecs.clusterRead']).toMatchObject({ limitPerSecond: 20, burst: 50, calls: 71, scopes: 2 });
  });
});
