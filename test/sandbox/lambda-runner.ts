import { randomUUID } from 'node:crypto';
import { DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

/**
 * Plays the part of Lambda's SQS event source mapping (no Lambda runtime can run here): receives
 * up to `batchSize` messages, invokes the handler with the SQSEvent shape Lambda sends
 * (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html), deletes the records not listed in
 * `batchItemFailures` (ReportBatchItemFailures), and leaves the failed ones to reappear after their
 * visibility timeout. A handler that throws fails the whole batch, as in Lambda.
 */
export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | void>;

export interface DrainResult {
  invocations: number;
  processed: number;
  failedRecords: number;
}

export class SqsEventSourceMapping {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
    private readonly queueArn: string,
    private readonly handler: SqsHandler,
    private readonly options: { batchSize?: number; functionName?: string; region: string },
  ) {}

  /** Polls once; returns how many records were handed to the function. */
  async pollOnce(result: DrainResult): Promise<number> {
    const out = await this.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.queueUrl,
        MaxNumberOfMessages: this.options.batchSize ?? 10,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
        WaitTimeSeconds: 0,
      }),
    );
    const messages = out.Messages ?? [];
    if (messages.length === 0) return 0;
    const records = messages.map((m) => this.toRecord(m));
    result.invocations += 1;
    let failedIds: Set<string>;
    try {
      const response = await this.handler({ Records: records }, lambdaContext(this.options.functionName ?? 'reconcile-worker'));
      failedIds = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
    } catch {
      failedIds = new Set(records.map((r) => r.messageId));
    }
    const done = messages.filter((m) => !failedIds.has(m.MessageId!));
    if (done.length > 0) {
      await this.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
        }),
      );
    }
    result.processed += done.length;
    result.failedRecords += failedIds.size;
    return messages.length;
  }

  /** Polls until the queue holds no visible or in-flight message, or the deadline passes. */
  async drain(deadlineMs: number, idlePollMs = 100): Promise<DrainResult> {
    const result: DrainResult = { invocations: 0, processed: 0, failedRecords: 0 };
    const end = Date.now() + deadlineMs;
    while (Date.now() < end) {
      const n = await this.pollOnce(result);
      if (n > 0) continue;
      if ((await this.pending()) === 0) return result;
      await new Promise((r) => setTimeout(r, idlePollMs));
    }
    throw new Error(`queue not drained within ${deadlineMs} ms (${await this.pending()} message(s) left)`);
  }

  async pending(): Promise<number> {
    const out = await this.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: this.queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
      }),
    );
    const a = out.Attributes ?? {};
    return Number(a.ApproximateNumberOfMessages ?? 0) + Number(a.ApproximateNumberOfMessagesNotVisible ?? 0) + Number(a.ApproximateNumberOfMessagesDelayed ?? 0);
  }

  private toRecord(m: Message): SQSRecord {
    const attrs = (m.Attributes ?? {}) as Record<string, string>;
    return {
      messageId: m.MessageId!,
      receiptHandle: m.ReceiptHandle!,
      body: m.Body ?? '',
      attributes: {
        ApproximateReceiveCount: attrs.ApproximateReceiveCount ?? '1',
        SentTimestamp: attrs.SentTimestamp ?? String(Date.now()),
        SenderId: attrs.SenderId ?? 'AIDASANDBOX',
        ApproximateFirstReceiveTimestamp: attrs.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
        ...(attrs.MessageGroupId ? { MessageGroupId: attrs.MessageGroupId } : {}),
        ...(attrs.MessageDeduplicationId ? { MessageDeduplicationId: attrs.MessageDeduplicationId } : {}),
        ...(attrs.SequenceNumber ? { SequenceNumber: attrs.SequenceNumber } : {}),
      },
      messageAttributes: Object.fromEntries(
        Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [k, { stringValue: v.StringValue, dataType: v.DataType ?? 'String', stringListValues: [], binaryListValues: [] }]),
      ),
      md5OfBody: m.MD5OfBody ?? '',
      eventSource: 'aws:sqs',
      eventSourceARN: this.queueArn,
      awsRegion: this.options.region,
    };
  }
}

/** The Lambda context a handler sees (https://docs.aws.amazon.com/lambda/latest/dg/nodejs-context.html). */
export function lambdaContext(functionName: string, timeoutMs = 300_000): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `sandbox/${randomUUID()}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
