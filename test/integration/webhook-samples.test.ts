import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SandboxEntra } from '../sandbox/azure/entra';
import { SandboxEventGrid, type EventSubscriptionSpec } from '../sandbox/eventgrid/event-grid';
import { captureConsole, startWebhookFunction, type WebhookFunction } from '../sandbox/eventgrid/webhook-harness';
import { SandboxGoogleKeys } from '../sandbox/pubsub/google-keys';
import { lambdaContext } from '../sandbox/lambda-runner';
import { deployStackResources } from '../sandbox/stack';
import { importBundledHandler } from '../support/bundle';

/**
 * Every public sample in ../shared/reference/events that a webhook receives (copies in
 * test/fixtures/events/reference, untouched; bare records wrapped in the envelope the webhook really
 * gets), and the repo's own wrapped samples in events/azure and events/gcp, through the bundled
 * on-webhook: what each one is answered, and what it queued.
 */
const REF = 'test/fixtures/events/reference';
const ref = (f: string) => JSON.parse(readFileSync(join(REF, f), 'utf8')) as any;
const sample = (f: string) => JSON.parse(readFileSync(join('events', f), 'utf8')) as any;
const region = 'eu-north-1';
const endpoint = inject('motoUrl');
const tenant = randomUUID();
const WEBHOOK_URI = 'api://sensorfleet-webhook';
const PUSH_SA = 'sensorfleet-push@sensorfleet-host.iam.gserviceaccount.com';
const PUSH_AUDIENCE = 'https://sensorfleet.example/gcp/pubsub';

let entra: SandboxEntra;
let eventGrid: SandboxEventGrid;
let google: SandboxGoogleKeys;
let fn: WebhookFunction;
let restoreConsole: () => void;
const logs: string[] = [];

beforeAll(async () => {
  Object.assign(process.env, { AWS_ENDPOINT_URL: endpoint, AWS_REGION: region, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' });
  const stack = await deployStackResources({ stage: `ws${randomBytes(3).toString('hex')}`, region, accountId: '123456789012', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, endpoint });
  entra = await SandboxEntra.start();
  entra.addTenant(tenant);
  eventGrid = new SandboxEventGrid(entra);
  eventGrid.enableEntraDelivery(tenant, { identifiers: [WEBHOOK_URI] });
  google = await SandboxGoogleKeys.start();
  restoreConsole = captureConsole(logs);
  fn = await startWebhookFunction({
    queueUrl: Object.values(stack.queues).find((q) => q.name.endsWith('-work.fifo'))!.url,
    region,
    endpoint,
    logs,
    config: {
      targets: {
        // the subscription of events/azure's samples, the project of the reference audit entry
        azure: [{ tenantId: tenant, subscriptionId: '8f3a9c2e-1b4d-4e5f-a6b7-c8d9e0f1a2b3', clientId: randomUUID(), endpoints: { resourceManager: 'https://127.0.0.1:9', authorityHost: entra.url } }],
        gcp: [{ projectId: 'sccfindings29396', auth: { method: 'credential-file', secretId: 'sensorfleet/cloud/unused' } }],
      },
      webhooks: {
        eventGrid: { auth: { method: 'entra', tenantId: tenant, audiences: [WEBHOOK_URI], authorityHost: entra.url } },
        pubsub: { jwksUrl: google.jwksUrl, audience: PUSH_AUDIENCE, serviceAccountEmail: PUSH_SA },
      },
    },
  });
}, 120_000);

afterAll(async () => {
  restoreConsole?.();
  await fn?.stop();
  await entra?.stop();
  await google?.stop();
});

const spec = (): EventSubscriptionSpec => ({ name: 'samples', endpoint: `${fn.url}/azure/event-grid`, schema: 'EventGridSchema', entra: { tenantId: tenant, applicationIdOrUri: WEBHOOK_URI } });

async function grid(body: unknown, type = 'Notification', contentType = 'application/json') {
  const out = await eventGrid.post(spec(), JSON.stringify(body), { 'content-type': contentType, 'aeg-event-type': type });
  return { status: out.status, json: out.body ? JSON.parse(out.body) : undefined, queued: await fn.received() };
}

async function push(body: unknown) {
  const token = await google.idToken({ audience: PUSH_AUDIENCE, email: PUSH_SA });
  const res = await fetch(`${fn.url}/gcp/pubsub`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
  return { status: res.status, json: JSON.parse(await res.text()), queued: await fn.received() };
}

const pushOf = (message: Record<string, unknown>) => ({ message, subscription: 'projects/sensorfleet-host/subscriptions/sensorfleet-gke' });
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64');

describe('Azure Event Grid reference samples', () => {
  it('SubscriptionValidationEvent: 200 with exactly the documented validation response', async () => {
    const r = await grid(ref('azure-eventgrid-subscriptionvalidationevent.json'), 'SubscriptionValidation');
    expect(r.status).toBe(200);
    expect(r.json).toEqual(ref('azure-eventgrid-subscriptionvalidation-response.json'));
    expect(r.queued).toEqual([]);
  });

  it('the CloudEvents abuse-protection handshake (OPTIONS, WebHook-Request-Origin) is granted to Event Grid', async () => {
    const res = await fetch(`${fn.url}/azure/event-grid`, { method: 'OPTIONS', headers: { 'WebHook-Request-Origin': 'eventgrid.azure.net', 'WebHook-Request-Rate': '120' } });
    expect([res.status, res.headers.get('webhook-allowed-origin'), res.headers.get('allow')]).toEqual([200, 'eventgrid.azure.net', 'POST, OPTIONS']);
    const other = await fetch(`${fn.url}/azure/event-grid`, { method: 'OPTIONS', headers: { 'WebHook-Request-Origin': 'evil.example.com' } });
    expect([other.status, other.headers.get('webhook-allowed-origin')]).toEqual([403, null]);
  });

  it('ResourceWriteSuccess of a storage account (the official sample): 200, ignored as not an AKS resource', async () => {
    const r = await grid([ref('azure-eventgrid-resourcewritesuccess-eventgridschema.json')]);
    expect([r.status, r.json.status, r.queued]).toEqual([200, 'ignored', []]);
    expect(r.json.reasons[0]).toMatch(/Microsoft\.Storage\/storageAccounts: not an AKS resource/);
  });

  it('NewKubernetesVersionAvailable: 200, informational', async () => {
    const r = await grid([ref('azure-aks-newkubernetesversionavailable-eventgridschema.json')]);
    expect([r.status, r.json.reasons, r.queued]).toEqual([200, ['AKS NewKubernetesVersionAvailable is informational: the sensor needs no change'], []]);
  });

  it('NodePoolRollingStarted as published (topic with {subscription-id} placeholders): 400 with the reason', async () => {
    const r = await grid([ref('azure-aks-nodepoolrollingstarted-eventgridschema.json')]);
    expect([r.status, r.json.error, r.queued]).toEqual([400, 'malformed', []]);
    expect(r.json.reason).toMatch(/not a cluster reference/);
  });

  it('the same NodePoolRollingStarted on a real cluster topic: 202, nodes-changed queued', async () => {
    const e = ref('azure-aks-nodepoolrollingstarted-eventgridschema.json');
    e.topic = '/subscriptions/8f3a9c2e-1b4d-4e5f-a6b7-c8d9e0f1a2b3/resourceGroups/rg-platform/providers/Microsoft.ContainerService/managedClusters/aks-prod';
    e.id = randomUUID();
    const r = await grid([e]);
    expect([r.status, r.queued.map((q) => [q.kind, q.cluster])]).toEqual([202, [['nodes-changed', 'azure-aks:8f3a9c2e-1b4d-4e5f-a6b7-c8d9e0f1a2b3:rg-platform:aks-prod']]]);
  });
});

describe("the repo's Event Grid samples (events/azure)", () => {
  it('AKS ResourceWriteSuccess (Event Grid schema): cluster-created queued, then a redelivery is a duplicate', async () => {
    const r = await grid(sample('azure/eventgrid-aks-resourcewritesuccess.json'));
    expect([r.status, r.queued.map((q) => [q.id, q.kind])]).toEqual([202, [['azure-eventgrid:4db48cba-50a2-455a-93b4-de41a3b5b7f7', 'cluster-created']]]);
    expect((await grid(sample('azure/eventgrid-aks-resourcewritesuccess.json'))).json.status).toBe('duplicate');
  });

  it('a CloudEvent (structured, application/cloudevents+json: base64 through the Function URL) and a CloudEvents batch', async () => {
    const single = sample('azure/cloudevent-aks-resourcewritesuccess.json');
    single.id = randomUUID();
    const r = await grid(single, 'Notification', 'application/cloudevents+json; charset=utf-8');
    expect([r.status, r.queued.map((q) => q.kind)]).toEqual([202, ['cluster-created']]);
    const batch = await grid(sample('azure/cloudevents-aks-batch.json'), 'Notification', 'application/cloudevents-batch+json; charset=utf-8');
    expect([batch.status, batch.queued.map((q) => q.kind)]).toEqual([202, ['nodes-changed', 'nodes-changed']]);
  });

  it('a batch with a validation event among others is refused (Event Grid sends the handshake alone)', async () => {
    const r = await grid(sample('azure/eventgrid-aks-mixed-batch.json'));
    expect([r.status, r.json.reason, r.queued]).toEqual([400, 'a SubscriptionValidationEvent comes alone', []]);
    const withoutValidation = sample('azure/eventgrid-aks-mixed-batch.json').filter((e: any) => e.eventType !== 'Microsoft.EventGrid.SubscriptionValidationEvent');
    const ok = await grid(withoutValidation);
    expect(ok.status).toBe(202);
    // the agent pool write and the NodePoolRollingStarted carry the ids of the CloudEvents batch above: not queued again
    expect(ok.queued.map((q) => q.kind)).toEqual(['cluster-deleted']);
    expect(ok.json.events).toEqual(['azure-eventgrid:4db48cba-50a2-455a-93b4-de41a3b5b7f9']);
  });
});

describe('GCP reference samples (Pub/Sub push)', () => {
  const entry = ref('gcp-auditlog-gke-createcluster-logentry.json');

  it('the CreateCluster audit entry as logged first (operation.first): 200, acted on when its last entry comes', async () => {
    const r = await push(pushOf({ data: b64(entry), messageId: '7185632113041901', publishTime: '2023-01-25T06:43:49.000Z' }));
    expect([r.status, r.queued]).toEqual([200, []]);
    expect(r.json.reasons[0]).toMatch(/CreateCluster: long-running operation operation-1674629028274-a0ec9b53 started; acting on its last entry/);
  });

  it('its last entry (operation.last): 202, cluster-created for the project id of the resource path', async () => {
    const last = { ...entry, insertId: 'last-entry', operation: { id: entry.operation.id, producer: 'container.googleapis.com', last: true } };
    delete last.protoPayload.response;
    const r = await push(pushOf({ data: b64(last), messageId: '7185632113041902', publishTime: '2023-01-25T06:49:00.000Z' }));
    expect([r.status, r.queued.map((q) => [q.id, q.kind, q.cluster])]).toEqual([202, [['gcp-pubsub:7185632113041902', 'cluster-created', 'gcp-gke:sccfindings29396:us-east1-d:gke']]]);
  });

  it('the documented push body (hello world): 200, plain text is no cluster event', async () => {
    const r = await push(ref('gcp-pubsub-push-body-docs-edited.json'));
    expect([r.status, r.json.reasons, r.queued]).toEqual([200, ['message data is not a Cloud Audit LogEntry (plain text)'], []]);
  });

  it('the GKE UpgradeEvent of the control plane (a notification message): 200, nodes unchanged', async () => {
    const r = await push(pushOf(ref('gcp-gke-notification-upgradeevent-controlplane-message.json')));
    expect([r.status, r.json.reasons, r.queued]).toEqual([200, ['GKE UpgradeEvent of the control plane: the nodes are unchanged'], []]);
  });

  it('events/gcp: SetNodePoolSize (v1) acted on when done; a NODE_POOL UpgradeEvent of an unconfigured project number is dropped with the reason', async () => {
    const size = sample('gcp/pubsub-push-auditlog-setnodepoolsize.json');
    const first = await push(size);
    expect([first.status, first.json.reasons]).toEqual([200, [expect.stringMatching(/SetNodePoolSize: long-running operation .* started/)]]);
    // the operation's last entry, delivered as its own message
    const entry = JSON.parse(Buffer.from(size.message.data, 'base64').toString('utf8'));
    entry.operation = { id: entry.operation.id, producer: 'container.googleapis.com', last: true };
    const r = await push({ ...size, message: { ...size.message, messageId: '7185632113041999', message_id: '7185632113041999', data: b64(entry) } });
    expect(r.status).toBe(202);
    expect(r.queued.map((q) => [q.kind, q.cluster])).toEqual([['nodes-changed', 'gcp-gke:sccfindings29396:us-east1-d:gke']]);
    const upgrade = await push(sample('gcp/pubsub-push-gke-upgrade-nodepool.json'));
    // project number 0123456789 is not a configured one: acknowledged, not queued, with the reason
    expect([upgrade.status, upgrade.queued]).toEqual([200, []]);
    expect(upgrade.json.reasons[0]).toMatch(/project number 0123456789 is not mapped to a configured target/);
  });

  it("Google's published example token claims (2019, header and claim set): refused as expired; the same claims made current pass", async () => {
    const claims = ref('gcp-pubsub-push-oidc-jwt-claims.json');
    const header = ref('gcp-pubsub-push-oidc-jwt-header.json');
    const sign = async (c: Record<string, unknown>) => {
      const key = (google as any).keys[0];
      return new SignJWT(c).setProtectedHeader({ ...header, kid: key.kid }).sign(key.privateKey);
    };
    const body = pushOf({ data: b64({ hello: 'world' }), messageId: '2070443601311540', publishTime: '2021-02-26T19:13:55.749Z' });
    const post = async (token: string) => {
      const res = await fetch(`${fn.url}/gcp/pubsub`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
      return { status: res.status, json: JSON.parse(await res.text()) };
    };
    const published = await post(await sign({ ...claims, aud: PUSH_AUDIENCE, email: PUSH_SA }));
    expect([published.status, published.json.reason]).toEqual([401, 'token expired']);
    const now = Math.floor(Date.now() / 1000);
    const current = await post(await sign({ ...claims, aud: PUSH_AUDIENCE, email: PUSH_SA, iat: now, exp: now + 3600 }));
    expect([current.status, current.json.status]).toEqual([200, 'ignored']);
    expect(await fn.received()).toEqual([]);
  });
});

describe('the Lambda envelopes of the samples (payload format 2.0)', () => {
  it('the documented Function URL and HTTP API events reach the handler: unknown paths are 404, a non-HTTP event 400', async () => {
    const handler = await importBundledHandler<(e: unknown, c: unknown) => Promise<{ statusCode: number; body: string }>>('functions/on-webhook.ts');
    const url = await handler(ref('aws-lambda-function-url-event.json'), lambdaContext('on-webhook'));
    expect([url.statusCode, JSON.parse(url.body).reason]).toEqual([404, 'no webhook is configured at /my/path']);
    const api = await handler(ref('aws-apigateway-http-api-v2-event.json'), lambdaContext('on-webhook'));
    expect(api.statusCode).toBe(404);
    const sqs = await handler(ref('aws-lambda-sqs-event.json'), lambdaContext('on-webhook'));
    expect(sqs.statusCode).toBe(400);
  });
});

describe('replies', () => {
  it('oversized bodies are 413; wrong methods 405; unknown paths 404; not JSON 400 — nothing queued', async () => {
    const big = await fetch(`${fn.url}/gcp/pubsub`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'x'.repeat(1024 * 1024 + 1) });
    expect(big.status).toBe(413);
    expect((await fetch(`${fn.url}/gcp/pubsub`, { method: 'GET' })).status).toBe(405);
    expect((await fetch(`${fn.url}/elsewhere`, { method: 'POST', body: '{}' })).status).toBe(404);
    const notJson = await eventGrid.post(spec(), 'not json', { 'content-type': 'application/json' });
    expect([notJson.status, JSON.parse(notJson.body).reason]).toEqual([400, 'body is not JSON']);
    const notPush = await push({ hello: 'world' });
    expect(notPush.status).toBe(400);
    expect(await fn.received()).toEqual([]);
  });
});

