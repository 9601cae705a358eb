import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SandboxEntra } from '../sandbox/azure/entra';
import { resourceEvent } from '../sandbox/eventgrid/arm-events';
import { EVENT_GRID_APP_ID, SandboxEventGrid, type EventSubscriptionSpec } from '../sandbox/eventgrid/event-grid';
import { captureConsole, startWebhookFunction, type WebhookFunction } from '../sandbox/eventgrid/webhook-harness';
import { gkeAuditEntry } from '../sandbox/pubsub/audit-log';
import { SandboxGoogleKeys } from '../sandbox/pubsub/google-keys';
import { SandboxPubSub } from '../sandbox/pubsub/pubsub';
import { deployStackResources } from '../sandbox/stack';

/**
 * The authentication matrix of on-webhook (issue 8), against the bundled function behind a sandbox
 * Function URL: Event Grid with an Entra token of the sandbox tenant (tokens from the sandbox Entra, as
 * Event Grid's application gets them), Event Grid with a shared secret from Secrets Manager (moto), and
 * Pub/Sub push with OIDC tokens signed by the sandbox Google key (JWKS on 127.0.0.1). Each refusal
 * leaves the work queue empty; no token or secret appears in a reply or a log line.
 */
const region = 'eu-central-1';
const endpoint = inject('motoUrl');
const suffix = randomBytes(3).toString('hex');
const tenant = randomUUID();
const otherTenant = randomUUID();
const subscription = randomUUID();
const WEBHOOK_URI = 'api://sensorfleet-webhook';
const WEBHOOK_APP_ID = randomUUID();
const PUSH_SA = 'sensorfleet-push@sensorfleet-host.iam.gserviceaccount.com';
const PUSH_AUDIENCE = 'https://sensorfleet.example/gcp/pubsub';
const PROJECT = 'webhook-auth-project';
const SECRET = `s3cr3t-${randomBytes(12).toString('hex')}`;

let entra: SandboxEntra;
let eventGrid: SandboxEventGrid;
let google: SandboxGoogleKeys;
let entraFn: WebhookFunction;
let secretFn: WebhookFunction;
const logs: string[] = [];
let restoreConsole: () => void;
const matrix: { source: string; case: string; status: number; queued: number }[] = [];
const presented: string[] = [SECRET];

beforeAll(async () => {
  Object.assign(process.env, { AWS_ENDPOINT_URL: endpoint, AWS_REGION: region, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' });
  const stack = await deployStackResources({ stage: `wa${suffix}`, region, accountId: '123456789012', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, endpoint });
  const queueUrl = Object.values(stack.queues).find((q) => q.name.endsWith('-work.fifo'))!.url;
  entra = await SandboxEntra.start();
  entra.addTenant(tenant);
  entra.addTenant(otherTenant);
  eventGrid = new SandboxEventGrid(entra);
  eventGrid.enableEntraDelivery(tenant, { identifiers: [WEBHOOK_URI] });
  eventGrid.enableEntraDelivery(otherTenant, { identifiers: [WEBHOOK_URI] });
  // the app id is an accepted audience, but Event Grid holds no app role on it there
  eventGrid.enableEntraDelivery(tenant, { identifiers: [WEBHOOK_APP_ID, 'api://another-app'], assignRole: false });
  google = await SandboxGoogleKeys.start();
  const sm = new SecretsManagerClient({ region, endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  await sm.send(new CreateSecretCommand({ Name: `sensorfleet/webhook/event-grid-${suffix}`, SecretString: JSON.stringify({ secret: SECRET }) }));
  sm.destroy();

  const targets = {
    azure: [{ tenantId: tenant, subscriptionId: subscription, clientId: randomUUID(), endpoints: { resourceManager: 'https://127.0.0.1:9', authorityHost: entra.url } }],
    gcp: [{ projectId: PROJECT, auth: { method: 'credential-file', secretId: 'sensorfleet/cloud/unused' } }],
  };
  restoreConsole = captureConsole(logs);
  const common = { queueUrl, region, endpoint, logs };
  entraFn = await startWebhookFunction({
    ...common,
    config: {
      targets,
      webhooks: {
        eventGrid: { auth: { method: 'entra', tenantId: tenant, audiences: [WEBHOOK_URI, WEBHOOK_APP_ID], authorityHost: entra.url } },
        pubsub: { jwksUrl: google.jwksUrl, audience: PUSH_AUDIENCE, serviceAccountEmail: PUSH_SA },
      },
    },
  });
  secretFn = await startWebhookFunction({
    ...common,
    config: { targets, webhooks: { eventGrid: { auth: { method: 'shared-secret', secretId: `sensorfleet/webhook/event-grid-${suffix}`, secretRegion: region } } } },
  });
}, 120_000);

afterAll(async () => {
  restoreConsole?.();
  if (matrix.length) console.log(`authentication matrix (status, events queued):\n${matrix.map((m) => `  ${m.source.padEnd(22)} ${m.case.padEnd(36)} ${m.status}  queued ${m.queued}`).join('\n')}`);
  await entraFn?.stop();
  await secretFn?.stop();
  await entra?.stop();
  await google?.stop();
});

function clusterWrite(name: string) {
  return resourceEvent({ kind: 'write', resourceId: `/subscriptions/${subscription}/resourcegroups/rg-auth/providers/Microsoft.ContainerService/managedClusters/${name}`, operationName: 'Microsoft.ContainerService/managedClusters/write' }, { subscriptionId: subscription, tenantId: tenant });
}

const NOTIFY = { 'content-type': 'application/json', 'aeg-event-type': 'Notification' };

function spec(fn: WebhookFunction, o: Partial<EventSubscriptionSpec> = {}): EventSubscriptionSpec {
  return { name: 'auth', endpoint: `${fn.url}/azure/event-grid`, schema: 'EventGridSchema', entra: { tenantId: tenant, applicationIdOrUri: WEBHOOK_URI }, ...o };
}

async function record(source: string, name: string, status: number, fn: WebhookFunction, body: string): Promise<number> {
  const queued = (await fn.received()).length;
  matrix.push({ source, case: name, status, queued });
  // a reply never repeats a credential
  for (const secret of presented) expect(body).not.toContain(secret);
  return queued;
}

async function gridDelivery(name: string, s: EventSubscriptionSpec, fn = entraFn, headers: Record<string, string> = {}) {
  const e = clusterWrite(`aks-${name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}`.slice(0, 60).replace(/-+$/, ''));
  const out = await eventGrid.post(s, JSON.stringify([e]), { ...NOTIFY, ...headers });
  const queued = await record(fn === entraFn ? 'Event Grid (Entra)' : 'Event Grid (secret)', name, out.status, fn, out.body);
  return { ...out, queued, event: e };
}

async function entraTokenWith(claims: Record<string, unknown>, o: { unknownKey?: boolean; alg?: 'none' } = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const body = { aud: WEBHOOK_URI, iss: `https://sts.windows.net/${tenant}/`, tid: tenant, appid: EVENT_GRID_APP_ID, roles: ['AzureEventGridSecureWebhookSubscriber'], iat: now, nbf: now, exp: now + 3600, ...claims };
  if (o.alg === 'none') return `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(body)}.`;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return new SignJWT(body).setProtectedHeader({ alg: 'RS256', kid: 'not-an-entra-key', typ: 'JWT' }).sign(privateKey);
}

function b64url(v: unknown): string {
  return Buffer.from(JSON.stringify(v)).toString('base64url');
}

describe('Event Grid with an Entra token', () => {
  it('valid: 202, queued once', async () => {
    const r = await gridDelivery('valid', spec(entraFn));
    expect([r.status, r.queued]).toEqual([202, 1]);
  });

  it('expired: 401, nothing queued', async () => {
    entra.tokenLifetimeSeconds = -600;
    eventGrid.forgetTokens();
    try {
      const r = await gridDelivery('expired', spec(entraFn));
      expect([r.status, r.queued, JSON.parse(r.body).reason]).toEqual([401, 0, 'token expired']);
    } finally {
      entra.tokenLifetimeSeconds = 3599;
      eventGrid.forgetTokens();
    }
  });

  it('not yet valid: 401, nothing queued', async () => {
    entra.issueClockSkewSeconds = 3600;
    eventGrid.forgetTokens();
    try {
      const r = await gridDelivery('not yet valid', spec(entraFn));
      expect([r.status, r.queued]).toEqual([401, 0]);
      expect(JSON.parse(r.body).reason).toMatch(/not yet valid/);
    } finally {
      entra.issueClockSkewSeconds = 0;
      eventGrid.forgetTokens();
    }
  });

  it('wrong audience: 401, nothing queued', async () => {
    const r = await gridDelivery('wrong audience', spec(entraFn, { entra: { tenantId: tenant, applicationIdOrUri: 'api://another-app' } }));
    expect([r.status, r.queued]).toEqual([401, 0]);
    expect(JSON.parse(r.body).reason).toMatch(/audience "api:\/\/another-app"/);
  });

  it('a token of another tenant (wrong issuer): 401, nothing queued', async () => {
    const r = await gridDelivery('another tenant (issuer)', spec(entraFn, { entra: { tenantId: otherTenant, applicationIdOrUri: WEBHOOK_URI } }));
    expect([r.status, r.queued]).toEqual([401, 0]);
    expect(JSON.parse(r.body).reason).toContain(`https://sts.windows.net/${otherTenant}/`);
  });

  it('no app role (AzureEventGridSecureWebhookSubscriber): 403, nothing queued', async () => {
    const r = await gridDelivery('no app role', spec(entraFn, { entra: { tenantId: tenant, applicationIdOrUri: WEBHOOK_APP_ID } }));
    expect([r.status, r.queued]).toEqual([403, 0]);
  });

  it('signed by an unknown key: 401, nothing queued', async () => {
    const token = await entraTokenWith({}, { unknownKey: true });
    presented.push(token);
    const r = await gridDelivery('unknown key', spec(entraFn, { entra: undefined }), entraFn, { authorization: `Bearer ${token}` });
    expect([r.status, r.queued]).toEqual([401, 0]);
  });

  it('alg none: 401, nothing queued', async () => {
    const token = await entraTokenWith({}, { alg: 'none' });
    presented.push(token);
    const r = await gridDelivery('alg none', spec(entraFn, { entra: undefined }), entraFn, { authorization: `Bearer ${token}` });
    expect([r.status, r.queued]).toEqual([401, 0]);
  });

  it('missing token: 401, nothing queued', async () => {
    const r = await gridDelivery('missing token', spec(entraFn, { entra: undefined }));
    expect([r.status, r.queued, JSON.parse(r.body).reason]).toEqual([401, 0, 'no bearer token']);
  });

  it('a replayed delivery: accepted once, queued once (the replay is a 200 duplicate)', async () => {
    const s = spec(entraFn);
    const e = clusterWrite('aks-replayed');
    const first = await eventGrid.post(s, JSON.stringify([e]), NOTIFY);
    const replay = await eventGrid.post(s, JSON.stringify([e]), NOTIFY);
    const queued = await record('Event Grid (Entra)', 'replayed delivery (2 posts)', replay.status, entraFn, replay.body);
    expect([first.status, replay.status, JSON.parse(replay.body).status, queued]).toEqual([202, 200, 'duplicate', 1]);
  });
});

describe('Event Grid with a shared secret from Secrets Manager', () => {
  const bare = () => spec(secretFn, { entra: undefined });

  it('valid secret in the query: 202, queued', async () => {
    const r = await gridDelivery('valid (query)', { ...bare(), endpoint: `${secretFn.url}/azure/event-grid?code=${encodeURIComponent(SECRET)}` }, secretFn);
    expect([r.status, r.queued]).toEqual([202, 1]);
  });

  it('valid secret in the delivery-property header: 202, queued', async () => {
    const r = await gridDelivery('valid (header)', { ...bare(), deliveryHeaders: { 'x-sensorfleet-webhook-secret': SECRET } }, secretFn);
    expect([r.status, r.queued]).toEqual([202, 1]);
  });

  it('wrong secret: 401, nothing queued', async () => {
    const wrong = `${SECRET.slice(0, -1)}x`;
    presented.push(wrong);
    const r = await gridDelivery('wrong secret', { ...bare(), endpoint: `${secretFn.url}/azure/event-grid?code=${wrong}` }, secretFn);
    expect([r.status, r.queued, JSON.parse(r.body).reason]).toEqual([401, 0, 'secret does not match']);
  });

  it('missing secret: 401, nothing queued', async () => {
    const r = await gridDelivery('missing secret', bare(), secretFn);
    expect([r.status, r.queued]).toEqual([401, 0]);
  });

  it('the validation handshake is authenticated too, and answered with the code', async () => {
    const ok = await eventGrid.createSubscription({ ...bare(), name: 'with-secret', endpoint: `${secretFn.url}/azure/event-grid?code=${encodeURIComponent(SECRET)}` });
    const refused = await eventGrid.createSubscription({ ...bare(), name: 'without-secret' });
    expect(ok.provisioningState).toBe('Succeeded');
    expect([refused.provisioningState, refused.reason]).toEqual(['Failed', expect.stringContaining('response code 401')]);
    expect(refused.reason).not.toContain(SECRET);
  });
});

describe('Pub/Sub push with an OIDC token', () => {
  let n = 0;
  const push = async (name: string, token: string | undefined, o: { body?: Record<string, unknown> } = {}): Promise<{ status: number; queued: number; reason: string | undefined; body: Record<string, unknown> }> => {
    if (token) presented.push(token);
    const entry = gkeAuditEntry({ method: 'CreateCluster', phase: 'last', operation: `operation-${Date.now()}-${n++}`, operationType: 'CREATE_CLUSTER', cluster: { projectId: PROJECT, projectNumber: '204518273645', location: 'europe-west1', name: `gke-${n}` } });
    const body = o.body ?? SandboxPubSub.pushBody('projects/sensorfleet-host/subscriptions/gke-audit', { messageId: String(10_000_000 + n), publishTime: new Date().toISOString(), data: Buffer.from(JSON.stringify(entry)).toString('base64'), attributes: {} });
    const res = await fetch(`${entraFn.url}/gcp/pubsub`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
    const text = await res.text();
    const queued = await record('Pub/Sub push (OIDC)', name, res.status, entraFn, text);
    return { status: res.status, queued, reason: res.status >= 400 ? (JSON.parse(text) as { reason: string }).reason : undefined, body };
  };
  const now = (): number => Math.floor(Date.now() / 1000);
  const token = (o: Partial<Parameters<SandboxGoogleKeys['idToken']>[0]> = {}): Promise<string> => google.idToken({ audience: PUSH_AUDIENCE, email: PUSH_SA, ...o });

  it('valid: 202, queued once', async () => {
    const r = await push('valid', await token());
    expect([r.status, r.queued]).toEqual([202, 1]);
  });

  const refusals: [string, () => Promise<string | undefined>, number, RegExp][] = [
    ['expired', () => token({ issuedAt: now() - 7200, expiresAt: now() - 3600 }), 401, /expired|too old/],
    ['not yet valid (iat in the future)', () => token({ issuedAt: now() + 3600, expiresAt: now() + 7200 }), 401, /not yet valid/],
    ['wrong audience', () => token({ audience: 'https://someone-else.example/push' }), 401, /audience/],
    ['wrong issuer', () => token({ issuer: 'https://accounts.example.com' }), 401, /issuer/],
    ['wrong service account email', () => token({ email: 'intruder@evil-project.iam.gserviceaccount.com' }), 403, /service account intruder@/],
    ['email_verified false', () => token({ emailVerified: false }), 403, /email_verified/],
    ['signed by an unknown key', () => token({ unknownKey: true }), 401, /not in the issuer key set/],
    ['alg none', async () => `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ iss: 'https://accounts.google.com', aud: PUSH_AUDIENCE, email: PUSH_SA, email_verified: true, iat: now(), exp: now() + 3600 })}.`, 401, /RS256|valid signed JWT/],
    ['missing token', async () => undefined, 401, /no bearer token/],
  ];
  it.each(refusals)('%s: refused, nothing queued', async (name, make, status, reason) => {
    const r = await push(name, await make());
    expect([r.status, r.queued]).toEqual([status, 0]);
    expect(r.reason).toMatch(reason);
  });

  it('a replayed push: accepted once, queued once', async () => {
    const t = await token();
    const first = await push('replayed push (first)', t);
    const again = await fetch(`${entraFn.url}/gcp/pubsub`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${t}` }, body: JSON.stringify(first.body) });
    const text = await again.text();
    const queued = await record('Pub/Sub push (OIDC)', 'replayed push (second)', again.status, entraFn, text);
    expect([first.status, first.queued, again.status, JSON.parse(text).status, queued]).toEqual([202, 1, 200, 'duplicate', 0]);
  });
});

describe('nothing secret in the logs', () => {
  it('no token or secret presented to the webhook appears in any log line', () => {
    expect(logs.length).toBeGreaterThan(10);
    const text = logs.join('\n');
    for (const p of presented) expect(text).not.toContain(p);
    expect(text).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);
    expect(text).toContain('webhook delivery refused');
  });
});
