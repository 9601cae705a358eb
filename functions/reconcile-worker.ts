import { processPartialResponse, SqsFifoPartialProcessorAsync } from '@aws-lambda-powertools/batch';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { ChangeMessageVisibilityCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { loadConfig } from '../shared/config/load';
import { clusterEventSchema, type ClusterEvent } from '../shared/domain/cluster-event';
import { parseClusterRef } from '../shared/domain/cluster-ref';
import { buildEngine } from '../shared/engine/build';
import { reconcileCluster } from '../shared/engine/reconcile';
import { decideAfterAttempt } from '../shared/engine/work-decision';
import { activeWindow } from '../shared/engine/windows';
import { powertools } from '../shared/lambda/powertools';
import { awsClient } from '../shared/platforms/aws/clients';
import { fifoId } from '../shared/queue/work-queue';

const { logger, metrics } = powertools('reconcile-worker');
const config = loadConfig();
const region = process.env.AWS_REGION ?? 'us-east-1';
const sqs = awsClient(SQSClient, { region });
const processor = new SqsFifoPartialProcessorAsync();

/** The item must be tried again later: the message's visibility was already set to the delay. */
class RetryLater extends Error {
  override name = 'RetryLater';
}

// The same event delivered twice (after FIFO's 5-minute dedup window) is answered from the
// idempotency record and causes no second reconcile. Failures are not stored, so retries run.
const idempotency = new IdempotencyConfig({ eventKeyJmesPath: 'id', expiresAfterSeconds: 3600 });
const persistenceStore = new DynamoDBPersistenceLayer({
  tableName: config.state.tableName,
  keyAttr: 'pk',
  sortKeyAttr: 'sk',
  staticPkValue: 'IDEMPOTENCY#reconcile-worker',
});

const reconcileOnce = makeIdempotent(
  async (event: ClusterEvent, receiveCount: number, receiptHandle: string) => {
    const ref = parseClusterRef(event.cluster);
    const deps = await buildEngine(config, [ref]);
    const force = event.kind === 'redeploy-requested' ? ((event.detail.action as 'restart' | 'redeploy' | undefined) ?? 'restart') : undefined;
    const window = force ? undefined : activeWindow(config.rollout.maintenanceWindows, event.cluster, new Date());
    const record = await reconcileCluster(ref, deps, {
      trigger: {
        kind: event.kind,
        eventId: event.id,
        source: event.source,
        ...(typeof event.detail.requestedBy === 'string' ? { requestedBy: event.detail.requestedBy } : {}),
        ...(typeof event.detail.reason === 'string' ? { reason: event.detail.reason } : {}),
      },
      ...(force ? { force, reason: String(event.detail.reason ?? '') } : {}),
      ...(window ? { holdReason: `maintenance window ${window.start}-${window.end} ${window.timeZone}` } : {}),
    });
    metrics.addMetric(`outcome_${record.outcome}`, MetricUnit.Count, 1);
    logger.info('reconciled', { cluster: record.cluster, eventId: event.id, outcome: record.outcome, message: record.message, writes: record.changed.writes });

    const decision = decideAfterAttempt(event, record, receiveCount, config.rollout, new Date());
    if (decision.kind === 'retry') {
      await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl(), ReceiptHandle: receiptHandle, VisibilityTimeout: decision.delaySeconds }));
      throw new RetryLater(`${event.cluster}: retry in ${decision.delaySeconds}s: ${decision.reason}`);
    }
    if (decision.kind === 'dead-letter') await deadLetter(event, decision.reason);
    return { cluster: record.cluster, outcome: record.outcome };
  },
  { persistenceStore, config: idempotency },
);

async function processRecord(record: SQSRecord): Promise<void> {
  const parsed = parseBody(record.body);
  if (!parsed.ok) {
    // Malformed work items are never retried: they go to the DLQ with the reason, the batch goes on.
    logger.error('malformed work item', { messageId: record.messageId, reason: parsed.reason });
    metrics.addMetric('malformed_work_item', MetricUnit.Count, 1);
    await deadLetter({ id: record.messageId, cluster: 'unknown' }, `malformed work item: ${parsed.reason}`, record.body);
    return;
  }
  const receiveCount = Number(record.attributes.ApproximateReceiveCount ?? '1');
  await reconcileOnce(parsed.event, receiveCount, record.receiptHandle);
}

function parseBody(body: string): { ok: true; event: ClusterEvent } | { ok: false; reason: string } {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { ok: false, reason: 'body is not JSON' };
  }
  const result = clusterEventSchema.safeParse(json);
  if (!result.success) return { ok: false, reason: result.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ') };
  return { ok: true, event: result.data };
}

async function deadLetter(event: Pick<ClusterEvent, 'id' | 'cluster'>, reason: string, rawBody?: string): Promise<void> {
  const dlq = process.env.SENSORFLEET_DLQ_URL ?? config.queue.dlqUrl;
  if (!dlq) throw new Error('SENSORFLEET_DLQ_URL is not set; cannot dead-letter');
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: dlq,
      MessageBody: rawBody ?? JSON.stringify(event),
      MessageGroupId: fifoId(event.cluster),
      MessageDeduplicationId: fifoId(`dlq-${event.id}`),
      MessageAttributes: { reason: { DataType: 'String', StringValue: reason.slice(0, 1000) } },
    }),
  );
  metrics.addMetric('dead_lettered', MetricUnit.Count, 1);
  logger.warn('work item sent to DLQ', { eventId: event.id, cluster: event.cluster, reason });
}

function queueUrl(): string {
  const url = process.env.SENSORFLEET_QUEUE_URL ?? config.queue.url;
  if (!url) throw new Error('SENSORFLEET_QUEUE_URL is not set');
  return url;
}

async function baseHandler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  idempotency.registerLambdaContext(context);
  return processPartialResponse(event, processRecord, processor, { context, skipGroupOnError: true, throwOnFullBatchFailure: false });
}

export const handler = middy(baseHandler).use(injectLambdaContext(logger)).use(logMetrics(metrics));
