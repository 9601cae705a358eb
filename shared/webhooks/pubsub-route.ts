import type { SensorfleetConfig } from '../config/schema';
import { MalformedEventError } from '../events/errors';
import { looksLikePubSubPush, normalizePubSub } from '../events/pubsub';
import { isObject, str } from '../events/types';
import { gcpProjectIdsByNumber } from '../platforms/gke/config';
import type { PubSubWebhookConfig } from './config';
import { parseJsonBody, refuse, type SourceOutcome } from './delivery';
import { verifyPushToken } from './google-oidc';
import { bearerToken, type WebhookRequest } from './http';
import { whyPubSubIgnored } from './ignore-reasons';

/**
 * GCP Pub/Sub push (https://cloud.google.com/pubsub/docs/push): one message per POST,
 * {"message": {data, attributes, messageId, publishTime}, "subscription"}, with the subscription's OIDC
 * token as `Authorization: Bearer`. The message is a log sink's Cloud Audit LogEntry (GKE cluster and
 * node pool calls; acted on when the call is done) or a GKE cluster notification (project id from the
 * configured numbers or the payload's resource path).
 */
export class PubSubRoute {
  private readonly projectIds: Record<string, string>;

  constructor(
    readonly cfg: PubSubWebhookConfig,
    private readonly deps: { config: SensorfleetConfig; now?: () => Date },
  ) {
    this.projectIds = gcpProjectIdsByNumber(deps.config.targets.gcp);
  }

  async handle(req: WebhookRequest): Promise<SourceOutcome> {
    if (req.method !== 'POST') return refuse(405, `method ${req.method} not allowed`, { allow: 'POST' });
    const token = bearerToken(req.headers);
    if (!token) return refuse(401, 'no bearer token');
    const auth = await verifyPushToken(token, this.cfg, this.deps.config.webhooks.clockToleranceSeconds);
    if (!auth.ok) return refuse(auth.status, auth.reason);
    const parsed = parseJsonBody(req.body);
    if (!parsed.ok) return refuse(400, parsed.reason);
    const body = parsed.value;
    if (!isObject(body) || !looksLikePubSubPush(body)) return refuse(400, 'not a Pub/Sub push body ({"message": {...}, "subscription": ...})');
    const subscription = str(body.subscription);
    if (this.cfg.subscriptions && (!subscription || !this.cfg.subscriptions.includes(subscription))) return refuse(403, `subscription ${subscription ?? '(none)'} is not allowed`);
    const message = body.message as Record<string, unknown>;
    const id = str(message.messageId) ?? str(message.message_id) ?? 'unknown';
    try {
      const out = normalizePubSub(body, { gcpProjectIds: this.projectIds, auditLogOperations: 'done', ...(this.deps.now ? { now: this.deps.now } : {}) });
      if (out.events.length) return { kind: 'records', records: [{ id, events: out.events }] };
      return { kind: 'records', records: [{ id, events: [], ignored: whyPubSubIgnored(body) }] };
    } catch (err) {
      return { kind: 'records', records: [{ id, events: [], malformed: err instanceof MalformedEventError ? err.reason : `could not be read: ${(err as Error).message}` }] };
    }
  }
}
