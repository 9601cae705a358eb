import { createHash } from 'node:crypto';
import type { SensorfleetConfig } from '../config/schema';
import type { RunRecord } from '../state/rollout-records';
import type { DynamoDbRolloutStore } from '../state/rollout-store';
import { RunInProgressError } from './errors';
import { planRings } from './rings';
import { startExecution } from './start-execution';

export interface StartRunOptions {
  config: SensorfleetConfig;
  /** Canonical references of every cluster the run covers (discovery's result). */
  clusters: string[];
  trigger: RunRecord['trigger'];
  store: DynamoDbRolloutStore;
  stateMachineArn: string;
  /** The FIFO work queue the workflow hands each cluster to. */
  queueUrl: string;
  now?: Date;
}

export type StartRunResult =
  | { started: true; run: RunRecord; executionArn: string }
  /** Another run is running or halted: nothing was started (one run at a time). */
  | { started: false; active: RunRecord };

/** The execution's input (the state machine in serverless.yml reads exactly this). */
export interface RunInput {
  runId: string;
  queueUrl: string;
  rings: { ring: number; name: string; gate: boolean; clusters: string[] }[];
}

/**
 * A durable fleet run (DESIGN §3): the run record and its rings in the fleet table, then the Step
 * Functions execution that hands each ring's clusters to the FIFO queue and waits for their answers
 * and the ring's gate. Nothing is reconciled here. The run id follows from the trigger's event id, so
 * a retried invocation (EventBridge schedules retry) finds its own run and starts the same execution
 * (StartExecution is idempotent for one name and input) instead of a second run.
 */
export async function startRolloutRun(o: StartRunOptions): Promise<StartRunResult> {
  const now = o.now ?? new Date();
  const runId = runIdFor(o.trigger, now);
  const existing = await o.store.getRun(runId);
  let run: RunRecord;
  if (existing) {
    if (existing.status !== 'running') return { started: false, active: existing };
    run = existing;
  } else {
    const [releases, baseline] = await Promise.all([o.store.listReleases(), o.store.getBaseline()]);
    const released = new Map(releases.map((r) => [r.cluster, r.version]));
    const target = o.config.sensor.version;
    const at = now.toISOString();
    run = {
      runId,
      status: 'running',
      targetVersion: target,
      ...(baseline ? { baselineVersion: baseline.version } : {}),
      trigger: o.trigger,
      startedAt: at,
      updatedAt: at,
      rings: planRings(o.clusters, (c) => released.get(c), target, o.config.rollout.rings),
      gates: {},
      gateStarted: {},
      history: [{ at, event: `started by ${o.trigger.source}${o.trigger.requestedBy ? ` (${o.trigger.requestedBy})` : ''}: ${o.clusters.length} cluster(s) to ${target}` }],
    };
    try {
      await o.store.createRun(run);
    } catch (err) {
      if (!(err instanceof RunInProgressError)) throw err;
      const active = await o.store.activeRun();
      if (!active || active.runId !== runId) return { started: false, active: active ?? (await o.store.requireRun(err.runId)) };
      run = active;
    }
  }
  const input: RunInput = { runId, queueUrl: o.queueUrl, rings: run.rings.map(({ ring, name, gate, clusters }) => ({ ring, name, gate, clusters })) };
  let executionArn: string;
  try {
    executionArn = await startExecution(o.stateMachineArn, runId, input);
  } catch (err) {
    await o.store.finish(runId, 'failed', new Date().toISOString(), `the workflow could not be started: ${(err as Error).message}`);
    throw err;
  }
  await o.store.setExecution(runId, executionArn);
  return { started: true, run: { ...run, executionArn }, executionArn };
}

/** run-<UTC date>-<hash of the trigger>: readable, sortable, and the same for a retried trigger. Valid as an execution name (80 chars, no spaces). */
export function runIdFor(trigger: RunRecord['trigger'], now: Date): string {
  const day = now.toISOString().slice(0, 10).replace(/-/g, '');
  const basis = trigger.eventId ?? `${trigger.source}|${now.toISOString()}`;
  return `run-${day}-${createHash('sha256').update(basis).digest('hex').slice(0, 12)}`;
}
