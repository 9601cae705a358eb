import { createHash } from 'node:crypto';
import { SendMessageBatchCommand, SQSClient, type SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import type { ClusterEvent } from '../domain/cluster-event';
import { awsClient } from '../platforms/aws/clients';
import { errorMessage } from '../runtime/errors';
import { backoffDelay, DEFAULT_RETRY } from '../runtime/retry';

/**
 * The work queue (SQS FIFO, DESIGN §3): MessageGroupId = cluster reference, so one cluster is
 * never reconciled twice at once; MessageDeduplicationId = event id, so the same event delivered
 * twice within SQS's 5-minute deduplication interval is one message.
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html
 */
export interface EnqueueResult {
  sent: number;
  failed: { id: string; reason: string }[];
}

const BATCH = 10; // SendMessageBatch takes at most 10 entries
const MAX_ID = 128; // MessageGroupId / MessageDeduplicationId: at most 128 characters
// allowed: alphanumerics and punctuation !"#$%&'()*+,-./:;<=>?@[\]^_`{|}~
const NOT_ALLOWED = /[^A-Za-z0-9!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/;

export async function enqueueClusterEvents(queueUrl: string, events: ClusterEvent[]): Promise<EnqueueResult> {
  const sqs = awsClient(SQSClient, { region: regionOfQueue(queueUrl) });
  const unique = [...new Map(events.map((e) => [e.id, e])).values()];
  const result: EnqueueResult = { sent: 0, failed: [] };
  for (let i = 0; i < unique.length; i += BATCH) {
    const chunk = unique.slice(i, i + BATCH);
    const out = await sendWithRetries(sqs, queueUrl, chunk);
    result.sent += out.sent;
    result.failed.push(...out.failed);
  }
  return result;
}

/** Valid SQS FIFO id: kept as is when it is, else a readable prefix plus a hash of the original. */
export function fifoId(value: string): string {
  if (value.length > 0 && value.length <= MAX_ID && !NOT_ALLOWED.test(value)) return value;
  const hash = createHash('sha256').update(value).digest('hex').slice(0, 40);
  const prefix = value.replace(new RegExp(NOT_ALLOWED.source, 'g'), '_').slice(0, MAX_ID - hash.length - 1);
  return `${prefix}#${hash}`;
}

async function sendWithRetries(sqs: SQSClient, queueUrl: string, chunk: ClusterEvent[]): Promise<EnqueueResult> {
  let pending = chunk.map((event, index) => ({ event, entry: entry(event, index) }));
  const failed: { id: string; reason: string }[] = [];
  let sent = 0;
  for (let attempt = 0; pending.length > 0; attempt++) {
    const last = attempt + 1 >= DEFAULT_RETRY.attempts;
    let retry: typeof pending = [];
    try {
      const out = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: pending.map((p) => p.entry) }));
      sent += out.Successful?.length ?? 0;
      for (const f of out.Failed ?? []) {
        const item = pending.find((p) => p.entry.Id === f.Id);
        if (!item) continue;
        const reason = `${f.Code ?? 'error'}: ${f.Message ?? 'no message'}`;
        // SenderFault: the entry itself is wrong; sending it again cannot help.
        if (f.SenderFault || last) failed.push({ id: item.event.id, reason });
        else retry.push(item);
      }
    } catch (err) {
      // the SDK already retried the call; a later attempt may still get through
      if (last) failed.push(...pending.map((p) => ({ id: p.event.id, reason: errorMessage(err) })));
      else retry = pending;
    }
    pending = retry;
    if (pending.length > 0) await new Promise((r) => setTimeout(r, backoffDelay(attempt, DEFAULT_RETRY)));
  }
  return { sent, failed };
}

function entry(event: ClusterEvent, index: number): SendMessageBatchRequestEntry {
  return {
    Id: String(index),
    MessageBody: JSON.stringify(event),
    MessageGroupId: fifoId(event.cluster),
    MessageDeduplicationId: fifoId(event.id),
    MessageAttributes: { kind: { DataType: 'String', StringValue: event.kind } },
  };
}

/** https://sqs.<region>.amazonaws.com/<account>/<name>; other hosts (local endpoints) fall back to AWS_REGION. */
function regionOfQueue(queueUrl: string): string {
  const m = /^https:\/\/sqs\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\//.exec(queueUrl);
  return m?.[1] ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
}
