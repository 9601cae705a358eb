import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { loadConfig } from '../shared/config/load';
import { buildAdapters } from '../shared/engine/build';
import { discoverFleet } from '../shared/engine/discover';
import { parseRedeployRequest, redeployEvents, selectClusters } from '../shared/engine/redeploy-request';
import { powertools } from '../shared/lambda/powertools';
import { enqueueClusterEvents } from '../shared/queue/work-queue';
import { errorMessage } from '../shared/runtime/errors';

const { logger, metrics } = powertools('redeploy');
const config = loadConfig();

/**
 * On-call forced redeploy (direct invoke): {cluster | selector, action: restart|redeploy, reason, requestedBy}.
 * Work goes through the queue so a cluster is never reconciled twice at once; the worker records
 * the reason and the outcome. Returns what was queued.
 */
async function baseHandler(input: unknown) {
  let request;
  try {
    request = parseRedeployRequest(input);
  } catch (err) {
    return { ok: false, error: errorMessage(err) }; // invalid request: answered, never retried
  }
  const fleet = request.selector ? (await discoverFleet(config, buildAdapters(config))).clusters : [];
  const clusters = selectClusters(request, fleet);
  if (clusters.length === 0) return { ok: false, error: `selector ${request.selector} matches no cluster` };
  const events = redeployEvents(request, clusters, new Date());
  const queueUrl = process.env.SENSORFLEET_QUEUE_URL ?? config.queue.url;
  if (!queueUrl) throw new Error('SENSORFLEET_QUEUE_URL is not set');
  const result = await enqueueClusterEvents(queueUrl, events);
  logger.info('redeploy requested', { action: request.action, reason: request.reason, requestedBy: request.requestedBy, clusters: events.map((e) => e.cluster), failed: result.failed });
  return { ok: result.failed.length === 0, queued: events.map((e) => ({ cluster: e.cluster, eventId: e.id })), failed: result.failed };
}

export const handler = middy(baseHandler).use(injectLambdaContext(logger)).use(logMetrics(metrics));
