import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';

/**
 * What happened to one record of a FIFO batch:
 * - done: delete it (the item finished, went to the DLQ, or lives on as a new message without delay);
 * - held: it stays in the queue and was made invisible for delaySeconds (a readiness poll, an early
 *   delivery of a requeued item);
 * - requeued: its work goes on as a new message (deleted here) that must not run before delaySeconds;
 * - failed: it stays in the queue as it is (its visibility could not be changed).
 */
export type RecordDisposition = { kind: 'done' } | { kind: 'held'; delaySeconds: number } | { kind: 'requeued'; delaySeconds: number } | { kind: 'failed' };

/** Holds records that were not processed because an earlier record of their group was held; returns the ids it finished otherwise. */
export type HoldFollowers = (records: SQSRecord[], delaySeconds: number) => Promise<Set<string>>;

/**
 * Lambda's FIFO contract with ReportBatchItemFailures: records of one message group are handled in
 * order, and once one of them is not done, the rest of that group is returned too (unprocessed).
 * Unlike a bare skip, those followers are given the same delay as the record that stopped the group
 * (instead of waiting the queue's visibility timeout with the group blocked behind them).
 * Groups are independent: one held cluster never holds another.
 */
export async function processFifoBatch(records: SQSRecord[], handle: (record: SQSRecord) => Promise<RecordDisposition>, holdFollowers: HoldFollowers): Promise<SQSBatchResponse> {
  const failures: string[] = [];
  const stopped = new Map<string, number>();
  const followers = new Map<string, SQSRecord[]>();
  for (const record of records) {
    const group = record.attributes?.MessageGroupId ?? record.messageId;
    if (stopped.has(group)) {
      followers.set(group, [...(followers.get(group) ?? []), record]);
      continue;
    }
    let outcome: RecordDisposition;
    try {
      outcome = await handle(record);
    } catch {
      outcome = { kind: 'failed' }; // handlers decide and log themselves; this only keeps the batch contract
    }
    if (outcome.kind === 'done') continue;
    if (outcome.kind !== 'requeued') failures.push(record.messageId);
    stopped.set(group, outcome.kind === 'failed' ? 0 : outcome.delaySeconds);
  }
  for (const [group, held] of followers) {
    let finished = new Set<string>();
    try {
      finished = await holdFollowers(held, stopped.get(group) ?? 0);
    } catch {
      // they come back after the queue's visibility timeout; holdFollowers logs why
    }
    for (const r of held) if (!finished.has(r.messageId)) failures.push(r.messageId);
  }
  return { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })) };
}
