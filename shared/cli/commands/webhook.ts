import { enqueueClusterEvents } from '../../queue/work-queue';
import { ConfigError } from '../../runtime/errors';
import { createWebhookHandler } from '../../webhooks/handler';
import { serveWebhook } from '../../webhooks/node-http';
import { runCommand, UsageError } from '../args';
import { EXIT, println, type CliIo } from '../io';
import { cliConfig } from '../load-config';
import { commandSpec } from '../spec';

/**
 * `webhook serve [--port N]`: the on-webhook handler on 127.0.0.1 against the configured work queue
 * ($SENSORFLEET_QUEUE_URL or queue.url), for a tunnel or a test to point Event Grid or Pub/Sub push at.
 * One line per delivery on stderr (method, path, status, outcome; never a header, query or token),
 * until Ctrl-C.
 */
export function webhookServeCommand(args: string[], io: CliIo): Promise<number> {
  return runCommand(commandSpec('webhook serve'), args, io, async ({ values }) => {
    const port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be a port number (got "${values.port}")`);
    const { config, source } = await cliConfig(values.config);
    const sources = [config.webhooks.eventGrid && `Event Grid at ${config.webhooks.eventGrid.path}`, config.webhooks.pubsub && `Pub/Sub push at ${config.webhooks.pubsub.path}`].filter(Boolean);
    if (sources.length === 0) throw new ConfigError(`no webhook is configured: add webhooks.eventGrid and/or webhooks.pubsub${source ? ` to ${source}` : ''}`);
    const queueUrl = process.env.SENSORFLEET_QUEUE_URL ?? config.queue.url;
    if (!queueUrl) throw new ConfigError('no work queue: set $SENSORFLEET_QUEUE_URL or queue.url');
    const line = (attributes: Record<string, unknown>) =>
      println(io.stderr, `${attributes.method} ${attributes.path} ${attributes.status} ${attributes.outcome ?? ''}${attributes.note ? ` (${attributes.note})` : ''}${attributes.queued ? ` queued ${JSON.stringify(attributes.queued)}` : ''}`.trim());
    const handler = createWebhookHandler({ config, enqueue: (events) => enqueueClusterEvents(queueUrl, events), log: { info: (_m, a) => line(a), warn: (_m, a) => line(a) } });
    let requestStop!: () => void;
    const stopRequested = new Promise<void>((resolve) => (requestStop = resolve));
    process.on('SIGINT', requestStop);
    process.on('SIGTERM', requestStop);
    try {
      const server = await serveWebhook(handler, { port, maxBodyBytes: config.webhooks.maxBodyBytes });
      println(io.stdout, `listening on ${server.url}: ${sources.join(', ')}; queueing to ${queueUrl}`);
      await stopRequested;
      await server.close();
      return EXIT.ok;
    } finally {
      process.off('SIGINT', requestStop);
      process.off('SIGTERM', requestStop);
    }
  });
}
