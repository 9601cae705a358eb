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
import { errorMessage, isTerminalError } from '../shared/runtime/errors';
import { acceptsAwsAccount, inConfiguredTargets } from '../shared/webhooks/targets';

const { logger, metrics } = powertools('on-aws-event');
const config = loadConfig();

/**
 * EventBridge -> canonical cluster events -> work queue. A malformed or unknown event is logged
 * with its id and reason and the invocation returns normally (retrying cannot fix it). A failure
 * that a later attempt may not meet — the queue or Auto Scaling unreachable — throws once the
 * rest is queued: Lambda's asynchronous retries deliver the event again (the queue's deduplication
 * id keeps that from doubling the work) and after the last one its on-failure destination, the
 * ingest DLQ (serverless.yml IngestDeadLetterQueue), keeps the event with the error.
 */
async function baseHandler(event: unknown) {
  const events: ClusterEvent[] = [];
  const unresolved: string[] = [];
  let rejected = 0;
  for (const record of normalizeRecords(event)) {
    if (record.error) {
      rejected++;
      logger.warn('event not processed', { eventId: record.id, reason: record.error.reason });
      continue;
    }
    // events forwarded from member accounts: only configured target accounts make work
    for (const e of record.events) {
      const scope = inConfiguredTargets(config, e.cluster);
      if (scope.ok) events.push(e);
      else logger.warn('event dropped: not a configured target', { eventId: e.id, cluster: e.cluster, reason: scope.reason });
    }
    for (const p of record.pending) {
      const scope = acceptsAwsAccount(config, p.account);
      if (!scope.ok) {
        logger.warn('event dropped: not a configured target', { eventId: p.id, asgName: p.asgName, reason: scope.reason });
        continue;
      }
      const resolved = await resolve(p);
      if (typeof resolved === 'string') unresolved.push(resolved);
      else if (resolved) events.push(resolved);
    }
  }
  if (rejected) metrics.addMetric('malformed_event', MetricUnit.Count, rejected);
  if (events.length === 0 && unresolved.length === 0) {
    logger.info('no cluster event in payload', { eventId: idOf(event) });
    if (!rejected) metrics.addMetric('ignored_event', MetricUnit.Count, 1);
    return { queued: 0, rejected };
  }
  const result = events.length ? await enqueueClusterEvents(queueUrl(), events) : { sent: 0, failed: [] };
  metrics.addMetric('queued_event', MetricUnit.Count, result.sent);
  if (events.length) logger.info('queued', { events: events.map((e) => ({ id: e.id, kind: e.kind, cluster: e.cluster })), failed: result.failed });
  const problems = [
    ...(result.failed.length ? [`could not queue ${result.failed.length} event(s): ${result.failed.map((f) => `${f.id}: ${f.reason}`).join('; ')}`] : []),
    ...unresolved,
  ];
  if (problems.length) {
    if (result.failed.length) metrics.addMetric('enqueue_failed', MetricUnit.Count, result.failed.length);
    throw new Error(problems.join('; '));
  }
  return { queued: result.sent, rejected };
}

/** The launch's cluster event; undefined when the group feeds no cluster; a string (the reason) when it could not be read now. */
async function resolve(p: PendingAsgLaunch): Promise<ClusterEvent | string | undefined> {
  const target = config.targets.aws.find((t) => t.accountId === p.account);
  try {
    const out = await resolveAsgLaunch(p, { access: { ...(target?.roleArn ? { roleArn: target.roleArn } : {}), ...(target?.externalId ? { externalId: target.externalId } : {}) } });
    if (out.ok) return out.event;
    logger.info('ASG launch not tied to a cluster', { eventId: p.id, asgName: p.asgName, reason: out.reason });
  } catch (err) {
    metrics.addMetric('unresolved_asg_launch', MetricUnit.Count, 1);
    const reason = `ASG launch ${p.id} (group ${p.asgName}) could not be resolved: ${errorMessage(err)}`;
    logger.warn('ASG launch could not be resolved', { eventId: p.id, asgName: p.asgName, reason: errorMessage(err) });
    // a group tag that makes no valid cluster reference is bad input, never retried; anything else may pass later
    return isTerminalError(err) ? undefined : reason;
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
