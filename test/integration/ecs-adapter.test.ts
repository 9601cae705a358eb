import { randomBytes } from 'node:crypto';
import {
  DescribeServicesCommand,
  ECSClient,
  ListTaskDefinitionsCommand,
  ListTasksCommand,
  DescribeTasksCommand,
  RegisterTaskDefinitionCommand,
  StartTaskCommand,
  ListContainerInstancesCommand,
} from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseConfig } from '../../shared/config/load';
import { parseClusterRef, type ClusterRef } from '../../shared/domain/cluster-ref';
import { resetAwsClients } from '../../shared/platforms/aws/clients';
import { createEcsAdapter } from '../../shared/platforms/ecs/adapter';
import type { Coverage, DesiredSensor, PlanOptions } from '../../shared/platforms/types';
import { CallCounter, countCalls } from '../../shared/runtime/call-log';
import { startSandbox, type Sandbox } from '../sandbox/index';

/**
 * The ECS adapter through the real ECSClient against the sandbox: moto behind the AWS front, whose
 * ECS scheduler simulator places the DAEMON service's tasks on the container instances like ECS does.
 */
const suffix = randomBytes(3).toString('hex');
const VERIFY = { deadlineMs: 20_000, pollMs: 150 };
let sandbox: Sandbox;
let restoreEnv: () => void;
let ecs: ECSClient;
let adapter: ReturnType<typeof createEcsAdapter>;
let account: string;
let region: string;

beforeAll(async () => {
  sandbox = await startSandbox({ motoUrl: inject('motoUrl') });
  restoreEnv = sandbox.useAwsEnv();
  resetAwsClients();
  account = sandbox.aws.accountId;
  region = sandbox.aws.region;
  await sandbox.fleet.putActivationSecret();
  adapter = createEcsAdapter({ targets: [{ accountId: account, regions: [region], platforms: ['aws-ecs'] }] });
  ecs = new ECSClient({ region, endpoint: sandbox.aws.endpoint, credentials: sandbox.aws.credentials });
}, 120_000);

afterAll(async () => {
  restoreEnv?.();
  resetAwsClients();
  await sandbox?.stop();
});

function desired(version = '1.34.1-0'): DesiredSensor {
  return {
    config: parseConfig({ sensor: { version }, targets: { aws: [{ accountId: account, regions: [region] }] } }),
    podUrl: 'https://cmsqagpublic.qg2.apps.qualys.com/ContainerSensor',
    credentialsSecretArn: (r) => `arn:aws:secretsmanager:${r.location}:${r.scope}:secret:sensorfleet/qualys-activation`,
  };
}

/** connect -> observe -> plan -> apply -> verify, counted. */
async function reconcile(clusterRef: string, d: DesiredSensor, options: PlanOptions = {}) {
  const ref: ClusterRef = parseClusterRef(clusterRef);
  const counter = new CallCounter();
  const result = await countCalls(counter, async () => {
    const connected = await adapter.connect(ref);
    const plan = adapter.plan(d, await adapter.observe(connected, d), options);
    const changes = plan.actions.filter((a) => a.type !== 'finding');
    if (changes.length) await adapter.apply(connected, plan);
    const coverage = await adapter.verify(connected, d, VERIFY);
    return { plan, coverage };
  });
  return { ...result, counter };
}

function expectFullyCovered(coverage: Coverage, total: number, version: string): void {
  expect(coverage.uncovered).toEqual([]);
  expect(coverage).toMatchObject({ total, covered: total, sensorVersion: version, rollout: { state: 'complete' } });
}

describe('ECS adapter against the sandbox scheduler', () => {
  it('first reconcile creates the task definition and service; the scheduler covers every instance; the second costs 3 reads', async () => {
    const cluster = await sandbox.fleet.createEcsCluster({ name: `ecs-int-${suffix}`, instances: 3 });
    const first = await reconcile(cluster.ref, desired());
    expect(first.plan.actions.map((a) => a.type)).toEqual(['register-task-definition', 'create-service']);
    expectFullyCovered(first.coverage, 3, '1.34.1-0');
    expect(first.coverage.rollout.message).toBe('3 of 3 instances run the current sensor');

    const second = await reconcile(cluster.ref, desired());
    console.log(`in-sync ECS cluster: ${second.counter.calls.length} calls, ${second.counter.writes} writes`, second.counter.byOperation());
    expect(second.plan.actions).toEqual([]);
    expectFullyCovered(second.coverage, 3, '1.34.1-0');
    expect(second.counter.writes).toBe(0);
    expect(second.counter.calls.length).toBeLessThanOrEqual(3);
  });

  it('a sensor version change registers one revision, updates the service and rolls out without stopping every sensor', async () => {
    const cluster = await sandbox.fleet.createEcsCluster({ name: `ecs-roll-${suffix}`, instances: 3 });
    await reconcile(cluster.ref, desired());
    const revisions = async () => (await ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: 'qualys-container-sensor' }))).taskDefinitionArns ?? [];
    const before = (await revisions()).length;

    // watch the cluster while the rollout runs: at every sample some instance still runs a sensor
    let watching = true;
    const samples: number[] = [];
    const watcher = (async () => {
      while (watching) {
        samples.push(await runningSensorTasks(parseClusterRef(cluster.ref).name));
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const upgrade = await reconcile(cluster.ref, desired('1.35.0-0'));
    watching = false;
    await watcher;

    expect(upgrade.plan.actions.map((a) => a.type)).toEqual(['register-task-definition', 'update-service']);
    expect(upgrade.plan.actions[0]!.reason).toContain('image want qualys/qcs-sensor:1.35.0-0 have qualys/qcs-sensor:1.34.1-0');
    // one RegisterTaskDefinition: other test files register revisions of the same family in the same moto account at the same time,
    // so the family's revision count says nothing about this reconcile
    expect(upgrade.counter.byOperation()['ECS:RegisterTaskDefinition']).toBe(1);
    expect((await revisions()).length).toBeGreaterThanOrEqual(before + 1);
    expectFullyCovered(upgrade.coverage, 3, '1.35.0-0');
    // minimumHealthyPercent 50 of 3 instances: at most one instance at a time without its sensor
    const name = parseClusterRef(cluster.ref).name;
    const peak = sandbox.ecs.peakUnavailable({ account, region, cluster: name }, 'qualys-container-sensor');
    console.log(`rollout of 3 instances: at most ${peak} instance(s) without a sensor at once (simulator); sampled running sensors min ${Math.min(...samples)}`);
    expect(peak).toBeLessThanOrEqual(1);
    expect(samples.length).toBeGreaterThan(0);
    expect(Math.min(...samples)).toBeGreaterThan(0);
    const svc = (await ecs.send(new DescribeServicesCommand({ cluster: parseClusterRef(cluster.ref).name, services: ['qualys-container-sensor'] }))).services![0]!;
    expect(svc.deploymentConfiguration).toMatchObject({ maximumPercent: 100, minimumHealthyPercent: 50 });
  });

  it('an instance without room for the sensor is listed with the reason', async () => {
    const cluster = await sandbox.fleet.createEcsCluster({ name: `ecs-full-${suffix}`, instances: 2 });
    const [busy] = (await ecs.send(new ListContainerInstancesCommand({ cluster: parseClusterRef(cluster.ref).name }))).containerInstanceArns!;
    await fillInstance(parseClusterRef(cluster.ref).name, busy!);
    const { coverage } = await reconcile(cluster.ref, desired());
    expect(coverage).toMatchObject({ total: 2, covered: 1, rollout: { state: 'complete' } });
    expect(coverage.uncovered).toHaveLength(1);
    expect(coverage.uncovered[0]!.reason).toMatch(/^no room on the instance \(the sensor needs cpu 256 \/ memory 512 MiB, free cpu \d+ \/ memory \d+ MiB\)$/);
  });

  it('an instance declared too small for the sensor is listed with the reason', async () => {
    const cluster = await sandbox.fleet.createEcsCluster({ name: `ecs-small-${suffix}`, instances: [{}, { cpuUnits: 2048, memoryMiB: 256 }] });
    const { coverage } = await reconcile(cluster.ref, desired());
    expect(coverage).toMatchObject({ total: 2, covered: 1, rollout: { state: 'complete' } });
    expect(coverage.uncovered).toHaveLength(1);
    expect(coverage.uncovered[0]!.reason).toMatch(/^no room on the instance /);
    expect(coverage.rollout.message).toBe('1 of 2 instances run the current sensor; 1 cannot run it (no room on the instance)');
  });

  it('instances added later are covered after verify', async () => {
    const cluster = await sandbox.fleet.createEcsCluster({ name: `ecs-grow-${suffix}`, instances: 1 });
    expectFullyCovered((await reconcile(cluster.ref, desired())).coverage, 1, '1.34.1-0');
    await sandbox.fleet.addEcsInstances(cluster.ref, 2);
    const after = await reconcile(cluster.ref, desired());
    expect(after.plan.actions).toEqual([]);
    expect(after.counter.writes).toBe(0);
    expectFullyCovered(after.coverage, 3, '1.34.1-0');
  });

  it('restart forces a new deployment of the same revision and the scheduler replaces the tasks', async () => {
    const cluster = await sandbox.fleet.createEcsCluster({ name: `ecs-restart-${suffix}`, instances: 2 });
    await reconcile(cluster.ref, desired());
    const before = await sensorTaskArns(parseClusterRef(cluster.ref).name);
    const restart = await reconcile(cluster.ref, desired(), { force: 'restart', reason: 'on-call test' });
    expect(restart.plan.actions.map((a) => a.type)).toEqual(['update-service']);
    expect(restart.counter.byOperation()['ECS:RegisterTaskDefinition']).toBeUndefined();
    expectFullyCovered(restart.coverage, 2, '1.34.1-0');
    const after = await sensorTaskArns(parseClusterRef(cluster.ref).name);
    expect(after.some((arn) => before.includes(arn))).toBe(false);
  });

  it('restart: while a task of the old deployment still runs, verify does not call its instance covered', async () => {
    const cluster = await sandbox.fleet.createEcsCluster({ name: `ecs-restart-slow-${suffix}`, instances: 2 });
    await reconcile(cluster.ref, desired());
    const before = await sensorTaskArns(parseClusterRef(cluster.ref).name);
    const ref = parseClusterRef(cluster.ref);
    const connected = await adapter.connect(ref);
    const plan = adapter.plan(desired(), await adapter.observe(connected, desired()), { force: 'restart', reason: 'slow scheduler' });
    // the scheduler is slow to act on the new deployment (as under load): the old tasks, of the same revision, still run
    sandbox.ecs.pause();
    try {
      await adapter.apply(connected, plan);
      const during = await adapter.verify(connected, desired(), { deadlineMs: 1_200, pollMs: 150 });
      expect(await sensorTaskArns(ref.name)).toEqual(expect.arrayContaining(before));
      expect(during.covered).toBe(0);
      expect(during.rollout.state).toBe('stuck');
      for (const u of during.uncovered) expect(u.reason).toMatch(/^old deployment \(runs a task of deployment ecs-svc\/\d+, current is ecs-svc\/\d+\): being replaced$/);
    } finally {
      sandbox.ecs.resume();
    }
    const after = await adapter.verify(connected, desired(), VERIFY);
    expectFullyCovered(after, 2, '1.34.1-0');
    expect((await sensorTaskArns(ref.name)).some((arn) => before.includes(arn))).toBe(false);
  });
});

async function sensorTaskArns(cluster: string): Promise<string[]> {
  const arns = (await ecs.send(new ListTasksCommand({ cluster, desiredStatus: 'RUNNING' }))).taskArns ?? [];
  if (!arns.length) return [];
  const tasks = (await ecs.send(new DescribeTasksCommand({ cluster, tasks: arns }))).tasks ?? [];
  return tasks.filter((t) => t.group === 'service:qualys-container-sensor' && t.lastStatus === 'RUNNING').map((t) => t.taskArn!);
}

async function runningSensorTasks(cluster: string): Promise<number> {
  return (await sensorTaskArns(cluster)).length;
}

/** Another workload takes nearly all the memory of one instance before the sensor arrives. */
async function fillInstance(cluster: string, containerInstance: string): Promise<void> {
  const td = await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: `big-batch-${suffix}`,
      containerDefinitions: [{ name: 'batch', image: 'busybox:1.36', cpu: 1024, memory: 7300, essential: true }],
    }),
  );
  await ecs.send(new StartTaskCommand({ cluster, taskDefinition: td.taskDefinition!.taskDefinitionArn, containerInstances: [containerInstance], group: 'batch' }));
}
