import * as z from 'zod';
import { MalformedEventError } from './errors';
import { looksLikeLogEntry, normalizeAuditLogEntry } from './gcp-audit-log';
import { isGkeNotification, normalizeGkeNotification } from './gke-notification';
import { isObject, NOTHING, oneLine, str, type Normalized, type NormalizeOptions } from './types';

/**
 * Pub/Sub push body (https://cloud.google.com/pubsub/docs/push#receive_push):
 * {"message": {"data": base64, "attributes", "messageId"|"message_id", "publishTime"|"publish_time"}, "subscription"}.
 * The bare `message` object is accepted too (what the saved notification fixtures hold).
 * data holds either a Cloud Audit LogEntry (log sink) or, for GKE notifications, a sentence.
 */
const messageSchema = z
  .object({
    data: z.string().optional(),
    attributes: z.record(z.string(), z.string()).optional(),
    messageId: z.string().min(1).optional(),
    message_id: z.string().min(1).optional(),
    publishTime: z.string().optional(),
    publish_time: z.string().optional(),
  })
  .refine((m) => m.messageId || m.message_id, 'messageId is required');

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function looksLikePubSubPush(v: Record<string, unknown>): boolean {
  return isObject(v.message) && ('subscription' in v || 'data' in v.message || 'attributes' in v.message);
}

export function looksLikePubSubMessage(v: Record<string, unknown>): boolean {
  return ('messageId' in v || 'message_id' in v) && ('data' in v || 'attributes' in v);
}

export function normalizePubSub(body: Record<string, unknown>, opts: NormalizeOptions): Normalized {
  const raw = isObject(body.message) ? body.message : body;
  const recordId = str(raw.messageId) ?? str(raw.message_id) ?? 'unknown';
  const parsed = messageSchema.safeParse(raw);
  if (!parsed.success) throw new MalformedEventError(`Pub/Sub message: ${oneLine(parsed.error.issues)}`, recordId);
  const m = parsed.data;
  const delivery = { id: (m.messageId ?? m.message_id)!, time: m.publishTime ?? m.publish_time };
  if (isGkeNotification(m.attributes)) return normalizeGkeNotification(m.attributes, delivery, opts);

  const data = (m.data ?? '').replace(/\s+/g, '');
  if (!BASE64.test(data)) throw new MalformedEventError('Pub/Sub message.data is not valid base64', delivery.id);
  const text = Buffer.from(data, 'base64').toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return NOTHING; // a plain-text message (hello world, a notification sentence) is not a cluster event
  }
  if (isObject(json) && looksLikeLogEntry(json)) return normalizeAuditLogEntry(json, opts, delivery);
  return NOTHING;
}
