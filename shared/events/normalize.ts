import { looksLikeCloudTrailRecord, normalizeCloudTrailRecord } from './cloudtrail';
import { MalformedEventError } from './errors';
import { fromCloudEvent, fromEventGridSchema, looksLikeCloudEvent, looksLikeEventGrid, normalizeGridEvent } from './event-grid';
import { looksLikeEventBridge, normalizeEventBridge } from './eventbridge';
import { looksLikeLogEntry, normalizeAuditLogEntry } from './gcp-audit-log';
import { looksLikePubSubMessage, looksLikePubSubPush, normalizePubSub } from './pubsub';
import { isObject, str, type Normalized, type NormalizedRecord, type NormalizeOptions } from './types';

/**
 * Raw payload -> canonical events, one result per record: a Lambda SQS event, an Event Grid array
 * or a CloudEvents batch yields one record each, so one bad record never hides the others. Any
 * other payload is one record. Never throws for bad input: a record that cannot be read carries
 * `error` (MalformedEventError) and no events.
 */
export function normalizeRecords(payload: unknown, opts: NormalizeOptions = {}): NormalizedRecord[] {
  let value = payload;
  if (typeof payload === 'string' || Buffer.isBuffer(payload)) {
    try {
      value = JSON.parse(payload.toString());
    } catch {
      return [failed('unknown', new MalformedEventError('payload is not JSON'))];
    }
  }
  if (Array.isArray(value)) return value.map((item) => one(item, opts, true));
  if (isObject(value) && Array.isArray(value.Records) && value.Records.some((r) => isObject(r) && r.eventSource === 'aws:sqs')) {
    return value.Records.map((r) => sqsRecord(r, opts));
  }
  return [one(value, opts, false)];
}

/** All events of a payload; throws MalformedEventError for the first record that cannot be read. */
export function normalizeEvent(payload: unknown, opts: NormalizeOptions = {}): Normalized {
  const out: Normalized = { events: [], pending: [] };
  for (const r of normalizeRecords(payload, opts)) {
    if (r.error) throw r.error;
    out.events.push(...r.events);
    out.pending.push(...r.pending);
  }
  return out;
}

function one(value: unknown, opts: NormalizeOptions, inBatch: boolean): NormalizedRecord {
  const id = recordIdOf(value);
  try {
    return { id, ...dispatch(value, opts, inBatch) };
  } catch (err) {
    return failed(id, asMalformed(err, id));
  }
}

/** A normaliser that throws anything else met input it did not foresee: still this record's problem only. */
function asMalformed(err: unknown, id: string): MalformedEventError {
  return err instanceof MalformedEventError ? err : new MalformedEventError(`could not be read: ${err instanceof Error ? err.message : String(err)}`, id);
}

function dispatch(v: unknown, opts: NormalizeOptions, inBatch: boolean): Normalized {
  if (!isObject(v)) throw new MalformedEventError(`expected a JSON object${inBatch ? ' in the array' : ''}, got ${v === null ? 'null' : typeof v}`);
  if (looksLikeEventBridge(v)) return normalizeEventBridge(v, opts);
  if (looksLikeCloudTrailRecord(v)) return normalizeCloudTrailRecord(v, opts);
  if (looksLikePubSubPush(v) || looksLikePubSubMessage(v)) return normalizePubSub(v, opts);
  if (looksLikeLogEntry(v)) return normalizeAuditLogEntry(v, opts);
  if (looksLikeCloudEvent(v)) return normalizeGridEvent(fromCloudEvent(v), opts);
  if (looksLikeEventGrid(v)) return normalizeGridEvent(fromEventGridSchema(v), opts);
  if (isObject(v.requestContext) && 'body' in v) return httpBody(v, opts);
  throw new MalformedEventError(
    'unrecognised payload: not an EventBridge event, CloudTrail record, SQS event, Pub/Sub push body, Cloud Audit LogEntry, Event Grid event or CloudEvent',
  );
}

/** A Lambda Function URL / API Gateway v2 request: the webhook body is the payload. */
function httpBody(v: Record<string, unknown>, opts: NormalizeOptions): Normalized {
  const body = typeof v.body === 'string' ? (v.isBase64Encoded === true ? Buffer.from(v.body, 'base64').toString('utf8') : v.body) : '';
  return normalizeEvent(body, opts);
}

/** A Lambda SQS record (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html): `body` holds any supported payload. */
function sqsRecord(r: unknown, opts: NormalizeOptions): NormalizedRecord {
  const id = (isObject(r) && str(r.messageId)) || 'unknown';
  if (!isObject(r) || typeof r.body !== 'string') return failed(id, new MalformedEventError('SQS record has no string body', id));
  try {
    return { id, ...normalizeEvent(r.body, opts) };
  } catch (err) {
    return failed(id, new MalformedEventError(asMalformed(err, id).reason, id));
  }
}

function failed(id: string, error: MalformedEventError): NormalizedRecord {
  return { id, events: [], pending: [], error: error.recordId === 'unknown' && id !== 'unknown' ? new MalformedEventError(error.reason, id) : error };
}

function recordIdOf(v: unknown): string {
  if (!isObject(v)) return 'unknown';
  const message = isObject(v.message) ? v.message : undefined;
  return str(v.id) ?? str(v.eventID) ?? str(v.insertId) ?? str(message?.messageId) ?? str(message?.message_id) ?? str(v.messageId) ?? str(v.message_id) ?? 'unknown';
}
