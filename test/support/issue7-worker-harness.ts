import { randomBytes, randomUUID } from 'node:crypto';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { vi } from 'vitest';
import type { ClusterEvent, ClusterEventKind } from '../../shared/domain/cluster-event';
import { enqueueClusterEvents } from '../../shared/queue/work-queue';
import { DynamoDbFleetStore } from '../../shared/state/dynamodb-store';
import type { ReconcileRecord } from '../../shared/state/records';
import { startSandbox, type Sandbox } from '../sandbox/index';
import { SqsEventSourceMapping, type SqsHandler } from '../sandbox/lambda-runner';
import { deployStackResources } from '../sandbox/stack';
import { resetAwsClients } from '../../shared/platforms/aws/clients';

/**
 * The reconcile worker as Lambda runs it, for the issue-7 retry/DLQ tests: the sandbox fleet, the
 * queues and table from serverless.yml (a fresh stack per test, so DLQ contents belong to one test),
 * the worker module imported fresh with the test's configuration, and the SQS event source mapping.
 */
export interface WorkerStack {
  workUrl: string;
  dlqUrl: string;
  store: DynamoDbFleetStore;
  /** Loads the worker with this configuration (merged over the stack's state/queue settings). */
  worker(config: Record<string, unknown>): Promise<SqsHandler>;
  mapping(handler: SqsHandler): SqsEventSourceMapping;
  send(events: ClusterEvent[]): Promise<void>;
  /** Every DLQ message with its reason attribute (read once; they stay hidden for a minute). */
  deadLetters(): Promise<{ body: string; reason?: string; attempts?: string }[]>;
  records(cluster: string): Promise<ReconcileRecord[]>;
}

export interface WorkerWorld {
  sandbox: Sandbox;
  where: { account: string; region: string };
  sqs: SQSClient;
  stack(): Promise<WorkerStack>;
  stop(): Promise<void>;
}

export async function startWorkerWorld(motoUrl: string, region: string): Promise<WorkerWorld> {
  const sandbox = await startSandbox({ motoUrl, region });
  const restore = sandbox.useAwsEnv();
  resetAwsClients();
  await sandbox.fleet.putActivationSecret();
  const where = { account: sandbox.aws.accountId, region };
  const sqs = new SQSClient({ region, endpoint: sandbox.aws.endpoint, credentials: sandbox.aws.credentials });
  const saved = { ...process.env };
  return {
    sandbox,
    where,
    sqs,
    async stack() {
      const out = await deployStackResources({ stage: `i7${randomBytes(4).toString('hex')}`, ...sandbox.aws });
      const queues = Object.values(out.queues);
      const work = queues.find((q) => q.name.endsWith('-work.fifo'))!;
      const dlq = queues.find((q) => q.name.endsWith('-dlq.fifo'))!;
      const table = Object.values(out.tables)[0]!.name;
      const store = new DynamoDbFleetStore(table, region);
      return {
        workUrl: work.url,
        dlqUrl: dlq.url,
        store,
        async worker(config) {
          Object.assign(process.env, {
            SENSORFLEET_TABLE: table,
            SENSORFLEET_IDEMPOTENCY_TABLE: out.tables.IdempotencyTable!.name,
            SENSORFLEET_QUEUE_URL: work.url,
            SENSORFLEET_DLQ_URL: dlq.url,
            POWERTOOLS_METRICS_DISABLED: 'true',
            // Powertools' documented switch to write through the global console, so tests can read the logs
            POWERTOOLS_DEV: 'true',
            SENSORFLEET_CONFIG: typeof config === 'string' ? config : JSON.stringify(config),
          });
          vi.resetModules();
          const mod = (await import('../../functions/reconcile-worker')) as { handler: SqsHandler };
          return mod.handler;
        },
        mapping: (handler) => new SqsEventSourceMapping(sqs, work.url, work.arn, handler, { region }),
        send: async (events) => {
          const r = await enqueueClusterEvents(work.url, events);
          if (r.failed.length) throw new Error(`enqueue failed: ${JSON.stringify(r.failed)}`);
        },
        async deadLetters() {
          const all: { body: string; reason?: string; attempts?: string }[] = [];
          for (;;) {
            const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlq.url, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'], VisibilityTimeout: 60, WaitTimeSeconds: 0 }));
            if (!r.Messages?.length) return all;
            for (const m of r.Messages) all.push({ body: m.Body ?? '', reason: m.MessageAttributes?.reason?.StringValue, attempts: m.MessageAttributes?.attempts?.StringValue });
          }
        },
        records: (cluster) => store.listReconciles(cluster, 100),
      };
    },
    async stop() {
      process.env = saved;
      restore();
      resetAwsClients();
      await sandbox.stop();
    },
  };
}

export function clusterEvent(kind: ClusterEventKind, cluster: string, o: { time?: string; detail?: Record<string, unknown> } = {}): ClusterEvent {
  return { id: `i7-${randomUUID()}`, time: o.time ?? new Date().toISOString(), kind, cluster, source: 'issue7-test', detail: o.detail ?? {} };
}

/** Log lines written through the console (POWERTOOLS_DEV), parsed. */
export function captureLogs(): { lines: Record<string, any>[]; restore(): void } {
  const lines: Record<string, any>[] = [];
  const spies = (['info', 'warn', 'error', 'debug', 'log'] as const).map((m) =>
    vi.spyOn(console, m).mockImplementation((...args: unknown[]) => {
      for (const a of args) {
        try {
          lines.push(JSON.parse(String(a)));
        } catch {
          lines.push({ text: String(a) });
        }
      }
    }),
  );
  return { lines, restore: () => spies.forEach((s) => s.mockRestore()) };
}
