/**
 * A light SQS FIFO queue (JSON protocol, AmazonSQS.*) and the Lambda event source mapping that feeds
 * the worker from it, on the virtual clock.
 * FIFO semantics (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/FIFO-queues-understanding-logic.html):
 * messages of one group are delivered in order and, while one of them is in flight, no other message
 * of that group is delivered; a deduplication id seen in the last 5 minutes is accepted and dropped.
 * Throughput (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html):
 * without high-throughput mode a FIFO queue serves 300 API calls per second per action
 * (SendMessage, ReceiveMessage, DeleteMessage, ChangeMessageVisibility), i.e. 3,000 messages per
 * second with batches of 10; a high-throughput queue the regional figure (limits.ts sqsLimits), and it
 * deduplicates per message group; beyond its quota a queue answers RequestThrottled.
 * Latency: ~10 ms per call (modelled).
 */
import { createHash, randomUUID } from 'node:crypto';
import { AwsError, throttled } from './aws-json';
import type { RateLimits } from './rate-limit';

export const SQS_LATENCY_MS = 10;
const DEDUP_WINDOW_MS = 5 * 60_000;
const TYPE = 'com.amazonaws.sqs#';

interface Message {
  id: string;
  body: string;
  group: string;
  dedup: string;
  attributes: Record<string, { DataType: string; StringValue?: string }>;
  sentAt: number;
  seq: number;
  receiveCount: number;
  firstReceivedAt?: number;
  visibleAt: number;
  receipt?: string;
}

export class SimFifoQueue {
  private readonly groups = new Map<string, Message[]>();
  private readonly byReceipt = new Map<string, Message>();
  private readonly dedup = new Map<string, { id: string; at: number }>();
  private seq = 0;
  maxDepth = 0;
  sent = 0;

  constructor(
    readonly url: string,
    readonly visibilityTimeoutSeconds: number,
    private readonly now: () => number,
    /** High-throughput FIFO (DeduplicationScope messageGroup, FifoThroughputLimit perMessageGroupId): dedup per group, the higher per-queue quota. */
    readonly highThroughput = false,
  ) {}

  depth(): number {
    let n = 0;
    for (const g of this.groups.values()) n += g.length;
    return n;
  }

  send(m: { MessageBody: string; MessageGroupId?: string; MessageDeduplicationId?: string; MessageAttributes?: Message['attributes']; DelaySeconds?: number }): { MessageId: string; MD5OfMessageBody: string; SequenceNumber: string } {
    if (!m.MessageGroupId) throw new AwsError(`${TYPE}MissingParameter`, 'The request must contain the parameter MessageGroupId.');
    if (m.DelaySeconds) throw new AwsError(`${TYPE}InvalidParameterValue`, 'Value for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type.');
    const dedupId = m.MessageDeduplicationId;
    if (!dedupId) throw new AwsError(`${TYPE}InvalidParameterValue`, 'The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly');
    const md5 = createHash('md5').update(m.MessageBody).digest('hex');
    const dedupKey = this.highThroughput ? `${m.MessageGroupId}\u0000${dedupId}` : dedupId;
    const seen = this.dedup.get(dedupKey);
    if (seen && this.now() - seen.at < DEDUP_WINDOW_MS) return { MessageId: seen.id, MD5OfMessageBody: md5, SequenceNumber: String(this.seq) };
    const msg: Message = { id: randomUUID(), body: m.MessageBody, group: m.MessageGroupId, dedup: dedupId, attributes: m.MessageAttributes ?? {}, sentAt: this.now(), seq: ++this.seq, receiveCount: 0, visibleAt: this.now() };
    this.dedup.set(dedupKey, { id: msg.id, at: this.now() });
    if (this.dedup.size > 50_000) for (const [k, v] of this.dedup) if (this.now() - v.at >= DEDUP_WINDOW_MS) this.dedup.delete(k);
    let g = this.groups.get(msg.group);
    if (!g) this.groups.set(msg.group, (g = []));
    g.push(msg);
    this.sent++;
    this.maxDepth = Math.max(this.maxDepth, this.depth());
    return { MessageId: msg.id, MD5OfMessageBody: md5, SequenceNumber: String(msg.seq).padStart(20, '0') };
  }

  /**
   * What the event source mapping receives: up to `max` messages, each group's in order, from groups
   * with nothing in flight; received messages are invisible for the visibility timeout.
   */
  receive(max: number): Message[] {
    const now = this.now();
    const out: Message[] = [];
    for (const g of this.groups.values()) {
      if (out.length >= max) break;
      const head = g[0];
      if (!head || head.visibleAt > now) continue;
      // a group is blocked while any of its messages is in flight
      if (g.some((m) => m.receipt && m.visibleAt > now)) continue;
      for (const m of g) {
        if (out.length >= max || m.visibleAt > now) break;
        m.receiveCount++;
        m.firstReceivedAt ??= now;
        m.visibleAt = now + this.visibilityTimeoutSeconds * 1000;
        if (m.receipt) this.byReceipt.delete(m.receipt);
        m.receipt = randomUUID();
        this.byReceipt.set(m.receipt, m);
        out.push(m);
      }
    }
    return out;
  }

  /** When the next message becomes visible (for the poller to sleep until then). */
  nextVisibleAt(): number {
    let at = Infinity;
    for (const g of this.groups.values()) {
      const inFlight = g.find((m) => m.receipt && m.visibleAt > this.now());
      const head = inFlight ?? g[0];
      if (head) at = Math.min(at, head.visibleAt);
    }
    return at;
  }

  delete(receipt: string): void {
    const m = this.byReceipt.get(receipt);
    if (!m) throw new AwsError(`${TYPE}ReceiptHandleIsInvalid`, 'The input receipt handle is invalid.');
    this.byReceipt.delete(receipt);
    const g = this.groups.get(m.group)!;
    g.splice(g.indexOf(m), 1);
    if (g.length === 0) this.groups.delete(m.group);
  }

  changeVisibility(receipt: string, seconds: number): void {
    const m = this.byReceipt.get(receipt);
    if (!m || m.visibleAt <= this.now()) throw new AwsError(`${TYPE}MessageNotInflight`, 'Message not in flight.');
    if (seconds > 43_200) throw new AwsError(`${TYPE}InvalidParameterValue`, 'Value for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200');
    m.visibleAt = this.now() + seconds * 1000;
  }

  /** The SQS event record Lambda hands the function for a received message. */
  static record(m: Message, queueArn: string): unknown {
    const messageAttributes: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(m.attributes)) messageAttributes[k] = { stringValue: v.StringValue, stringListValues: [], binaryListValues: [], dataType: v.DataType };
    return {
      messageId: m.id,
      receiptHandle: m.receipt,
      body: m.body,
      attributes: {
        ApproximateReceiveCount: String(m.receiveCount),
        SentTimestamp: String(m.sentAt),
        SenderId: 'AIDASIMULATED',
        ApproximateFirstReceiveTimestamp: String(m.firstReceivedAt ?? m.sentAt),
        SequenceNumber: String(m.seq).padStart(20, '0'),
        MessageGroupId: m.group,
        MessageDeduplicationId: m.dedup,
      },
      messageAttributes,
      md5OfBody: createHash('md5').update(m.body).digest('hex'),
      eventSource: 'aws:sqs',
      eventSourceARN: queueArn,
      awsRegion: 'us-east-1',
    };
  }
}

/** The SQS API over the simulated queues (by QueueUrl), each action within its FIFO call budget. */
export class SimSqs {
  readonly queues = new Map<string, SimFifoQueue>();

  constructor(private readonly limits: RateLimits) {}

  add(q: SimFifoQueue): SimFifoQueue {
    this.queues.set(q.url, q);
    return q;
  }

  private queue(url: string): SimFifoQueue {
    const q = this.queues.get(url);
    if (!q) throw new AwsError(`${TYPE}QueueDoesNotExist`, 'The specified queue does not exist.');
    return q;
  }

  /** One API call of `action` against the queue (also used by the event source mapping and Step Functions). */
  admit(action: string, url: string): void {
    const high = this.queues.get(url)?.highThroughput ?? false;
    if (!this.limits.admit(`${high ? 'sqsHighThroughput' : 'sqs'}.${action}`, url)) throw throttled(`${TYPE}RequestThrottled`, `Request is throttled (FIFO ${action} over the queue's quota)`);
  }

  handle(op: string, req: any): unknown {
    switch (op) {
      case 'SendMessage':
        this.admit('SendMessage', req.QueueUrl);
        return this.queue(req.QueueUrl).send(req);
      case 'SendMessageBatch': {
        this.admit('SendMessage', req.QueueUrl);
        const q = this.queue(req.QueueUrl);
        const Successful: unknown[] = [];
        const Failed: unknown[] = [];
        for (const e of req.Entries as any[]) {
          try {
            Successful.push({ Id: e.Id, ...q.send(e) });
          } catch (err) {
            Failed.push({ Id: e.Id, Code: (err as AwsError).type?.split('#')[1] ?? 'InternalError', Message: (err as Error).message, SenderFault: true });
          }
        }
        return { Successful, Failed };
      }
      case 'ChangeMessageVisibility':
        this.admit('ChangeMessageVisibility', req.QueueUrl);
        this.queue(req.QueueUrl).changeVisibility(req.ReceiptHandle, req.VisibilityTimeout);
        return {};
      case 'ChangeMessageVisibilityBatch': {
        this.admit('ChangeMessageVisibility', req.QueueUrl);
        const q = this.queue(req.QueueUrl);
        const Successful: unknown[] = [];
        const Failed: unknown[] = [];
        for (const e of req.Entries as any[]) {
          try {
            q.changeVisibility(e.ReceiptHandle, e.VisibilityTimeout);
            Successful.push({ Id: e.Id });
          } catch (err) {
            Failed.push({ Id: e.Id, Code: 'MessageNotInflight', Message: (err as Error).message, SenderFault: true });
          }
        }
        return { Successful, Failed };
      }
      case 'DeleteMessage':
        this.admit('DeleteMessage', req.QueueUrl);
        this.queue(req.QueueUrl).delete(req.ReceiptHandle);
        return {};
      case 'GetQueueAttributes':
        return { Attributes: { ApproximateNumberOfMessages: String(this.queue(req.QueueUrl).depth()) } };
      default:
        throw new AwsError(`${TYPE}UnsupportedOperation`, `operation ${op} is not simulated`);
    }
  }
}
