import type { SensorfleetConfig } from '../config/schema';
import type { ClusterEvent } from '../domain/cluster-event';
import type { EnqueueResult } from '../queue/work-queue';
import { errorMessage } from '../runtime/errors';
import type { DeliveryRecord, SourceOutcome } from './delivery';
import { refuse } from './delivery';
import { EventGridRoute, type OwnerLookup } from './event-grid-route';
import { jsonReply, type WebhookReply, type WebhookRequest } from './http';
import { PubSubRoute } from './pubsub-route';
import type { SecretReader } from './shared-secret';
import { inConfiguredTargets } from './targets';

/**
 * The webhook: route by path, refuse oversized bodies, let the source authenticate and read the
 * delivery, drop what lies outside the configured targets, enqueue the rest on the FIFO work queue
 * (deduplicated by the delivery's event id) and reply:
 *   2xx  202 queued; 200 acknowledged and deliberately ignored (reason given), or a duplicate;
 *   400  malformed (the reason; well-formed events of the same batch are still queued);
 *   401/403 unauthenticated / not allowed: nothing is read beyond the credentials, nothing queued;
 *   404/405/413 wrong path, method or size;
 *   503  only when work could not be queued (or a lookup it needs failed): Event Grid and Pub/Sub deliver again.
 * Tokens, secrets, headers and query strings are never logged or echoed.
 */
export interface WebhookLog {
  info(message: string, attributes: Record<string, unknown>): void;
  warn(message: string, attributes: Record<string, unknown>): void;
}

export interface WebhookDeps {
  config: SensorfleetConfig;
  enqueue: (events: ClusterEvent[]) => Promise<EnqueueResult>;
  log: WebhookLog;
  readSecret?: SecretReader;
  /** Node resource group -> cluster (VM scale set writes); default: an ARM read, loaded on first use. */
  ownerOf?: OwnerLookup;
  now?: () => Date;
}

export type WebhookHandler = (req: WebhookRequest) => Promise<WebhookReply>;

const SEEN_MAX = 10_000;
const SEEN_TTL_MS = 600_000;

export function createWebhookHandler(deps: WebhookDeps): WebhookHandler {
  const hooks = deps.config.webhooks;
  const ownerOf: OwnerLookup = deps.ownerOf ?? (async (...args) => (await import('../platforms/aks/node-resource-group')).nodeResourceGroupOwner(...args));
  const routes = new Map<string, { source: 'event-grid' | 'pubsub'; handle: (r: WebhookRequest) => Promise<SourceOutcome> }>();
  if (hooks.eventGrid) {
    const r = new EventGridRoute(hooks.eventGrid, { config: deps.config, ownerOf, ...(deps.readSecret ? { readSecret: deps.readSecret } : {}), ...(deps.now ? { now: deps.now } : {}) });
    routes.set(hooks.eventGrid.path, { source: 'event-grid', handle: (req) => r.handle(req) });
  }
  if (hooks.pubsub) {
    const r = new PubSubRoute(hooks.pubsub, { config: deps.config, ...(deps.now ? { now: deps.now } : {}) });
    routes.set(hooks.pubsub.path, { source: 'pubsub', handle: (req) => r.handle(req) });
  }
  const seen = new SeenEvents();

  return async (req) => {
    const started = Date.now();
    const path = req.path.replace(/\/+$/, '') || '/';
    const route = routes.get(path);
    let outcome: { reply: WebhookReply; log: Record<string, unknown> };
    if (!route) outcome = { reply: replyOf(refuse(404, `no webhook is configured at ${path}`)), log: { outcome: 'not-found' } };
    else if (req.bodyTooLarge || req.body.length > hooks.maxBodyBytes) outcome = { reply: replyOf(refuse(413, `body larger than ${hooks.maxBodyBytes} bytes`)), log: { outcome: 'too-large' } };
    else {
      let source: SourceOutcome;
      try {
        source = await route.handle(req);
      } catch (err) {
        // a bug or an unforeseen failure: the delivery comes again; the message is ours, never a token
        deps.log.warn('webhook delivery failed', { source: route.source, reason: errorMessage(err) });
        source = refuse(503, 'the delivery could not be processed');
      }
      outcome = source.kind === 'reply' ? { reply: source.reply, log: { outcome: outcomeOf(source.reply.status), note: source.note } } : await settle(source.records, deps, seen);
      outcome.log.source = route.source;
    }
    const attributes = { method: req.method, path, status: outcome.reply.status, ms: Date.now() - started, ...outcome.log };
    if (outcome.reply.status >= 400) deps.log.warn('webhook delivery refused', attributes);
    else deps.log.info('webhook delivery', attributes);
    return outcome.reply;
  };
}

async function settle(records: DeliveryRecord[], deps: WebhookDeps, seen: SeenEvents): Promise<{ reply: WebhookReply; log: Record<string, unknown> }> {
  const malformed = records.filter((r) => r.malformed).map((r) => ({ id: r.id, reason: r.malformed! }));
  const unavailable = records.filter((r) => r.unavailable).map((r) => ({ id: r.id, reason: r.unavailable! }));
  const ignored = records.filter((r) => r.ignored).map((r) => ({ id: r.id, reason: r.ignored! }));
  const fresh: ClusterEvent[] = [];
  const duplicates: string[] = [];
  for (const e of records.flatMap((r) => r.events)) {
    const scope = inConfiguredTargets(deps.config, e.cluster);
    if (!scope.ok) ignored.push({ id: e.id, reason: scope.reason });
    else if (seen.has(e.id)) duplicates.push(e.id);
    else fresh.push(e);
  }
  const log: Record<string, unknown> = { records: records.length, ...(ignored.length ? { ignored } : {}), ...(malformed.length ? { malformed } : {}), ...(duplicates.length ? { duplicates } : {}) };
  let queued: ClusterEvent[] = [];
  if (fresh.length) {
    let result: EnqueueResult;
    try {
      result = await deps.enqueue(fresh);
    } catch (err) {
      result = { sent: 0, failed: fresh.map((e) => ({ id: e.id, reason: errorMessage(err) })) };
    }
    const failed = new Set(result.failed.map((f) => f.id));
    queued = fresh.filter((e) => !failed.has(e.id));
    for (const e of queued) seen.add(e.id);
    log.queued = queued.map((e) => ({ id: e.id, kind: e.kind, cluster: e.cluster }));
    if (failed.size) {
      log.enqueueFailed = result.failed;
      return { reply: jsonReply(503, { error: 'unavailable', reason: `${failed.size} event(s) could not be queued; deliver again`, queued: queued.length }), log: { ...log, outcome: 'enqueue-failed' } };
    }
  }
  if (unavailable.length) return { reply: jsonReply(503, { error: 'unavailable', reason: unavailable.map((u) => `${u.id}: ${u.reason}`).join('; '), queued: queued.length }), log: { ...log, unavailable, outcome: 'unavailable' } };
  if (malformed.length) return { reply: jsonReply(400, { error: 'malformed', reason: malformed.map((m) => `${m.id}: ${m.reason}`).join('; '), queued: queued.length }), log: { ...log, outcome: 'malformed' } };
  if (queued.length) return { reply: jsonReply(202, { status: 'queued', queued: queued.length, events: queued.map((e) => e.id) }), log: { ...log, outcome: 'queued' } };
  if (duplicates.length) return { reply: jsonReply(200, { status: 'duplicate', events: duplicates }), log: { ...log, outcome: 'duplicate' } };
  return { reply: jsonReply(200, { status: 'ignored', reasons: ignored.map((i) => i.reason) }), log: { ...log, outcome: 'ignored' } };
}

function replyOf(o: SourceOutcome): WebhookReply {
  return o.kind === 'reply' ? o.reply : jsonReply(500, {});
}

function outcomeOf(status: number): string {
  if (status < 300) return 'handshake';
  if (status === 401 || status === 403) return 'unauthenticated';
  if (status >= 500) return 'unavailable';
  return 'refused';
}

/**
 * Event ids this instance queued in the last ten minutes: a replayed delivery is answered 200
 * "duplicate" and not sent again. Across instances the queue's deduplication id (the same event id,
 * SQS's five-minute window) keeps it queued once.
 */
class SeenEvents {
  private readonly ids = new Map<string, number>();

  has(id: string): boolean {
    const at = this.ids.get(id);
    if (at === undefined) return false;
    if (Date.now() - at > SEEN_TTL_MS) {
      this.ids.delete(id);
      return false;
    }
    return true;
  }

  add(id: string): void {
    this.ids.delete(id);
    this.ids.set(id, Date.now());
    while (this.ids.size > SEEN_MAX) this.ids.delete(this.ids.keys().next().value!);
  }
}
