import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { ClusterEvent } from '../../../shared/domain/cluster-event';
import { resetAwsClients } from '../../../shared/platforms/aws/clients';
import { importBundledHandler } from '../../support/bundle';
import { startFunctionUrl, type FunctionUrl, type UrlHandler } from '../function-url';

/**
 * The bundled `on-webhook` behind a sandbox Function URL, queueing to a FIFO work queue in moto: what
 * the webhook tests deliver to. `received()` takes (and deletes) what reached the queue since the last
 * call; `logs` holds every line the function wrote (Powertools through the console, POWERTOOLS_DEV).
 */
export interface WebhookFunction {
  url: string;
  fn: FunctionUrl;
  logs: string[];
  received(): Promise<ClusterEvent[]>;
  stop(): Promise<void>;
}

export async function startWebhookFunction(o: { queueUrl: string; region: string; endpoint: string; config: Record<string, unknown>; logs?: string[] }): Promise<WebhookFunction> {
  Object.assign(process.env, {
    SENSORFLEET_QUEUE_URL: o.queueUrl,
    SENSORFLEET_CONFIG: JSON.stringify(o.config),
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_DEV: 'true',
    POWERTOOLS_LOG_LEVEL: 'INFO',
  });
  resetAwsClients();
  const handler = await importBundledHandler<UrlHandler>('functions/on-webhook.ts');
  const fn = await startFunctionUrl(handler);
  const sqs = new SQSClient({ region: o.region, endpoint: o.endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  return {
    url: fn.url,
    fn,
    logs: o.logs ?? [],
    async received() {
      const out: ClusterEvent[] = [];
      for (;;) {
        const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: o.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 30 }));
        if (!r.Messages?.length) return out;
        out.push(...r.Messages.map((m) => JSON.parse(m.Body!) as ClusterEvent));
        await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: o.queueUrl, Entries: r.Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
      }
    },
    async stop() {
      await fn.stop();
      sqs.destroy();
    },
  };
}

/** Collects what the process writes to the console (Powertools logs with POWERTOOLS_DEV); returns restore(). */
export function captureConsole(into: string[]): () => void {
  const names = ['log', 'info', 'warn', 'error', 'debug'] as const;
  const saved = names.map((n) => console[n]);
  for (const n of names) console[n] = (...args: unknown[]) => void into.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
  return () => names.forEach((n, i) => (console[n] = saved[i]!));
}
