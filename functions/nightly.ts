import { createHash } from 'node:crypto';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { loadConfig } from '../shared/config/load';
import type { ClusterEvent } from '../shared/domain/cluster-event';
import { formatClusterRef } from '../shared/domain/cluster-ref';
import { buildAdapters } from '../shared/engine/build';
import { discoverFleet } from '../shared/engine/discover';
import { powertools, publishMetricValues } from '../shared/lambda/powertools';
import { fleetFigures } from '../shared/report/fleet-figures';
import { DynamoDbFleetStore } from '../shared/state/dynamodb-store';
import { enqueueClusterEvents } from '../shared/queue/work-queue';
import { startRolloutRun } from '../shared/rollout/start-run';
import { DynamoDbRolloutStore } from '../shared/state/rollout-store';

const { logger, metrics } = powertools('nightly');
const config = loadConfig();

/**
 * Nightly: find every cluster in every configured scope and start a durable run (DESIGN §3) — a run
 * record plus the Step Functions workflow that hands each ring's clusters to the FIFO queue, gates
 * each ring and halts on a failed one. This invocation reconciles nothing itself and ends in seconds.
 * While another run is running or halted, no new one starts: each cluster gets a plain reconcile work
 * item instead (drift is still fixed, at the version its ring released).
 */
async function baseHandler(event: { id?: string } = {}) {
  await publishFleetFigures();
  const discovery = await discoverFleet(config, buildAdapters(config));
  for (const e of discovery.errors) logger.error('discovery failed for a scope', e);
  const clusters = discovery.clusters.map(formatClusterRef);
  const discoveryErrors = discovery.errors;
  if (clusters.length === 0) {
    logger.warn('nightly run: no cluster found', { discoveryErrors: discoveryErrors.length });
    return { started: false, runId: null, clusters: 0, discoveryErrors };
  }
  const result = await startRolloutRun({
    config,
    clusters,
    trigger: { source: 'nightly', ...(event.id ? { eventId: event.id } : {}) },
    store: new DynamoDbRolloutStore(config.state.tableName),
    stateMachineArn: required(process.env.SENSORFLEET_STATE_MACHINE_ARN, 'SENSORFLEET_STATE_MACHINE_ARN'),
    queueUrl: queueUrl(),
  });
  if (result.started) {
    const rings = result.run.rings.map((r) => ({ ring: r.ring, name: r.name, clusters: r.size, gate: r.gate, chunks: r.chunks }));
    metrics.addMetric('rollout_run_started', MetricUnit.Count, 1);
    logger.info('nightly run started', { runId: result.run.runId, targetVersion: result.run.targetVersion, clusters: clusters.length, rings, executionArn: result.executionArn, discoveryErrors: discoveryErrors.length });
    return { started: true, runId: result.run.runId, targetVersion: result.run.targetVersion, clusters: clusters.length, rings, executionArn: result.executionArn, discoveryErrors };
  }
  const active = result.active;
  const queued = await enqueueClusterEvents(queueUrl(), clusters.map((c) => driftItem(c, active.runId, event.id)));
  logger.warn('a rollout run is still active: no new run; drift reconciles queued at released versions', { activeRun: active.runId, status: active.status, halt: active.halt?.reason, queued: queued.sent, failed: queued.failed });
  if (queued.failed.length) throw new Error(`could not queue ${queued.failed.length} drift reconcile(s): ${queued.failed.map((f) => f.reason).join('; ')}`);
  return { started: false, runId: null, activeRun: { runId: active.runId, status: active.status, ...(active.halt ? { halted: active.halt.reason } : {}) }, clusters: clusters.length, queued: queued.sent, discoveryErrors };
}

/** Fleet coverage, stuck and failed clusters, DLQ depths (the alarms' metrics); never stops the run. */
async function publishFleetFigures(): Promise<void> {
  const figures = await fleetFigures(new DynamoDbFleetStore(config.state.tableName), { work: process.env.SENSORFLEET_DLQ_URL, ingest: process.env.SENSORFLEET_INGEST_DLQ_URL });
  publishMetricValues(figures.values);
  for (const d of figures.dlq) publishMetricValues([{ name: 'dlq_depth', unit: 'Count', value: d.depth }], { queue: d.queue });
  for (const e of figures.errors) logger.warn('fleet figure not read', { reason: e });
}

function driftItem(cluster: string, activeRun: string, eventId: string | undefined): ClusterEvent {
  const basis = createHash('sha256').update(`${eventId ?? new Date().toISOString()}|${cluster}`).digest('hex').slice(0, 16);
  return { id: `nightly-${basis}`, time: new Date().toISOString(), kind: 'reconcile-requested', cluster, source: 'nightly', detail: { activeRun } };
}

function queueUrl(): string {
  return required(process.env.SENSORFLEET_QUEUE_URL ?? config.queue.url, 'SENSORFLEET_QUEUE_URL');
}

function required(value: string | undefined, name: string): string {
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

export const handler = middy(baseHandler).use(injectLambdaContext(logger)).use(logMetrics(metrics));
