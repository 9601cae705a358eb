import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { SQSClient } from '@aws-sdk/client-sqs';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { loadConfig, parseConfig } from '../shared/config/load';
import type { SensorfleetConfig } from '../shared/config/schema';
import type { FleetStore } from '../shared/state/store';
import type { ClusterEvent } from '../shared/domain/cluster-event';
import { parseClusterRef } from '../shared/domain/cluster-ref';
import { buildEngine } from '../shared/engine/build';
import { reconcileCluster, RecordNotWrittenError } from '../shared/engine/reconcile';
import { activeWindow } from '../shared/engine/windows';
import { decideAfterAttempt, decideAfterError, type WorkDecision } from '../shared/engine/work-decision';
import { addMetricValues, powertools } from '../shared/lambda/powertools';
import { reconcileMetrics } from '../shared/report/metrics';
import { reconciledLogAttributes } from '../shared/lambda/reconciled-log';
import { awsClient } from '../shared/platforms/aws/clients';
import { processFifoBatch, type RecordDisposition } from '../shared/queue/fifo-batch';
import { readWorkItem, RECEIVES_BEFORE_FRESH_MESSAGE, secondsUntilDue, type WorkItem } from '../shared/queue/work-item';
import { WorkItemQueue, type DeadLetterItem } from '../shared/queue/work-item-queue';
import { errorMessage } from '../shared/runtime/errors';
import { clusterVersion, ringRunOf } from '../shared/rollout/cluster-version';
import { answerRing, ringAnswerOf, ringWindowHold } from '../shared/rollout/ring-answer';
import { isRunMessageBody } from '../shared/rollout/run-message-body';
import { DynamoDbRolloutStore } from '../shared/state/rollout-store';

const { logger, metrics } = powertools('reconcile-worker');
const sqs = awsClient(SQSClient, { region: process.env.AWS_REGION ?? 'us-east-1' });
const DEFAULT_ROLLOUT = parseConfig({}).rollout;

// The same event delivered twice (after FIFO's 5-minute dedup window) is answered from the
// idempotency record and causes no second reconcile. Only final decisions (done, dead-letter) are
// stored; a retry is thrown, so nothing is stored and the requeued item runs again.
const idempotency = new IdempotencyConfig({ eventKeyJmesPath: 'id', expiresAfterSeconds: 3600 });
/**
 * How long an item's in-progress idempotency record holds it (the attempt's budget, not the whole
 * invocation's): an attempt whose record could not be cleared (a lost DynamoDB answer) blocks its item
 * this long at most. Attempts never wait for rollouts, so they take seconds.
 */
const ITEM_BUDGET_MS = 60_000;
let invocation: Context | undefined;

interface AttemptContext {
  /** This attempt's number among the item's failed attempts (failed so far + 1). */
  attempt: number;
  firstSeenAt: number;
}

type Setup =
  | { ok: true; config: SensorfleetConfig; attempt: (event: ClusterEvent, ctx: AttemptContext) => Promise<WorkDecision> }
  | { ok: false; error: unknown };

let setup: Setup | undefined;

/**
 * Configuration and what is built from it, on first use: a configuration that does not load sends
 * each item to the DLQ with the reason (retrying cannot fix it) instead of failing every invocation.
 */
function workerSetup(): Setup {
  if (setup) return setup;
  try {
    const config = loadConfig();
    const persistenceStore = idempotencyStore(config);
    setup = { ok: true, config, attempt: makeIdempotent(attemptFor(config), { persistenceStore, config: idempotency }) };
  } catch (error) {
    setup = { ok: false, error };
  }
  return setup;
}

/**
 * Idempotency records live in their own table keyed by `id` alone (serverless.yml IdempotencyTable), so
 * they spread over DynamoDB's partitions; in the fleet table under one static partition key they all
 * shared one partition's 1,000 writes/s
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html).
 * Without SENSORFLEET_IDEMPOTENCY_TABLE (a stack deployed before that table, a shell or harness that
 * exports only SENSORFLEET_TABLE) the records stay where they were, so nothing deployed breaks.
 */
function idempotencyStore(config: SensorfleetConfig): DynamoDBPersistenceLayer {
  const table = process.env.SENSORFLEET_IDEMPOTENCY_TABLE;
  if (table) return new DynamoDBPersistenceLayer({ tableName: table });
  logger.warn('SENSORFLEET_IDEMPOTENCY_TABLE not set: idempotency records go to the fleet table under one partition key', { table: config.state.tableName });
  return new DynamoDBPersistenceLayer({ tableName: config.state.tableName, keyAttr: 'pk', sortKeyAttr: 'sk', staticPkValue: 'IDEMPOTENCY#reconcile-worker' });
}

const queue = new WorkItemQueue(sqs, {
  queue: () => required(process.env.SENSORFLEET_QUEUE_URL ?? configured()?.queue.url, 'SENSORFLEET_QUEUE_URL'),
  dlq: () => required(process.env.SENSORFLEET_DLQ_URL ?? configured()?.queue.dlqUrl, 'SENSORFLEET_DLQ_URL'),
});

/** An earlier attempt of this request applied its forced action (its record got as far as verifying it). */
async function forcedAlready(event: ClusterEvent, store: FleetStore | undefined): Promise<boolean> {
  if (!store) return false;
  const applied = new Set(['progressing', 'converged', 'stuck', 'degraded']);
  return (await store.listReconciles(event.cluster, 20)).some((r) => r.trigger.eventId === event.id && applied.has(r.outcome));
}

/** A retry decision leaves the idempotent attempt by throwing, so it is not stored as the item's result. */
class RetryDecision extends Error {
  override name = 'RetryDecision';
  constructor(readonly decision: Extract<WorkDecision, { kind: 'retry' }>) {
    super(decision.reason);
  }
}

function attemptFor(config: SensorfleetConfig) {
  return async (event: ClusterEvent, ctx: AttemptContext): Promise<WorkDecision> => {
    const ref = parseClusterRef(event.cluster);
    const deps = await buildEngine(config, [ref]);
    // the version its ring released (a ring's own item releases it first); never the target by default
    const rollouts = new DynamoDbRolloutStore(config.state.tableName);
    const run = ringRunOf(event);
    const version = await clusterVersion(event, config, rollouts, new Date());
    if (!version.ok) {
      if (run) await answerRing(rollouts, run, event.cluster, { ok: false, outcome: 'skipped', message: version.reason });
      logger.info('rollout item not run', { cluster: event.cluster, eventId: event.id, reason: version.reason });
      return { kind: 'done' };
    }
    const requested = event.kind === 'redeploy-requested' ? ((event.detail.action as 'restart' | 'redeploy' | undefined) ?? 'restart') : undefined;
    // a forced action is applied once per request: the attempts that follow its rollout only watch it
    const force = requested && !(await forcedAlready(event, deps.store)) ? requested : undefined;
    const window = requested ? undefined : activeWindow(config.rollout.maintenanceWindows, event.cluster, new Date());
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
      version: version.choice,
      // one look at a rollout under way; the item comes back later instead of waiting here
      verifyOnce: true,
      ...(run ? { run: { id: run.id, ring: run.ring } } : {}),
    });
    metrics.addMetric(`outcome_${record.outcome}`, MetricUnit.Count, 1);
    addMetricValues(metrics, reconcileMetrics(record));
    logger.info('reconciled', { ...reconciledLogAttributes(record, event.id), attempt: ctx.attempt, ...(record.version ? { desiredVersion: record.version.desired, versionReason: record.version.reason } : {}) });
    if (run && window && record.outcome === 'held') {
      // a ring's cluster in a maintenance window holds its ring: it waits for the window's end, or halts the ring (ring-answer.ts)
      const hold = ringWindowHold({ window, now: new Date(), firstSeenAt: ctx.firstSeenAt, deadlineSeconds: config.rollout.readinessDeadlineSeconds });
      if (hold.kind === 'wait') throw new RetryDecision({ kind: 'retry', delaySeconds: hold.delaySeconds, reason: hold.reason });
      await answerRing(rollouts, run, event.cluster, hold.answer);
      return Object.assign({ kind: 'done' } as WorkDecision, { answered: true });
    }
    const decision = decideAfterAttempt(event, record, ctx.attempt, config.rollout, new Date(), ctx.firstSeenAt);
    if (decision.kind === 'retry') throw new RetryDecision(decision);
    if (!run) return decision;
    await answerRing(rollouts, run, event.cluster, decision.kind === 'dead-letter' ? { ok: false, outcome: record.outcome, message: decision.reason } : ringAnswerOf(record));
    return Object.assign(decision, { answered: true });
  };
}

async function handleRecord(record: SQSRecord): Promise<RecordDisposition> {
  const now = new Date();
  const s = workerSetup();
  const rollout = s.ok ? s.config.rollout : DEFAULT_ROLLOUT;
  if (isRunMessageBody(record.body)) return runMessage(record, s, rollout);
  const read = readWorkItem(record, now);
  if (!read.ok) {
    // Malformed work items are never retried: they go to the DLQ with the reason, the batch goes on.
    logger.error('malformed work item', { messageId: read.messageId, reason: read.reason });
    metrics.addMetric('malformed_work_item', MetricUnit.Count, 1);
    return deadLetter({ id: read.messageId, cluster: 'unknown', body: read.body, attempts: 0 }, record.receiptHandle, `malformed work item: ${read.reason}`, rollout);
  }
  const item = read.item;
  const due = secondsUntilDue(item, now);
  // an early delivery of a requeued item: its backoff is not over; no attempt is made or counted
  if (due > 0) return hold(item, due);

  let decision: WorkDecision;
  if (!s.ok) {
    decision = failedOutside(item, s.error, rollout);
  } else {
    try {
      if (invocation) idempotency.registerLambdaContext({ ...invocation, getRemainingTimeInMillis: () => Math.min(invocation!.getRemainingTimeInMillis(), ITEM_BUDGET_MS) });
      decision = await s.attempt(item.event, { attempt: item.attempts + 1, firstSeenAt: item.firstSeenAt });
    } catch (err) {
      // an earlier attempt's in-progress record (its answer lost): not an attempt of ours; it expires within ITEM_BUDGET_MS
      if ((err as Error)?.name === 'IdempotencyAlreadyInProgressError') decision = { kind: 'retry', delaySeconds: Math.max(5, rollout.retryBackoffSeconds), reason: errorMessage(err) };
      else decision = err instanceof RetryDecision ? err.decision : failedOutside(item, err, rollout);
    }
  }
  if (decision.kind === 'dead-letter' && !(s.ok && decidedInside(decision))) await tellRing(item, decision.reason);
  return carryOut(item, decision, rollout);
}

/** Decisions the idempotent attempt made itself already told the ring (see attemptFor). */
function decidedInside(decision: WorkDecision): boolean {
  return (decision as { answered?: boolean }).answered === true;
}

/** A ring's item going to the DLQ from outside the attempt: the workflow hears it now, not at its task timeout. */
async function tellRing(item: WorkItem, reason: string): Promise<void> {
  const run = ringRunOf(item.event);
  const table = process.env.SENSORFLEET_TABLE ?? configured()?.state.tableName;
  if (!run || !table) return;
  try {
    await answerRing(new DynamoDbRolloutStore(table), run, item.event.cluster, { ok: false, outcome: 'failed', message: reason });
  } catch (err) {
    logger.error('ring not told of a dead-lettered item; its task timeout will end the wait', { cluster: item.event.cluster, eventId: item.event.id, reason: errorMessage(err) });
  }
}

/** A message of the rollout workflow (gate, halted, finished): one short look, answered; on an error it comes back. */
async function runMessage(record: SQSRecord, s: Setup, rollout: SensorfleetConfig['rollout']): Promise<RecordDisposition> {
  const id = record.messageId;
  if (!s.ok) return deadLetter({ id, cluster: 'rollout', body: record.body, attempts: 0 }, record.receiptHandle, `rollout message not handled: ${errorMessage(s.error)}`, rollout);
  try {
    const { handleRunMessage } = await import('../shared/rollout/run-messages');
    const out = await handleRunMessage(JSON.parse(record.body), { config: s.config, store: new DynamoDbRolloutStore(s.config.state.tableName) });
    if (out.kind === 'invalid') return deadLetter({ id, cluster: 'rollout', body: record.body, attempts: 0 }, record.receiptHandle, `malformed rollout message: ${out.reason}`, rollout);
    logger.info('rollout message', { messageId: id, note: out.note });
    return { kind: 'done' };
  } catch (err) {
    logger.error('rollout message failed; it comes back', { messageId: id, reason: errorMessage(err) });
    try {
      await queue.delay(record.receiptHandle, rollout.retryBackoffSeconds);
      return { kind: 'held', delaySeconds: rollout.retryBackoffSeconds };
    } catch (again) {
      return stalled({ id, cluster: 'rollout' }, again);
    }
  }
}

/** An error outside the reconcile's own handling: logged with the reason, then the same decision as any attempt. */
function failedOutside(item: WorkItem, err: unknown, rollout: SensorfleetConfig['rollout']): WorkDecision {
  const base = { cluster: item.event.cluster, eventId: item.event.id, attempt: item.attempts + 1 };
  if (err instanceof RecordNotWrittenError) {
    // the attempt may have changed the cluster: the log keeps what the record would have said
    logger.error('reconcile not recorded', { ...reconciledLogAttributes(err.record, item.event.id), attempt: base.attempt, outcomeReason: err.record.message, planned: err.record.planned.map((a) => a.reason), reason: err.message });
  } else {
    logger.error('work item attempt failed', { ...base, reason: errorMessage(err), error: (err as Error)?.name });
  }
  return decideAfterError(item.event, err, item.attempts + 1, rollout, new Date(), item.firstSeenAt);
}

async function carryOut(item: WorkItem, decision: WorkDecision, rollout: SensorfleetConfig['rollout']): Promise<RecordDisposition> {
  if (decision.kind === 'done') return { kind: 'done' };
  if (decision.kind === 'dead-letter') {
    return deadLetter({ id: item.event.id, cluster: item.event.cluster, body: item.body, attempts: item.attempts + 1 }, item.receiptHandle, decision.reason, rollout);
  }
  const log = { cluster: item.event.cluster, eventId: item.event.id, delaySeconds: decision.delaySeconds, reason: decision.reason };
  if (decision.attempts !== undefined) {
    // a failed attempt: the item goes on as a new message that carries the new count
    metrics.addMetric('work_item_retried', MetricUnit.Count, 1);
    logger.info('work item retried', { ...log, attempts: decision.attempts });
    return requeue(item, decision.attempts, decision.delaySeconds);
  }
  // a readiness poll: the same message waits at the head of its group, the count unchanged
  if (item.receiveCount >= RECEIVES_BEFORE_FRESH_MESSAGE) return requeue(item, item.attempts, decision.delaySeconds);
  return hold(item, decision.delaySeconds);
}

/** This message stays and waits `seconds`; if its visibility cannot be changed, a new message carries the item instead. */
async function hold(item: WorkItem, seconds: number): Promise<RecordDisposition> {
  try {
    await queue.delay(item.receiptHandle, seconds);
    return { kind: 'held', delaySeconds: seconds };
  } catch (err) {
    logger.warn('work item requeued as a new message', { cluster: item.event.cluster, eventId: item.event.id, reason: `its visibility could not be changed: ${errorMessage(err)}` });
    try {
      await queue.requeue(item, { attempts: item.attempts, notBefore: Date.now() + seconds * 1000 });
      return { kind: 'requeued', delaySeconds: seconds };
    } catch (again) {
      return stalled(item.event, again);
    }
  }
}

/** The item as a new message (with `attempts`); if that cannot be sent, this message waits instead (the count then stays). */
async function requeue(item: WorkItem, attempts: number, seconds: number): Promise<RecordDisposition> {
  try {
    await queue.requeue(item, { attempts, notBefore: Date.now() + seconds * 1000 });
    return { kind: 'requeued', delaySeconds: seconds };
  } catch (err) {
    logger.warn('work item could not be requeued; the same message waits instead', { cluster: item.event.cluster, eventId: item.event.id, attempts: item.attempts, reason: errorMessage(err) });
    try {
      await queue.delay(item.receiptHandle, seconds);
      return { kind: 'held', delaySeconds: seconds };
    } catch (again) {
      return stalled(item.event, again);
    }
  }
}

async function deadLetter(item: DeadLetterItem, receiptHandle: string, reason: string, rollout: SensorfleetConfig['rollout']): Promise<RecordDisposition> {
  try {
    await queue.deadLetter(item, reason);
    metrics.addMetric('dead_lettered', MetricUnit.Count, 1);
    logger.warn('work item sent to DLQ', { eventId: item.id, cluster: item.cluster, attempts: item.attempts, reason });
    return { kind: 'done' };
  } catch (err) {
    // kept: the next delivery decides again (a stored decision is answered by the idempotency record) and retries the send
    logger.error('work item could not be dead-lettered; kept for another try', { eventId: item.id, cluster: item.cluster, reason, error: errorMessage(err) });
    try {
      await queue.delay(receiptHandle, rollout.retryBackoffSeconds);
      return { kind: 'held', delaySeconds: rollout.retryBackoffSeconds };
    } catch (again) {
      return stalled({ id: item.id, cluster: item.cluster }, again);
    }
  }
}

/** Nothing more can be done from here (SQS itself failing): the message returns after the queue's visibility timeout, and says so. */
function stalled(event: Pick<ClusterEvent, 'id' | 'cluster'>, err: unknown): RecordDisposition {
  metrics.addMetric('work_item_stalled', MetricUnit.Count, 1);
  logger.error("work item left to the queue's visibility timeout", { eventId: event.id, cluster: event.cluster, reason: errorMessage(err) });
  return { kind: 'failed' };
}

/** Followers of a held record in its FIFO group wait as long as it does (a fresh message when received too often). */
async function holdFollowers(records: SQSRecord[], seconds: number): Promise<Set<string>> {
  const finished = new Set<string>();
  const now = new Date();
  const toDelay: SQSRecord[] = [];
  for (const r of records) {
    const read = readWorkItem(r, now);
    if (read.ok && read.item.receiveCount >= RECEIVES_BEFORE_FRESH_MESSAGE) {
      try {
        await queue.requeue(read.item, { attempts: read.item.attempts, notBefore: read.item.notBefore ?? 0 });
        finished.add(r.messageId);
        continue;
      } catch {
        // delayed like the others below
      }
    }
    toDelay.push(r);
  }
  if (toDelay.length === 0) return finished;
  try {
    const failed = await queue.delayAll(toDelay.map((r) => r.receiptHandle), seconds);
    if (failed.length) logger.warn("held followers left to the queue's visibility timeout", { count: failed.length, reason: 'ChangeMessageVisibilityBatch refused them' });
  } catch (err) {
    logger.warn("held followers left to the queue's visibility timeout", { count: toDelay.length, reason: errorMessage(err) });
  }
  return finished;
}

function configured(): SensorfleetConfig | undefined {
  const s = workerSetup();
  return s.ok ? s.config : undefined;
}

function required(value: string | undefined, name: string): string {
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

async function baseHandler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  invocation = context;
  idempotency.registerLambdaContext(context);
  return processFifoBatch(event.Records, handleRecord, holdFollowers);
}

export const handler = middy(baseHandler).use(injectLambdaContext(logger)).use(logMetrics(metrics));
