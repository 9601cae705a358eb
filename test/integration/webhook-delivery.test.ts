import { randomBytes } from 'node:crypto';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { resetArmClients } from '../../shared/platforms/aks/arm';
import { resetAzureCredentials } from '../../shared/platforms/aks/credential';
import { nodeResourceGroupOf } from '../sandbox/azure/arm';
import { aksSystemEvent, resourceEvent, vmssResourceId } from '../sandbox/eventgrid/arm-events';
import { startEventGridSandbox, type EventGridSandbox } from '../sandbox/eventgrid/index';
import { captureConsole, startWebhookFunction, type WebhookFunction } from '../sandbox/eventgrid/webhook-harness';
import { startSandbox, type CloudSandbox } from '../sandbox/index';
import { startPubSubSandbox, type PubSubSandbox } from '../sandbox/pubsub/index';
import { deployStackResources } from '../sandbox/stack';

/**
 * The sandbox's Event Grid and Pub/Sub delivering to the bundled on-webhook as the services do: both
 * Event Grid handshakes, a 503 while the queue is down (then redelivery, queued once), a VM scale set
 * write mapped to its cluster through the node resource group's AKS-managed tags (one ARM read as the
 * Entra application), AKS system events, a GKE cluster's audit entries through the log sink (first
 * ignored, last acted on), Pub/Sub's redelivery after a 503, and GKE cluster notifications.
 */
const suffix = randomBytes(3).toString('hex');
const region = 'ap-northeast-2';
const PROJECT = 'webhook-delivery-prj';
const PROJECT_NUMBER = '771155229933';
const PUSH_AUDIENCE = 'https://sensorfleet.example/gcp/pubsub';
const CLIENT_SECRET = randomBytes(16).toString('hex');
let sandbox: CloudSandbox;
let grid: EventGridSandbox;
let pubsub: PubSubSandbox;
let fn: WebhookFunction;
let restoreEnv: () => void;
let restoreConsole: () => void;
const logs: string[] = [];

beforeAll(async () => {
  sandbox = await startSandbox({ motoUrl: inject('motoUrl'), region, clouds: true });
  restoreEnv = sandbox.useAwsEnv();
  const stack = await deployStackResources({ stage: `wd${suffix}`, ...sandbox.aws });
  // the VM scale set lookup reads ARM as the Entra application, here with a client secret from Secrets Manager
  const app = sandbox.azure.registerApp({ secret: CLIENT_SECRET });
  const sm = new SecretsManagerClient({ region, endpoint: sandbox.aws.endpoint, credentials: sandbox.aws.credentials });
  await sm.send(new CreateSecretCommand({ Name: `sensorfleet/cloud/azure-${suffix}`, SecretString: JSON.stringify({ clientSecret: CLIENT_SECRET }) }));
  sm.destroy();
  resetAzureCredentials();
  resetArmClients();
  grid = startEventGridSandbox(sandbox.azure);
  pubsub = await startPubSubSandbox(sandbox.gcp);
  restoreConsole = captureConsole(logs);
  fn = await startWebhookFunction({
    queueUrl: Object.values(stack.queues).find((q) => q.name.endsWith('-work.fifo'))!.url,
    region,
    endpoint: sandbox.aws.endpoint,
    logs,
    config: {
      targets: {
        azure: [sandbox.azure.targetConfig(app, { auth: { method: 'client-secret', secretId: `sensorfleet/cloud/azure-${suffix}` } })],
        gcp: [sandbox.gcp.target(PROJECT, { projectNumber: PROJECT_NUMBER })],
      },
      webhooks: {
        eventGrid: { auth: { method: 'entra', tenantId: sandbox.azure.tenantId, audiences: [grid.webhookApp.identifierUri], authorityHost: sandbox.azure.authorityHost } },
        pubsub: { jwksUrl: pubsub.keys.jwksUrl, audience: PUSH_AUDIENCE, serviceAccountEmail: pubsub.pushServiceAccount },
      },
    },
  });
  const egSpec = { endpoint: `${fn.url}/azure/event-grid`, entra: { tenantId: sandbox.azure.tenantId, applicationIdOrUri: grid.webhookApp.identifierUri } };
  const a = await grid.eventGrid.createSubscription({ ...egSpec, name: 'eventgrid-schema', schema: 'EventGridSchema', subjectContains: ['/providers/Microsoft.ContainerService/managedClusters/', '/providers/Microsoft.Compute/virtualMachineScaleSets/'] });
  expect(a.provisioningState, a.reason).toBe('Succeeded');
  pubsub.pubsub.createSubscription({
    name: 'projects/sensorfleet-host/subscriptions/sensorfleet-gke-audit',
    topic: pubsub.auditTopic,
    pushEndpoint: `${fn.url}/gcp/pubsub`,
    oidcToken: { serviceAccountEmail: pubsub.pushServiceAccount, audience: PUSH_AUDIENCE },
    deadLetter: { topic: 'projects/sensorfleet-host/topics/sensorfleet-dead-letter', maxDeliveryAttempts: 5 },
  });
  pubsub.pubsub.createSubscription({ name: 'projects/sensorfleet-host/subscriptions/sensorfleet-gke-notifications', topic: pubsub.notificationTopic, pushEndpoint: `${fn.url}/gcp/pubsub`, oidcToken: { serviceAccountEmail: pubsub.pushServiceAccount, audience: PUSH_AUDIENCE } });
}, 180_000);

afterAll(async () => {
  restoreConsole?.();
  grid?.stop();
  await pubsub?.stop();
  await fn?.stop();
  restoreEnv?.();
  await sandbox?.stop();
});

describe('Event Grid', () => {
  it('the CloudEvents schema subscription is validated with the OPTIONS handshake; one without Entra token fails validation', async () => {
    const ok = await grid.eventGrid.createSubscription({ name: 'cloudevents', endpoint: `${fn.url}/azure/event-grid`, schema: 'CloudEventSchemaV1_0', entra: { tenantId: sandbox.azure.tenantId, applicationIdOrUri: grid.webhookApp.identifierUri }, includedEventTypes: ['Microsoft.ContainerService.NodePoolRollingSucceeded'] });
    expect(ok.provisioningState, ok.reason).toBe('Succeeded');
    const unauthenticated = await grid.eventGrid.createSubscription({ name: 'no-entra', endpoint: `${fn.url}/azure/event-grid`, schema: 'EventGridSchema' });
    expect([unauthenticated.provisioningState, unauthenticated.reason]).toEqual(['Failed', expect.stringContaining('response code 401')]);
  });

  it('an AKS cluster reaching Succeeded: the ARM write is delivered and queued once (the CloudEvents subscription filters it out)', async () => {
    const aks = await sandbox.azure.fleet.createAksCluster({ resourceGroup: `rg-wd-${suffix}`, name: 'aks-delivered', mode: 'entra', creatingForMs: 300, nodePools: [{ name: 'system', count: 1 }] });
    await sleepUntil(() => grid.eventGrid.attempts.some((x) => x.status === 202), () => `Event Grid attempts: ${JSON.stringify(grid.eventGrid.attempts)}`);
    await grid.eventGrid.idle();
    expect((await fn.received()).map((e) => [e.kind, e.cluster])).toEqual([['cluster-created', aks.ref]]);
  });

  it('the queue unavailable: 503, Event Grid delivers again, queued once', async () => {
    sandbox.front.faults = { failNext: { service: 'sqs', count: 16, status: 503 } };
    const clusterId = `/subscriptions/${sandbox.azure.subscriptionId}/resourceGroups/rg-wd-${suffix}/providers/Microsoft.ContainerService/managedClusters/aks-retry`;
    const event = resourceEvent({ kind: 'write', resourceId: clusterId, operationName: 'Microsoft.ContainerService/managedClusters/write' }, { subscriptionId: sandbox.azure.subscriptionId, tenantId: sandbox.azure.tenantId });
    grid.eventGrid.publish([event]);
    await grid.eventGrid.idle();
    sandbox.front.faults = {};
    const attempts = grid.eventGrid.attempts.filter((a) => a.eventId === event.id).map((a) => a.status);
    expect(attempts[0]).toBe(503);
    expect(attempts.at(-1)).toBe(202);
    expect((await fn.received()).map((e) => e.id)).toEqual([`azure-eventgrid:${event.id}`]);
  });

  it("a VM scale set write in a node resource group: mapped through the group's AKS-managed tags to its cluster", async () => {
    const aks = await sandbox.azure.fleet.createAksCluster({ resourceGroup: `rg-vmss-${suffix}`, name: 'aks-vmss', mode: 'entra', nodePools: [{ name: 'system', count: 1 }, { name: 'batch', count: 1 }] });
    await created(aks.ref);
    const nodes = sandbox.azure.fleet.addNodes(aks.ref, 'batch', 2);
    const vmss = /^(aks-batch-\d{8}-vmss)/.exec(nodes[0]!.name)![1]!;
    const nodeRg = nodeResourceGroupOf({ resourceGroup: `rg-vmss-${suffix}`, name: 'aks-vmss', location: 'westeurope' });
    sandbox.azure.arm.emitWrite({ kind: 'write', resourceId: vmssResourceId(sandbox.azure.subscriptionId, nodeRg, vmss), operationName: 'Microsoft.Compute/virtualMachineScaleSets/write' });
    // a scale set in an ordinary resource group is acknowledged and ignored
    sandbox.azure.arm.addResourceGroup(sandbox.azure.subscriptionId, `rg-plain-${suffix}`);
    sandbox.azure.arm.emitWrite({ kind: 'write', resourceId: vmssResourceId(sandbox.azure.subscriptionId, `rg-plain-${suffix}`, 'web-vmss'), operationName: 'Microsoft.Compute/virtualMachineScaleSets/write' });
    await grid.eventGrid.idle();
    const queued = await fn.received();
    expect(queued.map((e) => [e.kind, e.cluster, e.detail.agentPool, e.detail.nodeResourceGroup])).toEqual([['nodes-changed', aks.ref, 'batch', nodeRg]]);
    expect(sandbox.azure.requests.arm.filter((r) => r.method === 'GET' && /\/resourcegroups\/[^/]+$/i.test(r.path)).map((r) => r.status)).toEqual([200, 200]);
    expect(logs.some((l) => l.includes('has no aks-managed-cluster-name/-rg tags: not an AKS node resource group'))).toBe(true);
  });

  it('AKS system events: node pool rolling -> nodes-changed; new version and support ending are acknowledged as informational', async () => {
    const aks = await sandbox.azure.fleet.createAksCluster({ resourceGroup: `rg-sys-${suffix}`, name: 'aks-sys', mode: 'entra', nodePools: [{ name: 'system', count: 1 }] });
    await created(aks.ref);
    const rolling = aksSystemEvent(aks.id, 'NodePoolRollingSucceeded', { nodePoolName: 'system' });
    const version = aksSystemEvent(aks.id, 'NewKubernetesVersionAvailable', { latestSupportedKubernetesVersion: '1.33.1', latestStableKubernetesVersion: '1.32.5', lowestMinorKubernetesVersion: '1.31.9', latestPreviewKubernetesVersion: '1.34.0' });
    const ending = aksSystemEvent(aks.id, 'ClusterSupportEnding', { kubernetesVersion: '1.31.9' });
    const failed = aksSystemEvent(aks.id, 'NodePoolRollingFailed', { nodePoolName: 'system' });
    // a cluster's own system topic publishes to its subscriptions: here, the two of this file
    grid.eventGrid.publish([rolling, version, ending, failed].map((e) => ({ ...e, subject: `${aks.id}` })));
    await grid.eventGrid.idle();
    const queued = await fn.received();
    expect(queued.map((e) => [e.id, e.kind]).sort()).toEqual([[`azure-eventgrid:${failed.id}`, 'nodes-changed'], [`azure-eventgrid:${rolling.id}`, 'nodes-changed']].sort());
    expect(logs.some((l) => l.includes('AKS ClusterSupportEnding is informational'))).toBe(true);
  });
});

describe('Pub/Sub push', () => {
  it("a GKE cluster's audit entries through the log sink: the first is acknowledged and ignored, the last one queues cluster-created", async () => {
    const gke = await sandbox.gcp.fleet.createGkeCluster({ projectId: PROJECT, projectNumber: PROJECT_NUMBER, location: 'asia-northeast3', name: `gke-wd-${suffix}`, provisioningForMs: 400, nodePools: [{ name: 'default-pool', nodeCount: 1 }] });
    await sleepUntil(() => pubsub.pubsub.attempts.filter((a) => a.acked).length >= 2);
    await pubsub.pubsub.idle();
    expect((await fn.received()).map((e) => [e.kind, e.cluster, e.detail.methodName])).toEqual([['cluster-created', gke.ref, 'google.container.v1.ClusterManager.CreateCluster']]);
    expect(logs.some((l) => l.includes('CreateCluster: long-running operation') && l.includes('started; acting on its last entry'))).toBe(true);
  });

  it('the queue unavailable: 503 (a nack), Pub/Sub pushes again with backoff, queued once', async () => {
    const gke = await sandbox.gcp.fleet.createGkeCluster({ projectId: PROJECT, projectNumber: PROJECT_NUMBER, location: 'asia-northeast3', name: `gke-retry-${suffix}`, nodePools: [{ name: 'default-pool', nodeCount: 1 }] });
    await pubsub.pubsub.idle();
    await fn.received();
    sandbox.front.faults = { failNext: { service: 'sqs', count: 16, status: 503 } };
    const before = pubsub.pubsub.attempts.length;
    sandbox.gcp.fleet.addNodes(gke.ref, 'default-pool', 1);
    await pubsub.pubsub.idle();
    sandbox.front.faults = {};
    const mine = pubsub.pubsub.attempts.slice(before).filter((a) => a.subscription.endsWith('sensorfleet-gke-audit'));
    expect(mine.some((a) => a.status === 503)).toBe(true);
    expect(mine.at(-1)!.acked).toBe(true);
    expect((await fn.received()).map((e) => [e.kind, e.detail.nodePool])).toEqual([['nodes-changed', 'default-pool']]);
  });

  it('GKE cluster notifications: a NODE_POOL UpgradeEvent names the project by number -> mapped to the id; other types are informational', async () => {
    const attributes = (type: string, payload: Record<string, unknown>) => ({ cluster_name: 'gke-notified', cluster_location: 'asia-northeast3', project_id: PROJECT_NUMBER, type_url: `type.googleapis.com/google.container.v1beta1.${type}`, payload: JSON.stringify(payload) });
    pubsub.pubsub.publish(pubsub.notificationTopic, { data: 'Node pool default-pool is upgrading to version 1.33.1-gke.100.', attributes: attributes('UpgradeEvent', { resourceType: 'NODE_POOL', operation: 'operation-1', currentVersion: '1.32.4-gke.200', targetVersion: '1.33.1-gke.100', resource: `projects/${PROJECT_NUMBER}/locations/asia-northeast3/clusters/gke-notified/nodePools/default-pool` }) });
    pubsub.pubsub.publish(pubsub.notificationTopic, { data: 'Security bulletin', attributes: attributes('SecurityBulletinEvent', { bulletinId: 'GCP-2026-001', severity: 'HIGH', resourceTypeAffected: 'RESOURCE_TYPE_NODE' }) });
    await pubsub.pubsub.idle();
    expect((await fn.received()).map((e) => [e.kind, e.cluster])).toEqual([['nodes-changed', `gcp-gke:${PROJECT}:asia-northeast3:gke-notified`]]);
    expect(logs.some((l) => l.includes('GKE SecurityBulletinEvent notification is informational'))).toBe(true);
  });

  it('a malformed push is answered 400 and, nacked, ends in the dead-letter topic after maxDeliveryAttempts', async () => {
    const before = pubsub.pubsub.published.length;
    pubsub.pubsub.publish(pubsub.auditTopic, { data: JSON.stringify({ insertId: 'x', protoPayload: { serviceName: 'container.googleapis.com', methodName: 'google.container.v1.ClusterManager.CreateCluster', resourceName: 'projects/p/clusters' } }) });
    await pubsub.pubsub.idle();
    const deadLettered = pubsub.pubsub.published.slice(before).filter((p) => p.topic.endsWith('sensorfleet-dead-letter'));
    expect(deadLettered).toHaveLength(1);
    expect(deadLettered[0]!.message.attributes.CloudPubSubDeadLetterSourceDeliveryCount).toBe('5');
    expect(await fn.received()).toEqual([]);
  });
});

describe('no traffic but to the sandbox', () => {
  it('the webhook read keys only from the sandbox JWKS endpoints, and ARM from the sandbox ARM', () => {
    expect(pubsub.keys.requests.length).toBeGreaterThan(0);
    expect(pubsub.keys.requests.every((r) => r.status === 200)).toBe(true);
    expect(sandbox.azure.requests.entra.some((r) => r.path.endsWith('/discovery/v2.0/keys'))).toBe(true);
  });
});

/** Waits for the cluster-created work item of a new cluster (ARM reports the write right after it). */
async function created(ref: string): Promise<void> {
  const end = Date.now() + 45_000;
  while (!(await fn.received()).some((e) => e.kind === 'cluster-created' && e.cluster === ref)) {
    if (Date.now() > end) throw new Error(`no cluster-created for ${ref}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Generous on a loaded 2-core machine: the condition ends the wait, the limit only names a failure. */
async function sleepUntil(cond: () => boolean, why: () => string = () => '', timeoutMs = 45_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms ${why()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}


