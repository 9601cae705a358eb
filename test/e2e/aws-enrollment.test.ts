import { randomBytes } from 'node:crypto';
import { DynamoDBClient, QueryCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { resetAwsClients } from '../../shared/platforms/aws/clients';
import { DescribeServicesCommand, ECSClient } from '@aws-sdk/client-ecs';
import { DynamoDbFleetStore } from '../../shared/state/dynamodb-store';
import { DynamoDbRolloutStore } from '../../shared/state/rollout-store';
import { ecsCreateCluster, eksCreateCluster, eksUpdateNodegroupConfig } from '../sandbox/event-factory';
import { startSandbox, type Sandbox } from '../sandbox/index';
import { lambdaContext, SqsEventSourceMapping, type SqsHandler } from '../sandbox/lambda-runner';
import { deployStackResources, type StackOutputs } from '../sandbox/stack';
import { kubectlEdit, SENSOR_MEMORY_EDIT } from '../support/kubectl-edit';
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
let redeploy: (e: unknown, c: Context) => Promise<any>;
let nightly: (e: unknown, c: Context) => Promise<any>;
let mapping: SqsEventSourceMapping;
let sqs: SQSClient;
let store: DynamoDbFleetStore;
let where: { account: string; region: string };
let workQueueUrl: string;
let dlqUrl: string;

beforeAll(async () => {
  // its own region: nightly discovers every cluster of its targets, and other test files share this moto
  sandbox = await startSandbox({ motoUrl: inject('motoUrl'), region: 'eu-west-1', stepFunctions: true });
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
    SENSORFLEET_IDEMPOTENCY_TABLE: stack.tables.IdempotencyTable!.name,
    SENSORFLEET_QUEUE_URL: work.url,
    SENSORFLEET_DLQ_URL: dlq.url,
    SENSORFLEET_STATE_MACHINE_ARN: Object.values(stack.stateMachines)[0]!.arn,
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
  redeploy = await importBundledHandler('functions/redeploy.ts');
  nightly = await importBundledHandler('functions/nightly.ts');
  sqs = new SQSClient({ region: where.region, endpoint: sandbox.aws.endpoint, credentials: sandbox.aws.credentials });
  mapping = new SqsEventSourceMapping(sqs, work.url, work.arn, worker, { region: where.region });
  store = new DynamoDbFleetStore(table, where.region);
}, 180_000);

afterAll(async () => {
  restoreEnv?.();
  await sandbox?.stop();
});

/**
 * Delivers events as EventBridge would and lets the queue drain. The bundled handlers carry their own
 * copy of the call log, so writes are read from the reconcile records the worker stores.
 */
async function deliver(events: unknown[]): Promise<void> {
  for (const e of events) await onAwsEvent(e, lambdaContext('on-aws-event'));
  await mapping.drain(120_000);
}

/** Fleet writes recorded by the reconciles of a cluster since `since` (ISO time). */
async function writesSince(ref: string, since: string): Promise<number> {
  const records = await store.listReconciles(ref, 50);
  return records.filter((r) => r.startedAt >= since).reduce((n, r) => n + r.changed.writes, 0);
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
      // the worker looks at a rollout once: the attempt that applied (its plan, its writes), then the one that saw it finish
      const applied = history.find((r) => r.changed.writes > 0)!;
      expect(applied.trigger.kind).toBe('cluster-created');
      expect(applied.planned.length).toBeGreaterThan(0);
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
    const since = new Date().toISOString();
    await deliver([eksUpdateNodegroupConfig(where, `e2e-scale-${suffix}`, 'default', 3)]);
    const item = await store.getCluster(eks.ref);
    expect(item!.nodes).toEqual({ covered: 3, total: 3 });
    expect(item!.lastReconciledAt >= since).toBe(true);
    expect(await writesSince(eks.ref, since)).toBe(0);
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
    // the same event again after FIFO's 5-minute deduplication window (a new deduplication id):
    // the worker's idempotency record answers it and nothing is reconciled twice
    const replay = history.find((r) => r.trigger.kind === 'cluster-created')!;
    const replayBody = { id: replay.trigger.eventId, time: replay.startedAt, kind: 'cluster-created', cluster: eks.ref, source: replay.trigger.source, detail: {} };
    await sqs.send(new SendMessageCommand({ QueueUrl: workQueueUrl, MessageBody: JSON.stringify(replayBody), MessageGroupId: eks.ref, MessageDeduplicationId: `late-${suffix}` }));
    await deliver([]);
    expect(await store.listReconciles(eks.ref, 50)).toHaveLength(history.length);
    // the records that answered it live in the idempotency table, one partition key per work item
    // (serverless.yml IdempotencyTable), none in the fleet table under one static key
    const ddb = new DynamoDBClient({ region: where.region, endpoint: sandbox.aws.endpoint, credentials: sandbox.aws.credentials });
    const records = (await ddb.send(new ScanCommand({ TableName: stack.tables.IdempotencyTable!.name }))).Items ?? [];
    expect(records.filter((r) => r.status?.S === 'COMPLETED' && r.expiration?.N).length).toBeGreaterThan(0);
    const shared = await ddb.send(new QueryCommand({ TableName: stack.tables.FleetTable!.name, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': { S: 'IDEMPOTENCY#reconcile-worker' } } }));
    expect(shared.Count).toBe(0);
    ddb.destroy();

    // one accepted write per managed object, never two (a PATCH the server refused with 409 because the
    // object's resourceVersion moved since observe changed nothing; it is re-read and sent again)
    const patches = kube.requests.filter((r) => r.method === 'PATCH' && r.status >= 200 && r.status < 300).map((r) => r.path);
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
    await deliver([ecsCreateCluster(where, name)]);
    const item = await store.getCluster(ecs.ref);
    expect(item!.outcome).toBe('skipped');
    expect(item!.message).toContain('qualys-sensor=disabled');
    expect(await writesSince(ecs.ref, '')).toBe(0);
    const ecsApi = new ECSClient({ region: where.region, endpoint: sandbox.aws.endpoint, credentials: sandbox.aws.credentials });
    const services = await ecsApi.send(new DescribeServicesCommand({ cluster: name, services: ['qualys-container-sensor'] }));
    expect(services.services ?? []).toEqual([]);
  });
});

describe('on-call redeploy and the nightly run (bundled handlers)', () => {
  it('redeploy queues a restart that the worker runs, recording who asked, why and the outcome', async () => {
    const name = `e2e-oncall-${suffix}`;
    const eks = await sandbox.fleet.createEksCluster({ name, nodes: [{ name: 'o1' }, { name: 'o2' }] });
    await deliver([eksCreateCluster(where, name)]);
    const rejected = await redeploy({ cluster: eks.ref, action: 'restart' }, lambdaContext('redeploy'));
    expect(rejected).toMatchObject({ ok: false });
    expect(rejected.error).toMatch(/a reason is required/);

    const answer = await redeploy({ cluster: eks.ref, action: 'restart', reason: 'INC-77 sensor not reporting', requestedBy: 'alice' }, lambdaContext('redeploy'));
    expect(answer).toMatchObject({ ok: true, queued: [{ cluster: eks.ref }] });
    await deliver([]);
    const records = await store.listReconciles(eks.ref, 10);
    expect(records[0]).toMatchObject({ outcome: 'converged', trigger: { kind: 'redeploy-requested', requestedBy: 'alice', reason: 'INC-77 sensor not reporting' } });
    // the restart is applied once, however many looks its rollout takes
    const restarts = records.filter((r) => r.trigger.eventId === answer.queued[0].eventId && r.changed.writes > 0);
    expect(restarts.map((r) => r.planned.map((a) => a.type))).toEqual([['restart']]);
    expect(restarts[0]!.changed.writes).toBe(1); // one apply of the restart stamp
    expect((await store.getCluster(eks.ref))!.nodes).toEqual({ covered: 2, total: 2 });
  });

  it('nightly discovers every cluster of its targets, fixes drift, and reports each outcome', async () => {
    const name = `e2e-drift-${suffix}`;
    const eks = await sandbox.fleet.createEksCluster({ name, nodes: [{ name: 'r1' }] });
    await deliver([eksCreateCluster(where, name)]);
    // someone edits the sensor's resources by hand (kubectl edit: a strategic merge patch by another manager)
    const kube = sandbox.kubeClusterFor(eks.ref)!;
    const ds = kube.get('apps/v1', 'DaemonSet', 'qualys-sensor', 'qualys-container-sensor');
    expect(ds).toBeDefined();
    await kubectlEdit(sandbox, eks.ref, SENSOR_MEMORY_EDIT.path, SENSOR_MEMORY_EDIT.patch);
    // the unreachable cluster of an earlier test is back
    for (const { cluster } of sandbox.fleet.kubeClusters()) cluster.faults = {};
    // nightly starts a run (Step Functions, moto's executor); the worker reconciles each cluster of each ring
    const result = await nightly({ id: `nightly-${suffix}` }, lambdaContext('nightly'));
    expect(result).toMatchObject({ started: true });
    const runs = new DynamoDbRolloutStore(Object.values(stack.tables)[0]!.name, where.region);
    for (let i = 0; i < 60 && (await runs.getRun(result.runId))?.status === 'running'; i++) await mapping.drain(120_000).then(() => new Promise((r) => setTimeout(r, 1000)));
    expect((await runs.getRun(result.runId))?.status).toBe('succeeded');
    const latest = (await store.listReconciles(eks.ref, 10)).find((r) => r.changed.writes > 0);
    expect(latest!.trigger.source).toBe('sensorfleet.rollout');
    expect(latest!.outcome).toMatch(/^(converged|progressing)$/);
    expect(latest!.planned.map((a) => a.reason).join(' ')).toMatch(/resources\.limits\.memory differs \(want 1Gi, have 768Mi\)/);
    expect(kube.get('apps/v1', 'DaemonSet', 'qualys-sensor', 'qualys-container-sensor').spec.template.spec.containers[0].resources.limits.memory).toBe('1Gi');
  });
});
