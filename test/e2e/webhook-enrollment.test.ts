import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { rolloutSchema } from '../../shared/config/schema';
import { resetAwsClients } from '../../shared/platforms/aws/clients';
import { resetWebIdentityTokens } from '../../shared/platforms/aws/web-identity-token';
import { DynamoDbFleetStore } from '../../shared/state/dynamodb-store';
import { eksCreateCluster } from '../sandbox/event-factory';
import { startEventGridSandbox, type EventGridSandbox } from '../sandbox/eventgrid/index';
import { captureConsole, startWebhookFunction, type WebhookFunction } from '../sandbox/eventgrid/webhook-harness';
import { startSandbox, type CloudSandbox } from '../sandbox/index';
import { guardLoopback, type LoopbackGuard } from '../sandbox/loopback-guard';
import { SqsEventSourceMapping, type SqsHandler } from '../sandbox/lambda-runner';
import { startAwsForwarding, type AwsForwarding } from '../sandbox/member-account';
import { startPubSubSandbox, type PubSubSandbox } from '../sandbox/pubsub/index';
import { deployStackResources } from '../sandbox/stack';
import { importBundledHandler } from '../support/bundle';

/**
 * Issue 8 end to end, no discovery anywhere: the bundled functions behind the sandbox's event paths.
 *  - AKS: a cluster created in the sandbox ARM reaches Succeeded -> the subscription's system topic ->
 *    Event Grid (CloudEvents schema, OPTIONS handshake, Entra token of the sandbox tenant) -> on-webhook
 *    -> FIFO queue -> reconcile-worker -> every Linux node covered;
 *  - GKE: a cluster created in the sandbox GKE API -> Cloud Audit Log entries (first ignored, last acted
 *    on) -> log sink -> Pub/Sub push (OIDC token of the sandbox Google key) -> on-webhook -> queue -> worker;
 *  - EKS in a member account: CloudTrail's CreateCluster on the member's default bus -> forwarding rule
 *    -> the control plane's bus -> on-aws-event -> queue -> worker (assuming the member's target role).
 * The time from "ready" to full coverage is printed for each.
 */
const suffix = randomBytes(3).toString('hex');
const region = 'eu-west-3';
const MEMBER = '210987654321';
const PROJECT = 'e2e-webhook-project';
const PROJECT_NUMBER = '530187264019';
const PUSH_AUDIENCE = 'https://sensorfleet.example/gcp/pubsub';
let sandbox: CloudSandbox;
let grid: EventGridSandbox;
let pubsub: PubSubSandbox;
let forwarding: AwsForwarding;
let webhook: WebhookFunction;
let onAwsEvent: (e: unknown, c: Context) => Promise<unknown>;
let mapping: SqsEventSourceMapping;
let store: DynamoDbFleetStore;
let restoreEnv: () => void;
let restoreConsole: () => void;
let stopWorker = false;
let workerLoop: Promise<void>;
const logs: string[] = [];
const figures: string[] = [];
let loopback: LoopbackGuard;

beforeAll(async () => {
  loopback = guardLoopback();
  sandbox = await startSandbox({ motoUrl: inject('motoUrl'), region, clouds: true });
  restoreEnv = sandbox.useAwsEnv();
  const stage = `e2ew${suffix}`;
  const stack = await deployStackResources({ stage, ...sandbox.aws });
  const work = Object.values(stack.queues).find((q) => q.name.endsWith('-work.fifo'))!;
  const table = Object.values(stack.tables)[0]!.name;
  await sandbox.fleet.putActivationSecret();
  await sandbox.fleet.putActivationSecret({ accountId: MEMBER, region });

  // the functions run as their role (the subject the Entra app and the GCP pool trust)
  const roleArn = `arn:aws:iam::${sandbox.aws.accountId}:role/sensorfleet-reconcile-worker`;
  const sts = new STSClient({ endpoint: sandbox.aws.endpoint, region, credentials: sandbox.aws.credentials });
  const c = (await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: `e2ew-${suffix}` }))).Credentials!;
  sts.destroy();
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: c.AccessKeyId!, AWS_SECRET_ACCESS_KEY: c.SecretAccessKey!, AWS_SESSION_TOKEN: c.SessionToken! });
  resetAwsClients();
  resetWebIdentityTokens();
  const app = sandbox.azure.registerApp({ awsAccount: sandbox.aws.accountId, subject: roleArn });

  grid = startEventGridSandbox(sandbox.azure);
  pubsub = await startPubSubSandbox(sandbox.gcp);
  forwarding = await startAwsForwarding({ motoUrl: sandbox.motoUrl, accountId: sandbox.aws.accountId, region, stage });
  await forwarding.addMemberAccount(MEMBER, region);

  const config = {
    targets: {
      aws: [
        { accountId: sandbox.aws.accountId, regions: [region] },
        { accountId: MEMBER, regions: [region], roleArn: `arn:aws:iam::${MEMBER}:role/sensorfleet-target`, externalId: 'sensorfleet-e2e' },
      ],
      azure: [sandbox.azure.targetConfig(app)],
      gcp: [sandbox.gcp.target(PROJECT, { projectNumber: PROJECT_NUMBER })],
    },
    rollout: {
      deadlineSeconds: 30,
      pollSeconds: 0.2,
      readinessPollSeconds: 1,
      readinessDeadlineSeconds: 120,
      maxAttempts: 3,
      retryBackoffSeconds: 1,
      // a rollout under way is looked at again after this long (default 30 s) where the worker has the setting
      ...('progressPollSeconds' in rolloutSchema.parse({}) ? { progressPollSeconds: 1 } : {}),
    },
    webhooks: {
      eventGrid: { auth: { method: 'entra', tenantId: sandbox.azure.tenantId, audiences: [grid.webhookApp.identifierUri], authorityHost: sandbox.azure.authorityHost } },
      pubsub: { jwksUrl: pubsub.keys.jwksUrl, audience: PUSH_AUDIENCE, serviceAccountEmail: pubsub.pushServiceAccount },
    },
  };
  restoreConsole = captureConsole(logs);
  process.env.SENSORFLEET_TABLE = table;
  process.env.SENSORFLEET_IDEMPOTENCY_TABLE = stack.tables.IdempotencyTable!.name;
  webhook = await startWebhookFunction({ queueUrl: work.url, region, endpoint: sandbox.aws.endpoint, config, logs });
  process.env.POWERTOOLS_LOG_LEVEL = 'WARN';
  onAwsEvent = await importBundledHandler('functions/on-aws-event.ts');
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  const worker = await importBundledHandler<SqsHandler>('functions/reconcile-worker.ts');
  const sqs = new SQSClient({ region, endpoint: sandbox.aws.endpoint, credentials: sandbox.aws.credentials });
  mapping = new SqsEventSourceMapping(sqs, work.url, work.arn, worker, { region });
  store = new DynamoDbFleetStore(table, region);
  // Lambda polls the queue all the time: so does the sandbox's event source mapping here
  workerLoop = (async () => {
    const result = { invocations: 0, processed: 0, failedRecords: 0 };
    while (!stopWorker) if ((await mapping.pollOnce(result)) === 0) await sleep(100);
  })();

  const eg = await grid.eventGrid.createSubscription({
    name: 'sensorfleet-aks',
    endpoint: `${webhook.url}/azure/event-grid`,
    schema: 'CloudEventSchemaV1_0',
    entra: { tenantId: sandbox.azure.tenantId, applicationIdOrUri: grid.webhookApp.identifierUri },
    subjectContains: ['/providers/Microsoft.ContainerService/managedClusters/', '/providers/Microsoft.Compute/virtualMachineScaleSets/'],
  });
  expect(eg.provisioningState, eg.reason).toBe('Succeeded');
  pubsub.pubsub.createSubscription({ name: 'projects/sensorfleet-host/subscriptions/sensorfleet-gke-audit', topic: pubsub.auditTopic, pushEndpoint: `${webhook.url}/gcp/pubsub`, oidcToken: { serviceAccountEmail: pubsub.pushServiceAccount, audience: PUSH_AUDIENCE } });
}, 180_000);

afterAll(async () => {
  stopWorker = true;
  await workerLoop;
  restoreConsole?.();
  if (figures.length) console.log(`ready -> full coverage (webhook / forwarded event -> queue -> worker):\n${figures.map((f) => `  ${f}`).join('\n')}`);
  grid?.stop();
  await pubsub?.stop();
  forwarding?.stop();
  await webhook?.stop();
  restoreEnv?.();
  resetAwsClients();
  await sandbox?.stop();
  loopback?.stop();
});

/** When the first reconcile of the cluster started (the event reached the worker). */
async function firstReconcileAt(ref: string): Promise<number> {
  const records = await store.listReconciles(ref, 50);
  return Math.min(...records.map((r) => Date.parse(r.startedAt)));
}

/** Waits until the inventory says every node of the cluster runs the sensor; returns when. */
async function fullCoverage(ref: string, timeoutMs = 100_000): Promise<number> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const item = await store.getCluster(ref);
    if (item && ['converged', 'in-sync'].includes(item.outcome) && item.nodes.total > 0 && item.nodes.covered === item.nodes.total) return Date.now();
    if (Date.now() > end) {
      // what each delivery path did, so a failure here says where the event stopped
      const deliveries = { eventGrid: grid.eventGrid.attempts, eventGridDeadLettered: grid.eventGrid.deadLettered.map((d) => ({ id: d.event.id, status: d.status })), webhookLog: logs.filter((l) => l.includes('on-webhook')).slice(-10) };
      throw new Error(`${ref} not covered within ${timeoutMs} ms: ${JSON.stringify(item ?? null)}; ${JSON.stringify(deliveries)}`);
    }
    await sleep(50);
  }
}

describe('enrollment from events, not discovery', () => {
  it('AKS: the cluster reaching Succeeded is delivered by Event Grid and enrolled', async () => {
    let readyAt = 0;
    const stopWatch = sandbox.azure.arm.onWrite((w) => {
      if (w.kind === 'write' && w.resourceId.endsWith(`/managedClusters/aks-wh-${suffix}`)) readyAt = Date.now();
    });
    const aks = await sandbox.azure.fleet.createAksCluster({ resourceGroup: `rg-wh-${suffix}`, name: `aks-wh-${suffix}`, mode: 'entra', creatingForMs: 1500, nodePools: [{ name: 'system', count: 2 }, { name: 'win', count: 1, osType: 'Windows' }] });
    const coveredAt = await fullCoverage(aks.ref);
    stopWatch();
    expect(readyAt).toBeGreaterThan(0);
    figures.push(`AKS ${aks.ref}: ${coveredAt - readyAt} ms (first reconcile after ${(await firstReconcileAt(aks.ref)) - readyAt} ms)`);
    const item = (await store.getCluster(aks.ref))!;
    expect(item.nodes).toEqual({ covered: 2, total: 2 });
    const records = await store.listReconciles(aks.ref, 20);
    expect(records.every((r) => r.trigger?.source !== 'nightly')).toBe(true);
    // the delivery went through the webhook: one CloudEvent, queued
    expect(logs.some((l) => l.includes('webhook delivery') && l.includes(aks.ref))).toBe(true);
    expect(grid.eventGrid.attempts.filter((a) => a.status === 202).length).toBeGreaterThanOrEqual(1);
  }, 150_000);

  it('GKE: the CreateCluster audit entry that says "done" is pushed by Pub/Sub and enrolled; the first entry is ignored', async () => {
    let doneAt = 0;
    const name = `gke-wh-${suffix}`;
    const stopWatch = sandbox.gcp.gke.onOperation((o) => {
      if (o.cluster.name === name && o.phase === 'last') doneAt = Date.now();
    });
    const gke = await sandbox.gcp.fleet.createGkeCluster({ projectId: PROJECT, projectNumber: PROJECT_NUMBER, location: 'europe-west9', name, provisioningForMs: 1500, nodePools: [{ name: 'default-pool', nodeCount: 2 }, { name: 'arm', nodeCount: 1, arch: 'arm64' }] });
    const coveredAt = await fullCoverage(gke.ref);
    stopWatch();
    expect(doneAt).toBeGreaterThan(0);
    figures.push(`GKE ${gke.ref}: ${coveredAt - doneAt} ms (first reconcile after ${(await firstReconcileAt(gke.ref)) - doneAt} ms)`);
    expect((await store.getCluster(gke.ref))!.nodes).toEqual({ covered: 3, total: 3 });
    await pubsub.pubsub.idle();
    const mine = pubsub.pubsub.attempts.filter((a) => a.acked);
    expect(mine.length).toBeGreaterThanOrEqual(2);
    expect(logs.some((l) => l.includes('long-running operation') && l.includes('acting on its last entry'))).toBe(true);
  }, 150_000);

  it('EKS in a member account: the forwarded CloudTrail event is enrolled through the target role; an unconfigured account is dropped', async () => {
    const name = `eks-member-${suffix}`;
    const createdAt = Date.now();
    const eks = await sandbox.fleet.createEksCluster({ accountId: MEMBER, region, name, nodes: [{ name: 'ip-10-1-0-1' }, { name: 'ip-10-1-0-2' }], creatingForMs: 1500 });
    await forwarding.putEvent(MEMBER, region, eksCreateCluster({ account: MEMBER, region }, name));
    // an account that forwards but is no configured target (the bus policy would not admit it; moto does not enforce one)
    await forwarding.addMemberAccount('999988887777', region);
    await forwarding.putEvent('999988887777', region, eksCreateCluster({ account: '999988887777', region }, 'stranger'));
    expect(await forwarding.deliver(onAwsEvent)).toBe(2);
    const coveredAt = await fullCoverage(eks.ref);
    figures.push(`EKS (member account) ${eks.ref}: ${coveredAt - (createdAt + 1500)} ms after ACTIVE (the CreateCluster event came while CREATING; first reconcile ${(await firstReconcileAt(eks.ref)) - createdAt} ms after the call)`);
    expect((await store.getCluster(eks.ref))!.nodes).toEqual({ covered: 2, total: 2 });
    expect(await store.getCluster(`aws-eks:999988887777:${region}:stranger`)).toBeFalsy();
    expect(logs.some((l) => l.includes('event dropped: not a configured target') && l.includes('account 999988887777 is not a configured target'))).toBe(true);
  }, 150_000);

  it('nothing left the loopback interface (the bundled functions run in this process)', () => {
    expect(loopback.connections.length).toBeGreaterThan(0);
    expect(loopback.offLoopback()).toEqual([]);
  });
});
