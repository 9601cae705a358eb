import { randomBytes } from 'node:crypto';
import { ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { fleetWrites } from '../../shared/engine/reconcile';
import { resetAwsClients } from '../../shared/platforms/aws/clients';
import { CallCounter, countCalls } from '../../shared/runtime/call-log';
import { DynamoDbFleetStore } from '../../shared/state/dynamodb-store';
import { ecsCreateCluster, eksCreateCluster, eksUpdateNodegroupConfig } from '../sandbox/event-factory';
import { startSandbox, type Sandbox } from '../sandbox/index';
import { lambdaContext, SqsEventSourceMapping, type SqsHandler } from '../sandbox/lambda-runner';
import { deployStackResources, type StackOutputs } from '../sandbox/stack';
import { importBundledHandler } from '../support/bundle';

/**
 * End to end: the bundled handlers (what ships), real-shaped EventBridge events, the SQS FIFO queue
 * and DynamoDB table in moto (created from serverless.yml), the sandbox fleet. Nothing is called
 * directly that Lambda would not call.
 */
const VERSION = '1.34.1-0';
const suffix = randomBytes(3).toString('hex');
let sandbox: Sandbox;
let restoreEnv: () => void;
let stack: StackOutputs;
let onAwsEvent: (e: unknown, c: Context) => Promise<unknown>;
let mapping: SqsEventSourceMapping;
let sqs: SQSClient;
let store: DynamoDbFleetStore;
let where: { account: string; region: string };
let workQueueUrl: string;
let dlqUrl: string;

beforeAll(async () => {
  sandbox = await startSandbox({ motoUrl: inject('motoUrl') });
  restoreEnv = sandbox.useAwsEnv();
  resetAwsClients();
  where = { account: sandbox.aws.accountId, region: sandbox.aws.region };
  stack = await deployStackResources({ stage: `e2e${suffix}`, ...sandbox.aws });
  const queues = Object.values(stack.queues);
  const work = queues.find((q) => !/dlq|dead/i.test(q.name))!;
  const dlq = queues.find((q) => /dlq|dead/i.test(q.name))!;
  workQueueUrl = work.url;
  dlqUrl = dlq.url;
  const table = Object.values(stack.tables)[0]!.name;
  Object.assign(process.env, {
    SENSORFLEET_TABLE: table,
    SENSORFLEET_QUEUE_URL: work.url,
    SENSORFLEET_DLQ_URL: dlq.url,
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
    SENSORFLEET_CONFIG: JSON.stringify({
      sensor: { version: VERSION },
      targets: { aws: [{ accountId: where.account, regions: [where.region] }] },
      rollout: { deadlineSeconds: 20, pollSeconds: 0.2, readinessPollSeconds: 1, readinessDeadlineSeconds: 120, maxAttempts: 3, retryBackoffSeconds: 1 },
    }),
  });
  await sandbox.fleet.putActivationSecret();
  onAwsEvent = await importBundledHandler('functions/on-aws-event.ts');
  const worker = await importBundledHandler<SqsHandler>('functions/reconcile-worker.ts');
  sqs = new SQSClient({ region: where.region, endpoint: sandbox.aws.endpoint, credentials: sandbox.aws.credentials });
  mapping = new SqsEventSourceMapping(sqs, work.url, work.arn, worker, { region: where.region });
  store = new DynamoDbFleetStore(table, where.region);
}, 180_000);

afterAll(async () => {
  restoreEnv?.();
  await sandbox?.stop();
});

async function deliver(events: unknown[]): Promise<CallCounter> {
  const counter = new CallCounter();
  await countCalls(counter, async () => {
    for (const e of events) await onAwsEvent(e, lambdaContext('on-aws-event'));
    await mapping.drain(120_000);
  });
  return counter;
}

async function dlqMessages(): Promise<{ body: string; reason?: string }[]> {
  const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'], VisibilityTimeout: 0 }));
  return (out.Messages ?? []).map((m) => ({ body: m.Body ?? '', reason: m.MessageAttributes?.reason?.StringValue }));
}

describe('new ECS and EKS clusters get the sensor on every node', () => {
  it('enrolls from cluster-created events, including a cluster still CREATING, and verifies coverage per node', async () => {
    const ecs = await sandbox.fleet.createEcsCluster({ name: `e2e-ecs-${suffix}`, instances: 3 });
    const eks = await sandbox.fleet.createEksCluster({
      name: `e2e-eks-${suffix}`,
      nodes: [{ name: 'n1' }, { name: 'n2' }, { name: 'n3', taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] }],
      creatingForMs: 5000,
    });
    await deliver([ecsCreateCluster(where, `e2e-ecs-${suffix}`), eksCreateCluster(where, `e2e-eks-${suffix}`)]);

    for (const [ref, total] of [[ecs.ref, 3], [eks.ref, 3]] as const) {
      const item = await store.getCluster(ref);
      expect(item, ref).toBeDefined();
      expect(item!.outcome).toBe('converged');
      expect(item!.nodes).toEqual({ covered: total, total });
      expect(item!.sensorVersion).toBe(VERSION);
      expect(item!.uncovered).toEqual([]);
      const history = await store.listReconciles(ref);
      expect(history[0]!.trigger.kind).toBe('cluster-created');
      expect(history[0]!.changed.writes).toBeGreaterThan(0);
      expect(history[0]!.planned.length).toBeGreaterThan(0);
    }
    // the EKS cluster was CREATING first: at least one not-ready attempt was recorded before it converged
    const eksHistory = await store.listReconciles(eks.ref);
    expect(eksHistory.some((r) => r.outcome === 'not-ready')).toBe(true);
    expect(await dlqMessages()).toEqual([]);
  });

  it('restores coverage when nodes are added, with zero writes', async () => {
    const eks = await sandbox.fleet.createEksCluster({ name: `e2e-scale-${suffix}`, nodes: [{ name: 's1' }] });
    await deliver([eksCreateCluster(where, `e2e-scale-${suffix}`)]);
    await sandbox.fleet.addEksNodes(eks.ref, [{ name: 's2' }, { name: 's3' }]);
    const counter = await deliver([eksUpdateNodegroupConfig(where, `e2e-scale-${suffix}`, 'default', 3)]);
    const item = await store.getCluster(eks.ref);
    expect(item!.nodes).toEqual({ covered: 3, total: 3 });
    expect(fleetWrites(counter)).toBe(0);
  });
});

describe('duplicates and concurrency', () => {
  it('the same event delivered twice and two events for one cluster at once cause no duplicate writes', async () => {
    const name = `e2e-dup-${suffix}`;
    const eks = await sandbox.fleet.createEksCluster({ name, nodes: [{ name: 'd1' }, { name: 'd2' }] });
    const created = eksCreateCluster(where, name);
    await deliver([created, created, eksUpdateNodegroupConfig(where, name, 'default', 2)]);
    const kube = sandbox.kubeClusterFor(eks.ref)!;
    const history = await store.listReconciles(eks.ref);
    const writes = history.reduce((n, r) => n + r.changed.writes, 0);
    const firstInstall = history.at(-1)!.changed.writes;
    expect(writes).toBe(firstInstall);
    expect(history.filter((r) => r.changed.writes > 0)).toHaveLength(1);
    // one server-side apply per managed object, never two
    const patches = kube.requests.filter((r) => r.method === 'PATCH').map((r) => r.path);
    expect(patches.length).toBeGreaterThan(0);
    expect(new Set(patches).size).toBe(patches.length);
  });
});

describe('bad input and failures', () => {
  it('a malformed work item goes to the DLQ with its reason and never fails the rest of its batch', async () => {
    const name = `e2e-batch-${suffix}`;
    const ecs = await sandbox.fleet.createEcsCluster({ name, instances: 1 });
    await sqs.send(new SendMessageCommand({ QueueUrl: workQueueUrl, MessageBody: '{"not":"an event"}', MessageGroupId: 'garbage', MessageDeduplicationId: `garbage-${suffix}` }));
    await deliver([ecsCreateCluster(where, name)]);
    expect((await store.getCluster(ecs.ref))!.outcome).toBe('converged');
    const dead = await dlqMessages();
    expect(dead.some((m) => m.body.includes('not') && /malformed work item/.test(m.reason ?? ''))).toBe(true);
  });

  it('an unknown payload at on-aws-event is dropped without error and queues nothing', async () => {
    const before = await mapping.pending();
    await expect(onAwsEvent({ hello: 'world' }, lambdaContext('on-aws-event'))).resolves.toBeDefined();
    await onAwsEvent({ 'detail-type': 'Scheduled Event', source: 'aws.events', id: 'x', detail: {} }, lambdaContext('on-aws-event'));
    expect(await mapping.pending()).toBe(before);
  });

  it('a cluster that cannot be reached fails alone and reaches the DLQ with its reason after its retries', async () => {
    const bad = `e2e-down-${suffix}`;
    const good = `e2e-up-${suffix}`;
    const down = await sandbox.fleet.createEksCluster({ name: bad, nodes: [{ name: 'x1' }] });
    await sandbox.fleet.createEksCluster({ name: good, nodes: [{ name: 'y1' }] });
    sandbox.kubeClusterFor(down.ref)!.faults.dropConnections = 10_000;
    await deliver([eksCreateCluster(where, bad), eksCreateCluster(where, good)]);
    const history = await store.listReconciles(down.ref);
    expect(history.length).toBe(3);
    expect(history.every((r) => r.outcome === 'failed')).toBe(true);
    const dead = await dlqMessages();
    expect(dead.some((m) => m.body.includes(bad) && /failed after 3 attempts/.test(m.reason ?? ''))).toBe(true);
    const goodItem = await store.listClusters();
    expect(goodItem.find((i) => i.cluster.endsWith(`:${good}`))!.outcome).toBe('converged');
  });

  it('a cluster tagged qualys-sensor=disabled is skipped and recorded as skipped', async () => {
    const name = `e2e-optout-${suffix}`;
    const ecs = await sandbox.fleet.createEcsCluster({ name, instances: 1, tags: { 'qualys-sensor': 'disabled' } });
    const counter = await deliver([ecsCreateCluster(where, name)]);
    const item = await store.getCluster(ecs.ref);
    expect(item!.outcome).toBe('skipped');
    expect(item!.message).toContain('qualys-sensor=disabled');
    expect(fleetWrites(counter)).toBe(0);
  });
});
