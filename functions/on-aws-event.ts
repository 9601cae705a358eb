import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { loadConfig } from '../shared/config/load';
import type { ClusterEvent } from '../shared/domain/cluster-event';
import { normalizeRecords } from '../shared/events/normalize';
import { resolveAsgLaunch } from '../shared/events/resolve-asg';
import type { PendingAsgLaunch } from '../shared/events/types';
import { powertools } from '../shared/lambda/powertools';
import { enqueueClusterEvents } from '../shared/queue/work-queue';
import { errorMessage } from '../shared/runtime/errors';

const { logger, metrics } = powertools('on-aws-event');
const config = loadConfig();

/**
 * EventBridge -> canonical cluster events -> work queue. A malformed or unknown event is logged
 * with its id and reason and the invocation returns normally (retrying cannot fix it); only a
 * failure to reach the queue throws, so EventBridge's async retries deliver the event again
 * (the queue's deduplication id keeps that from doubling the work).
 */
async function baseHandler(event: unknown) {
  const events: ClusterEvent[] = [];
  let rejected = 0;
  for (const record of normalizeRecords(event)) {
    if (record.error) {
      rejected++;
      logger.warn('event not processed', { eventId: record.id, reason: record.error.reason });
      continue;
    }
    events.push(...record.events);
    for (const p of record.pending) {
      const resolved = await resolve(p);
      if (resolved) events.push(resolved);
    }
  }
  if (rejected) metrics.addMetric('malformed_event', MetricUnit.Count, rejected);
  if (events.length === 0) {
    logger.info('no cluster event in payload', { eventId: idOf(event) });
    if (!rejected) metrics.addMetric('ignored_event', MetricUnit.Count, 1);
    return { queued: 0, rejected };
  }
  const result = await enqueueClusterEvents(queueUrl(), events);
  metrics.addMetric('queued_event', MetricUnit.Count, result.sent);
  logger.info('queued', { events: events.map((e) => ({ id: e.id, kind: e.kind, cluster: e.cluster })), failed: result.failed });
  if (result.failed.length) {
    metrics.addMetric('enqueue_failed', MetricUnit.Count, result.failed.length);
    throw new Error(`could not queue ${result.failed.length} event(s): ${result.failed.map((f) => `${f.id}: ${f.reason}`).join('; ')}`);
  }
  return { queued: result.sent, rejected };
}

async function resolve(p: PendingAsgLaunch): Promise<ClusterEvent | undefined> {
  const target = config.targets.aws.find((t) => t.accountId === p.account);
  try {
    const out = await resolveAsgLaunch(p, { access: { ...(target?.roleArn ? { roleArn: target.roleArn } : {}), ...(target?.externalId ? { externalId: target.externalId } : {}) } });
    if (out.ok) return out.event;
    logger.info('ASG launch not tied to a cluster', { eventId: p.id, asgName: p.asgName, reason: out.reason });
  } catch (err) {
    logger.warn('ASG launch could not be resolved', { eventId: p.id, asgName: p.asgName, reason: errorMessage(err) });
  }
  metrics.addMetric('unresolved_asg_launch', MetricUnit.Count, 1);
  return undefined;
}

function queueUrl(): string {
  const url = process.env.SENSORFLEET_QUEUE_URL ?? config.queue.url;
  if (!url) throw new Error('SENSORFLEET_QUEUE_URL is not set');
  return url;
}

function idOf(event: unknown): string {
  return typeof (event as { id?: unknown })?.id === 'string' ? (event as { id: string }).id : 'unknown';
}

export const handler = middy(baseHandler).use(injectLambdaContext(logger)).use(logMetrics(metrics));
