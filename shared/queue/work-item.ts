import type { SQSRecord } from 'aws-lambda';
import { clusterEventSchema, type ClusterEvent } from '../domain/cluster-event';
import { fifoId } from './work-queue';

/**
 * A work item as the worker receives it: the canonical event (the message body, as every sender
 * writes it) plus what the worker itself keeps in message attributes when it requeues an item.
 * The attempt counter is ours: SQS's ApproximateReceiveCount also counts readiness polls, held
 * followers and early deliveries of a requeued item, so it says nothing about failed attempts.
 */
export const ITEM_ATTRIBUTES = {
  /** Failed attempts so far. */
  attempts: 'attempts',
  /** Epoch ms the item was first queued (the readiness deadline counts from here at the latest). */
  firstSeenAt: 'firstSeenAt',
  /** Epoch ms before which the item is not attempted: the backoff of a requeued item (FIFO queues have no per-message delay). */
  notBefore: 'notBefore',
} as const;

/**
 * The work queue's redrive policy (serverless.yml maxReceiveCount 100) is a backstop for invocations
 * that die before the worker decides. A message received this often for normal reasons (polls,
 * holds) is replaced by a fresh one carrying the same item, so the backstop is never reached by them.
 */
export const RECEIVES_BEFORE_FRESH_MESSAGE = 50;

export interface WorkItem {
  event: ClusterEvent;
  attempts: number;
  firstSeenAt: number;
  notBefore?: number;
  /** SQS's count for this message (not the item's attempts). */
  receiveCount: number;
  messageId: string;
  receiptHandle: string;
  groupId: string;
  body: string;
}

export type ReadWorkItem = { ok: true; item: WorkItem } | { ok: false; reason: string; messageId: string; body: string };

export function readWorkItem(record: SQSRecord, now: Date): ReadWorkItem {
  let json: unknown;
  try {
    json = JSON.parse(record.body);
  } catch {
    return { ok: false, reason: 'body is not JSON', messageId: record.messageId, body: record.body };
  }
  const parsed = clusterEventSchema.safeParse(json);
  if (!parsed.success) {
    return { ok: false, reason: parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '), messageId: record.messageId, body: record.body };
  }
  const event = parsed.data;
  const attr = (name: string): number | undefined => {
    const v = Number(record.messageAttributes?.[name]?.stringValue);
    return Number.isFinite(v) ? v : undefined;
  };
  const sent = Number(record.attributes?.SentTimestamp);
  const notBefore = attr(ITEM_ATTRIBUTES.notBefore);
  return {
    ok: true,
    item: {
      event,
      attempts: Math.max(0, Math.floor(attr(ITEM_ATTRIBUTES.attempts) ?? 0)),
      firstSeenAt: Math.min(attr(ITEM_ATTRIBUTES.firstSeenAt) ?? (Number.isFinite(sent) ? sent : now.getTime()), now.getTime()),
      ...(notBefore !== undefined ? { notBefore } : {}),
      receiveCount: Number(record.attributes?.ApproximateReceiveCount ?? '1') || 1,
      messageId: record.messageId,
      receiptHandle: record.receiptHandle,
      groupId: record.attributes?.MessageGroupId ?? fifoId(event.cluster),
      body: record.body,
    },
  };
}

/** Seconds until the item may be attempted (0 when it may be now). */
export function secondsUntilDue(item: WorkItem, now: Date): number {
  return item.notBefore === undefined ? 0 : Math.max(0, Math.ceil((item.notBefore - now.getTime()) / 1000));
}
