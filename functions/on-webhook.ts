import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { loadConfig } from '../shared/config/load';
import { powertools } from '../shared/lambda/powertools';
import { enqueueClusterEvents } from '../shared/queue/work-queue';
import { createWebhookHandler } from '../shared/webhooks/handler';
import { jsonReply } from '../shared/webhooks/http';
import { fromHttpEventV2, isHttpEventV2, toHttpResultV2 } from '../shared/webhooks/lambda-http';

const { logger, metrics } = powertools('on-webhook');
const config = loadConfig();

/**
 * Azure Event Grid and GCP Pub/Sub push, through the function's URL (serverless.yml `url: true`,
 * auth type NONE: every delivery is authenticated by shared/webhooks). Thin: the request becomes the
 * webhook's own, the webhook authenticates, normalises, queues and replies (shared/webhooks/handler.ts).
 */
const webhook = createWebhookHandler({
  config,
  enqueue: (events) => enqueueClusterEvents(queueUrl(), events),
  log: {
    info: (message, attributes) => logger.info(message, attributes),
    warn: (message, attributes) => logger.warn(message, attributes),
  },
});

async function baseHandler(event: unknown) {
  if (!isHttpEventV2(event)) {
    logger.warn('not an HTTP request (payload format 2.0)', {});
    return toHttpResultV2(jsonReply(400, { error: 'malformed', reason: 'not a Lambda Function URL / HTTP API request' }));
  }
  const reply = await webhook(fromHttpEventV2(event, config.webhooks.maxBodyBytes));
  metrics.addMetric(reply.status < 300 ? 'webhook_accepted' : reply.status < 500 ? 'webhook_refused' : 'webhook_unavailable', MetricUnit.Count, 1);
  return toHttpResultV2(reply);
}

function queueUrl(): string {
  const url = process.env.SENSORFLEET_QUEUE_URL ?? config.queue.url;
  if (!url) throw new Error('SENSORFLEET_QUEUE_URL is not set');
  return url;
}

export const handler = middy(baseHandler).use(injectLambdaContext(logger)).use(logMetrics(metrics));
