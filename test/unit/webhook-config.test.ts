import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../shared/config/load';
import { EVENT_GRID_APP_ID, EVENT_GRID_APP_ROLE } from '../../shared/webhooks/config';
import { normalizeEvent } from '../../shared/events/normalize';
import { readFileSync } from 'node:fs';

/** The `webhooks:` section: strict like every other, defaults that accept nothing until configured. */
describe('webhooks config', () => {
  it('defaults: a 1 MiB body cap, 60 s clock tolerance, no source configured', () => {
    expect(parseConfig({}).webhooks).toEqual({ maxBodyBytes: 1048576, clockToleranceSeconds: 60 });
  });

  it('Entra: audiences required; Event Grid as the client and its app role by default; JWKS from the authority host', () => {
    const c = parseConfig({ webhooks: { eventGrid: { auth: { method: 'entra', tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47', audiences: ['api://sensorfleet-webhook'] } } } }).webhooks.eventGrid!;
    expect(c).toEqual({
      path: '/azure/event-grid',
      allowedOrigins: ['eventgrid.azure.net'],
      auth: { method: 'entra', tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47', audiences: ['api://sensorfleet-webhook'], authorityHost: 'https://login.microsoftonline.com', clientAppIds: [EVENT_GRID_APP_ID], appRole: EVENT_GRID_APP_ROLE },
    });
  });

  it('shared secret: query parameter `code` and a header by default', () => {
    const c = parseConfig({ webhooks: { eventGrid: { auth: { method: 'shared-secret', secretId: 'sensorfleet/webhook/event-grid' } } } }).webhooks.eventGrid!;
    expect(c.auth).toEqual({ method: 'shared-secret', secretId: 'sensorfleet/webhook/event-grid', queryParameter: 'code', header: 'x-sensorfleet-webhook-secret' });
  });

  it("Pub/Sub: audience and service account required; Google's JWKS and issuers by default", () => {
    const c = parseConfig({ webhooks: { pubsub: { audience: 'https://x.example/gcp/pubsub', serviceAccountEmail: 'push@p.iam.gserviceaccount.com' } } }).webhooks.pubsub!;
    expect(c).toEqual({ path: '/gcp/pubsub', jwksUrl: 'https://www.googleapis.com/oauth2/v3/certs', issuers: ['https://accounts.google.com', 'accounts.google.com'], audience: 'https://x.example/gcp/pubsub', serviceAccountEmail: 'push@p.iam.gserviceaccount.com' });
  });

  it.each([
    [{ webhooks: { eventGrid: { auth: { method: 'entra', tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47', audience: 'x' } } } }, /audience/],
    [{ webhooks: { pubsub: { audience: 'a', serviceAccountEmail: 'not-an-email' } } }, /serviceAccountEmail/],
    [{ webhooks: { pubsub: { audience: 'a', serviceAccountEmail: 'a@b.iam.gserviceaccount.com', jwks: 'https://x' } } }, /jwks/],
    [{ webhooks: { eventGrid: { auth: { method: 'basic' } } } }, /webhooks\.eventGrid\.auth\.method/],
    [{ webhooks: { maxBodyBytes: 64 * 1024 * 1024 } }, /maxBodyBytes/],
  ])('%j is refused with its path', (raw, path) => {
    expect(() => parseConfig(raw)).toThrow(path);
  });
});

describe('GKE audit entries: which one is acted on', () => {
  const entry = JSON.parse(readFileSync('test/fixtures/events/reference/gcp-auditlog-gke-createcluster-logentry.json', 'utf8'));
  const last = { ...entry, operation: { id: entry.operation.id, producer: 'container.googleapis.com', last: true } };
  const noOperation = { ...entry, operation: undefined };
  it.each([
    ['first entry', entry, 'first', 1],
    ['first entry', entry, 'done', 0],
    ['last entry', last, 'first', 0],
    ['last entry', last, 'done', 1],
    ['a call with no operation', noOperation, 'done', 1],
  ] as const)('%s with auditLogOperations %s -> %i event(s)', (_n, e, mode, n) => {
    expect(normalizeEvent(e, { auditLogOperations: mode }).events).toHaveLength(n);
  });

  it('UpdateCluster is a nodes-changed call', () => {
    const update = { ...last, protoPayload: { ...last.protoPayload, methodName: 'google.container.v1.ClusterManager.UpdateCluster' } };
    expect(normalizeEvent(update, { auditLogOperations: 'done' }).events.map((e) => e.kind)).toEqual(['nodes-changed']);
  });
});
