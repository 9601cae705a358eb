import type { ClusterEvent } from '../domain/cluster-event';
import { jsonReply, type WebhookReply } from './http';

/**
 * What a source route (Event Grid, Pub/Sub) makes of one authenticated delivery: either a reply of its
 * own (a handshake, a refusal, a body that cannot be read at all) or one record per event it carried.
 */
export interface DeliveryRecord {
  /** The delivery's event id (Event Grid event id, Pub/Sub messageId). */
  id: string;
  events: ClusterEvent[];
  /** Well-formed but no cluster event: why (logged, and in the 200 reply). */
  ignored?: string;
  /** Cannot be read: the one-line reason (400). */
  malformed?: string;
  /** Could not be turned into work now (a lookup failed); the delivery must come again (503). */
  unavailable?: string;
}

export type SourceOutcome = { kind: 'reply'; reply: WebhookReply; note: string } | { kind: 'records'; records: DeliveryRecord[] };

export function parseJsonBody(body: Buffer): { ok: true; value: unknown } | { ok: false; reason: string } {
  if (body.length === 0) return { ok: false, reason: 'empty body' };
  try {
    return { ok: true, value: JSON.parse(body.toString('utf8')) as unknown };
  } catch {
    return { ok: false, reason: 'body is not JSON' };
  }
}

/** A reply that ends the delivery here: a refusal (4xx) or "come again" (503), with the reason. */
export function refuse(status: number, reason: string, headers: Record<string, string> = {}): SourceOutcome {
  const error = status === 400 ? 'malformed' : status === 401 ? 'unauthenticated' : status === 403 ? 'forbidden' : status === 404 ? 'not found' : status === 405 ? 'method not allowed' : status === 413 ? 'too large' : 'unavailable';
  return { kind: 'reply', note: reason, reply: jsonReply(status, { error, reason }, headers) };
}
