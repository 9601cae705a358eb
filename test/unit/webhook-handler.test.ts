import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../shared/config/load';
import type { ClusterEvent } from '../../shared/domain/cluster-event';
import type { NodeResourceGroupOwner } from '../../shared/platforms/aks/node-resource-group';
import { createWebhookHandler, type WebhookLog } from '../../shared/webhooks/handler';
import type { WebhookRequest } from '../../shared/webhooks/http';
import { fromHttpEventV2, isHttpEventV2 } from '../../shared/webhooks/lambda-http';
import { SharedSecretVerifier } from '../../shared/webhooks/shared-secret';
import { acceptsAwsAccount, inConfiguredTargets } from '../../shared/webhooks/targets';

/**
 * The webhook's decisions without any network: Event Grid with a shared secret (the reader is a
 * function here), records in and replies out, the queue a function that records what it was given.
 */
const SUB = '8f3a9c2e-1b4d-4e5f-a6b7-c8d9e0f1a2b3';
const SECRET = 'correct horse battery staple';
const sample = (f: string) => readFileSync(`events/${f}`, 'utf8');

function setup(o: { enqueue?: (e: ClusterEvent[]) => Promise<{ sent: number; failed: { id: string; reason: string }[] }>; owner?: NodeResourceGroupOwner; targets?: Record<string, unknown> } = {}) {
  const config = parseConfig({
    targets: o.targets ?? { azure: [{ tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47', subscriptionId: SUB, resourceGroups: ['rg-platform'], clientId: '11111111-2222-3333-4444-555555555555' }] },
    webhooks: { maxBodyBytes: 4096, eventGrid: { auth: { method: 'shared-secret', secretId: 'sensorfleet/webhook/eg' } } },
  });
  const queued: ClusterEvent[] = [];
  const lines: { level: string; message: string; attributes: Record<string, unknown> }[] = [];
  const log: WebhookLog = { info: (message, attributes) => lines.push({ level: 'info', message, attributes }), warn: (message, attributes) => lines.push({ level: 'warn', message, attributes }) };
  const ownerCalls: string[] = [];
  const handler = createWebhookHandler({
    config,
    log,
    readSecret: async () => SECRET,
    ownerOf: async (_t, sub, rg) => {
      ownerCalls.push(`${sub}/${rg}`);
      return o.owner ?? { ok: true, resourceGroup: 'rg-platform', name: 'aks-prod' };
    },
    enqueue: o.enqueue ?? (async (events) => (queued.push(...events), { sent: events.length, failed: [] })),
  });
  return { handler, queued, lines, ownerCalls };
}

function post(body: string, o: { secret?: string | null; path?: string; method?: string } = {}): WebhookRequest {
  const query = new URLSearchParams(o.secret === null ? '' : `code=${encodeURIComponent(o.secret ?? SECRET)}`);
  return { method: o.method ?? 'POST', path: o.path ?? '/azure/event-grid', headers: { 'content-type': 'application/json' }, query, body: Buffer.from(body) };
}

const clusterWrite = (id: string, uri = `/subscriptions/${SUB}/resourceGroups/rg-platform/providers/Microsoft.ContainerService/managedClusters/aks-prod`) =>
  JSON.stringify([{ id, topic: `/subscriptions/${SUB}`, subject: uri, eventType: 'Microsoft.Resources.ResourceWriteSuccess', eventTime: '2026-11-30T10:00:00Z', data: { resourceUri: uri, operationName: 'Microsoft.ContainerService/managedClusters/write', status: 'Succeeded' }, dataVersion: '2', metadataVersion: '1' }]);

describe('replies', () => {
  it('202 when queued; the same delivery again is a 200 duplicate and is not sent again', async () => {
    const { handler, queued } = setup();
    const first = await handler(post(sample('azure/eventgrid-aks-resourcewritesuccess.json')));
    const again = await handler(post(sample('azure/eventgrid-aks-resourcewritesuccess.json')));
    expect([first.status, JSON.parse(first.body).status, again.status, JSON.parse(again.body).status]).toEqual([202, 'queued', 200, 'duplicate']);
    expect(queued.map((e) => e.id)).toEqual(['azure-eventgrid:4db48cba-50a2-455a-93b4-de41a3b5b7f7']);
  });

  it('401 without the secret, before the body is read: even a body that is not JSON is not looked at', async () => {
    const { handler, queued } = setup();
    const r = await handler(post('not json at all', { secret: null }));
    expect([r.status, JSON.parse(r.body).error]).toEqual([401, 'unauthenticated']);
    expect(queued).toEqual([]);
  });

  it('413 over the cap, 404 elsewhere, 405 for other methods; nothing queued', async () => {
    const { handler, queued } = setup();
    expect((await handler(post('x'.repeat(5000)))).status).toBe(413);
    expect((await handler(post('[]', { path: '/gcp/pubsub' }))).status).toBe(404);
    const get = await handler(post('', { method: 'GET' }));
    expect([get.status, get.headers.allow]).toEqual([405, 'POST, OPTIONS']);
    expect(queued).toEqual([]);
  });

  it('a batch with one malformed event: the good ones are queued, the reply is 400 naming the bad one', async () => {
    const { handler, queued } = setup();
    const batch = JSON.parse(clusterWrite('good-1'));
    batch.push({ id: 'bad-1', topic: '/x', eventType: 'Microsoft.Resources.ResourceWriteSuccess' , subject: `/subscriptions/${SUB}/resourceGroups/rg-platform/providers/Microsoft.ContainerService/managedClusters/not_ok_` });
    const r = await handler(post(JSON.stringify(batch)));
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body)).toMatchObject({ error: 'malformed', queued: 1 });
    expect(JSON.parse(r.body).reason).toMatch(/^bad-1: /);
    expect(queued.map((e) => e.id)).toEqual(['azure-eventgrid:good-1']);
  });

  it('503 when the queue fails, and the event is not remembered: the redelivery is queued', async () => {
    let fail = true;
    const sent: string[] = [];
    const { handler } = setup({ enqueue: async (events) => (fail ? { sent: 0, failed: events.map((e) => ({ id: e.id, reason: 'ServiceUnavailable' })) } : (sent.push(...events.map((e) => e.id)), { sent: events.length, failed: [] })) });
    const r = await handler(post(clusterWrite('retry-1')));
    expect([r.status, JSON.parse(r.body).error]).toEqual([503, 'unavailable']);
    fail = false;
    expect((await handler(post(clusterWrite('retry-1')))).status).toBe(202);
    expect(sent).toEqual(['azure-eventgrid:retry-1']);
  });

  it('a queue that throws is a 503 too; the error text is ours, the body holds no request data', async () => {
    const { handler } = setup({ enqueue: async () => Promise.reject(new Error('socket hang up')) });
    const r = await handler(post(clusterWrite('throws-1')));
    expect(r.status).toBe(503);
    expect(r.body).not.toContain(SECRET);
  });
});

describe('what is ignored, with the reason', () => {
  it('a cluster outside the configured resource groups or subscriptions: 200, not queued', async () => {
    const { handler, queued, lines } = setup();
    const elsewhere = `/subscriptions/${SUB}/resourceGroups/rg-other/providers/Microsoft.ContainerService/managedClusters/aks-x`;
    const r = await handler(post(clusterWrite('other-rg', elsewhere)));
    expect([r.status, JSON.parse(r.body).reasons]).toEqual([200, [`resource group rg-other is not one of the configured targets.azure[].resourceGroups of subscription ${SUB}`]]);
    expect(queued).toEqual([]);
    expect(lines.at(-1)!.attributes.outcome).toBe('ignored');
  });

  it('a VM scale set write: the node resource group is looked up once per delivery and mapped to its cluster', async () => {
    const { handler, queued, ownerCalls } = setup();
    const uri = `/subscriptions/${SUB}/resourceGroups/MC_rg-platform_aks-prod_westeurope/providers/Microsoft.Compute/virtualMachineScaleSets/aks-system-12345678-vmss`;
    const r = await handler(post(clusterWrite('vmss-1', uri)));
    expect(r.status).toBe(202);
    expect(ownerCalls).toEqual([`${SUB}/MC_rg-platform_aks-prod_westeurope`]);
    expect(queued.map((e) => [e.kind, e.cluster, e.detail.agentPool])).toEqual([['nodes-changed', `azure-aks:${SUB}:rg-platform:aks-prod`, 'system']]);
  });

  it('a VM scale set lookup that fails for now is a 503 (deliver again); one that can never succeed is ignored', async () => {
    const uri = `/subscriptions/${SUB}/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachineScaleSets/web`;
    const later = setup({ owner: { ok: false, reason: 'ARM answered 503', retryable: true } });
    expect((await later.handler(post(clusterWrite('vmss-2', uri)))).status).toBe(503);
    const never = setup({ owner: { ok: false, reason: 'resource group rg-web has no aks-managed-cluster-name/-rg tags: not an AKS node resource group', retryable: false } });
    const r = await never.handler(post(clusterWrite('vmss-3', uri)));
    expect([r.status, JSON.parse(r.body).reasons[0]]).toEqual([200, expect.stringContaining('not an AKS node resource group')]);
  });

  it('the log line of a delivery never carries the query string or headers', async () => {
    const { handler, lines } = setup();
    await handler(post(clusterWrite('logged-1')));
    await handler(post(clusterWrite('logged-2'), { secret: 'wrong' }));
    const text = JSON.stringify(lines);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain('wrong');
    expect(lines.map((l) => [l.level, l.attributes.status])).toEqual([['info', 202], ['warn', 401]]);
  });
});

describe('the shared secret', () => {
  it('compares in constant time over digests, caches the stored one, re-reads it on a miss at most once a minute', async () => {
    let now = 0;
    let stored = 'old';
    const reads: number[] = [];
    const v = new SharedSecretVerifier({ method: 'shared-secret', secretId: 's', queryParameter: 'code', header: 'x-sensorfleet-webhook-secret' }, async () => (reads.push(now), stored), () => now);
    const req = (secret: string, where: 'query' | 'header' = 'query'): WebhookRequest => ({ method: 'POST', path: '/', headers: where === 'header' ? { 'x-sensorfleet-webhook-secret': secret } : {}, query: new URLSearchParams(where === 'query' ? { code: secret } : {}), body: Buffer.alloc(0) });
    expect((await v.verify(req('old'))).ok).toBe(true);
    stored = 'new';
    now = 30_000;
    expect((await v.verify(req('new'))).ok).toBe(false); // within a minute of the last read: not read again
    now = 61_000;
    expect((await v.verify(req('new', 'header'))).ok).toBe(true);
    expect(reads).toEqual([0, 61_000]);
    const both: WebhookRequest = { ...req('new'), headers: { 'x-sensorfleet-webhook-secret': 'other' } };
    expect(await v.verify(both)).toEqual({ ok: false, status: 401, reason: 'more than one different secret presented' });
  });
});

describe('Lambda payload format 2.0', () => {
  it('the documented Function URL event: method, path, lower-case headers, the raw query (not the comma-joined one), the body', () => {
    const e = JSON.parse(readFileSync('test/fixtures/events/reference/aws-lambda-function-url-event.json', 'utf8'));
    expect(isHttpEventV2(e)).toBe(true);
    const r = fromHttpEventV2(e, 1024);
    expect([r.method, r.path, r.headers.header2, r.query.getAll('parameter1'), r.body.toString()]).toEqual(['POST', '/my/path', 'value1,value2', ['value1', 'value2'], 'Hello from client!']);
  });

  it('a base64 body is decoded; one over the cap is marked and not decoded', () => {
    const base = { requestContext: { http: { method: 'POST', path: '/p' } }, rawPath: '/p', isBase64Encoded: true };
    expect(fromHttpEventV2({ ...base, body: Buffer.from('{"a":1}').toString('base64') }, 100).body.toString()).toBe('{"a":1}');
    const big = fromHttpEventV2({ ...base, body: Buffer.alloc(300).toString('base64') }, 100);
    expect([big.bodyTooLarge, big.body.length]).toEqual([true, 0]);
    expect(isHttpEventV2({ Records: [] })).toBe(false);
  });
});

describe('configured targets', () => {
  const config = parseConfig({
    targets: {
      aws: [{ accountId: '111122223333', regions: ['eu-west-1'] }],
      gcp: [{ projectId: 'shop-prod', projectNumber: '0123456789', auth: { method: 'credential-file', secretId: 'x' } }],
    },
  });
  it.each([
    ['aws-eks:111122223333:eu-west-1:web', true],
    ['aws-ecs:999988887777:eu-west-1:web', false],
    ['gcp-gke:shop-prod:us-central1:c', true],
    ['gcp-gke:other-project:us-central1:c', false],
    ['gcp-gke:0123456789:us-central1:c', false],
    [`azure-aks:${SUB}:rg:c`, false],
  ])('%s -> %s', (ref, ok) => {
    expect(inConfiguredTargets(config, ref).ok).toBe(ok);
  });

  it('no targets.aws at all: no AWS account is a target, and events from one are dropped (the worker could not reach it)', () => {
    expect(acceptsAwsAccount(parseConfig({}), '999988887777')).toEqual({ ok: false, reason: 'account 999988887777 is not a configured target (no targets.aws configured)' });
    expect(inConfiguredTargets(parseConfig({}), 'aws-eks:999988887777:eu-west-1:web').ok).toBe(false);
    expect(acceptsAwsAccount(config, '999988887777')).toEqual({ ok: false, reason: 'account 999988887777 is not a configured target (targets.aws)' });
  });
});
