import { ChangeMessageVisibilityBatchCommand, ChangeMessageVisibilityCommand, SendMessageCommand, type MessageAttributeValue, type SQSClient } from '@aws-sdk/client-sqs';
import { ITEM_ATTRIBUTES, type WorkItem } from './work-item';
import { fifoId } from './work-queue';

/** What the DLQ needs of an item; a malformed one has no event, only its message. */
export interface DeadLetterItem {
  id: string;
  cluster: string;
  body: string;
  attempts: number;
}

/**
 * The worker's moves on the work queue (FIFO) and its DLQ. SQS FIFO queues take no per-message
 * delay, so a wait is either the current message made invisible (it keeps its place at the head of
 * its cluster's group) or a new message carrying `notBefore`, which the worker holds back itself.
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ChangeMessageVisibility.html
 */
export class WorkItemQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly urls: { queue: () => string; dlq: () => string },
  ) {}

  /** Makes this delivery of the message invisible for `seconds`. */
  async delay(receiptHandle: string, seconds: number): Promise<void> {
    await this.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: this.urls.queue(), ReceiptHandle: receiptHandle, VisibilityTimeout: seconds }));
  }

  /** Delays several messages; returns the receipt handles that could not be delayed. */
  async delayAll(receiptHandles: string[], seconds: number): Promise<string[]> {
    const failed: string[] = [];
    for (let i = 0; i < receiptHandles.length; i += 10) {
      const chunk = receiptHandles.slice(i, i + 10);
      const out = await this.sqs.send(
        new ChangeMessageVisibilityBatchCommand({ QueueUrl: this.urls.queue(), Entries: chunk.map((ReceiptHandle, n) => ({ Id: String(n), ReceiptHandle, VisibilityTimeout: seconds })) }),
      );
      for (const f of out.Failed ?? []) failed.push(chunk[Number(f.Id)]!);
    }
    return failed;
  }

  /**
   * The item as a new message at the end of its group, with our counters; the caller then lets the
   * current message be deleted. The deduplication id names the message it replaces, so a retried
   * send of the same requeue is dropped by SQS rather than doubled.
   */
  async requeue(item: WorkItem, o: { attempts: number; notBefore: number }): Promise<void> {
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.urls.queue(),
        MessageBody: item.body,
        MessageGroupId: item.groupId,
        MessageDeduplicationId: fifoId(`${item.event.id}#${item.messageId}`),
        MessageAttributes: {
          kind: str(item.event.kind),
          [ITEM_ATTRIBUTES.attempts]: num(o.attempts),
          [ITEM_ATTRIBUTES.firstSeenAt]: num(item.firstSeenAt),
          [ITEM_ATTRIBUTES.notBefore]: num(o.notBefore),
        },
      }),
    );
  }

  /** To the DLQ with the reason and the attempt it was on as message attributes; the body as it arrived. */
  async deadLetter(item: DeadLetterItem, reason: string): Promise<void> {
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.urls.dlq(),
        MessageBody: item.body,
        MessageGroupId: fifoId(item.cluster),
        MessageDeduplicationId: fifoId(`dlq-${item.id}`),
        MessageAttributes: { reason: str(reason.slice(0, 1000)), attempts: num(item.attempts), cluster: str(item.cluster) },
      }),
    );
  }
}

function str(value: string): MessageAttributeValue {
  return { DataType: 'String', StringValue: value };
}

function num(value: number): MessageAttributeValue {
  return { DataType: 'Number', StringValue: String(Math.round(value)) };
}
