import { randomBytes } from 'node:crypto';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import type { ClusterEvent } from '../../shared/domain/cluster-event';
import { resetAwsClients } from '../../shared/platforms/aws/clients';
import { enqueueClusterEvents } from '../../shared/queue/work-queue';
import { DynamoDbFleetStore } from '../../shared/state/dynamodb-store';
import type { RunRecord } from '../../shared/state/rollout-records';
import { DynamoDbRolloutStore } from '../../shared/state/rollout-store';
import { startSandbox, type Sandbox } from '../sandbox/index';
import { lambdaContext, SqsEventSourceMapping, type DrainResult, type SqsHandler } from '../sandbox/lambda-runner';
import { startQualysSandbox, type QualysSandbox } from '../sandbox/qualys/fixture';
import { deployStackResources, type StackOutputs } from '../sandbox/stack';
import { importBundledHandler } from './bundle';

/**
 * A control plane in the sandbox for rollout runs: the stack from serverless.yml (queues, table, the
 * rollout state machine run by moto's executor behind the front), the Qualys fake hearing sensor
 * events, and the bundled handlers as Lambda runs them: nightly and on-aws-event invoked directly,
 * the worker by an SQS event source mapping with `pollers` concurrent "containers" (each its own
 * module instance, as separate Lambda sandboxes are). Every invocation is timed.
 */
export interface Invocation {
  fn: string;
  ms: number;
  records?: number;
}

export interface RolloutWorld {
  sandbox: Sandbox;
  qualys: QualysSandbox;
  where: { account: string; region: string };
  stack: StackOutputs;
  table: string;
  workUrl: string;
  dlqUrl: string;
  stateMachineArn: string;
  store: DynamoDbFleetStore;
  rollouts: DynamoDbRolloutStore;
  invocations: Invocation[];
  /** Loads the bundled handlers with this configuration (the stack's table, queues and Qualys wired in). */
  configure(config: Record<string, unknown>): Promise<void>;
  nightly(event?: Record<string, unknown>): Promise<any>;
  onAwsEvent(event: unknown): Promise<unknown>;
  send(events: ClusterEvent[]): Promise<void>;
  /** Runs the worker's event source mapping until `done()` holds (checked between polls). */
  pump(done: () => Promise<boolean>, timeoutMs: number): Promise<DrainResult>;
  /** Runs it until the queue holds nothing. */
  drain(timeoutMs: number): Promise<DrainResult>;
  waitForRun(runId: string, statuses: RunRecord['status'][], timeoutMs: number): Promise<RunRecord>;
  deadLetters(): Promise<{ body: string; reason?: string; cluster?: string }[]>;
  longest(): Invocation;
  /** Wraps the world's own reads of the fleet table (a fault suite keeps them out of its faults). */
  quiet: <T>(fn: () => Promise<T>) => Promise<T>;
  stop(): Promise<void>;
}

export async function startRolloutWorld(motoUrl: string, region: string, o: { pollers?: number; checkInIntervalMs?: number } = {}): Promise<RolloutWorld> {
  const sandbox = await startSandbox({ motoUrl, region, stepFunctions: true });
  const restore = sandbox.useAwsEnv();
  const saved = { ...process.env };
  resetAwsClients();
  await sandbox.fleet.putActivationSecret();
  const where = { account: sandbox.aws.accountId, region };
  const stack = await deployStackResources({ stage: `ro${randomBytes(3).toString('hex')}`, ...sandbox.aws });
  const queues = Object.values(stack.queues);
  const work = queues.find((q) => q.name.endsWith('-work.fifo'))!;
  const dlq = queues.find((q) => q.name.endsWith('-dlq.fifo'))!;
  const table = Object.values(stack.tables)[0]!.name;
  const stateMachineArn = Object.values(stack.stateMachines)[0]!.arn;
  const qualys = await startQualysSandbox(sandbox.aws.endpoint, { region, checkInIntervalMs: o.checkInIntervalMs ?? 300 });
  const detach = qualys.fake.attachSensorEvents(sandbox.sensors);
  // Lambda's pollers are AWS's: they read the queue directly, never through the fault switches
  const sqs = new SQSClient({ region, endpoint: sandbox.motoUrl, credentials: sandbox.aws.credentials });
  const invocations: Invocation[] = [];
  const timed = <A extends unknown[], R>(fn: string, h: (...a: A) => Promise<R>, count?: (...a: A) => number) => async (...a: A): Promise<R> => {
    const t0 = performance.now();
    try {
      return await h(...a);
    } finally {
      invocations.push({ fn, ms: performance.now() - t0, ...(count ? { records: count(...a) } : {}) });
    }
  };
  let nightly: (e: unknown, c: Context) => Promise<any>;
  let onAwsEvent: (e: unknown, c: Context) => Promise<unknown>;
  let mappings: SqsEventSourceMapping[] = [];

  const world: RolloutWorld = {
    sandbox,
    qualys,
    where,
    stack,
    table,
    workUrl: work.url,
    dlqUrl: dlq.url,
    stateMachineArn,
    store: new DynamoDbFleetStore(table, region),
    rollouts: new DynamoDbRolloutStore(table, region),
    invocations,
    async configure(config) {
      const q = qualys.config();
      Object.assign(process.env, {
        SENSORFLEET_TABLE: table,
        SENSORFLEET_IDEMPOTENCY_TABLE: stack.tables.IdempotencyTable!.name,
        SENSORFLEET_QUEUE_URL: work.url,
        SENSORFLEET_DLQ_URL: dlq.url,
        SENSORFLEET_STATE_MACHINE_ARN: stateMachineArn,
        POWERTOOLS_LOG_LEVEL: process.env.ROLLOUT_TEST_LOGS ? 'INFO' : 'SILENT',
        POWERTOOLS_METRICS_DISABLED: 'true',
        SENSORFLEET_CONFIG: JSON.stringify({ ...config, qualys: { baseUrl: q.qualys.baseUrl, auth: q.qualys.auth, retry: q.qualys.retry, maxRateLimitWaitSeconds: 5, ...((config.qualys as object) ?? {}) } }),
      });
      nightly = timed('nightly', await importBundledHandler('functions/nightly.ts'));
      onAwsEvent = timed('on-aws-event', await importBundledHandler('functions/on-aws-event.ts'));
      mappings = [];
      for (let i = 0; i < (o.pollers ?? 2); i++) {
        const worker = await importBundledHandler<SqsHandler>('functions/reconcile-worker.ts');
        mappings.push(new SqsEventSourceMapping(sqs, work.url, work.arn, timed('reconcile-worker', worker, (e) => e.Records.length), { region, batchSize: 10 }));
      }
    },
    nightly: (event = {}) => nightly({ id: `nightly-${randomBytes(6).toString('hex')}`, 'detail-type': 'Scheduled Event', source: 'aws.events', time: new Date().toISOString(), ...event }, lambdaContext('nightly', 60_000)),
    onAwsEvent: (event) => onAwsEvent(event, lambdaContext('on-aws-event', 30_000)),
    async send(events) {
      const r = await enqueueClusterEvents(work.url, events);
      if (r.failed.length) throw new Error(`enqueue failed: ${JSON.stringify(r.failed)}`);
    },
    async pump(done, timeoutMs) {
      const result: DrainResult = { invocations: 0, processed: 0, failedRecords: 0 };
      const end = Date.now() + timeoutMs;
      let finished = false;
      const poller = async (m: SqsEventSourceMapping) => {
        while (!finished && Date.now() < end) {
          const n = await m.pollOnce(result).catch(() => 0);
          if (n === 0) await new Promise((r) => setTimeout(r, 100));
        }
      };
      const watcher = async () => {
        while (Date.now() < end) {
          if (await done()) {
            finished = true;
            return;
          }
          await new Promise((r) => setTimeout(r, 250));
        }
        finished = true;
      };
      await Promise.all([watcher(), ...mappings.map(poller)]);
      if (!(await done())) throw new Error(`condition not met within ${timeoutMs} ms (${await mappings[0]!.pending()} message(s) in the queue)`);
      return result;
    },
    async drain(timeoutMs) {
      let quiet = 0;
      return world.pump(async () => {
        quiet = (await mappings[0]!.pending()) === 0 ? quiet + 1 : 0;
        return quiet >= 2;
      }, timeoutMs);
    },
    async waitForRun(runId, statuses, timeoutMs) {
      let run: RunRecord | undefined;
      await world.pump(async () => {
        run = await world.quiet(() => world.rollouts.getRun(runId));
        return Boolean(run && statuses.includes(run.status));
      }, timeoutMs);
      return run!;
    },
    async deadLetters() {
      const all: { body: string; reason?: string; cluster?: string }[] = [];
      for (;;) {
        const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlq.url, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'], VisibilityTimeout: 600, WaitTimeSeconds: 0 }));
        if (!r.Messages?.length) return all;
        for (const m of r.Messages) all.push({ body: m.Body ?? '', reason: m.MessageAttributes?.reason?.StringValue, cluster: m.MessageAttributes?.cluster?.StringValue });
      }
    },
    longest: () => [...invocations].sort((a, b) => b.ms - a.ms)[0] ?? { fn: 'none', ms: 0 },
    quiet: (fn) => fn(),
    async stop() {
      detach();
      await qualys.stop();
      sqs.destroy();
      process.env = saved;
      restore();
      resetAwsClients();
      await sandbox.stop();
    },
  };
  return world;
}
