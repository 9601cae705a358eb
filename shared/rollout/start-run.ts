import { createHash } from 'node:crypto';
import type { SensorfleetConfig } from '../config/schema';
import type { RingChunk, RunRecord } from '../state/rollout-records';
import type { DynamoDbRolloutStore } from '../state/rollout-store';
import { allowedChanges } from '../engine/blast-radius';
import { RunInProgressError } from './errors';
import { planRings } from './rings';
import { chunksOf, runInputOf, runRingOf, type RunInput } from './run-limits';
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

export type { RunInput };

/**
 * A durable fleet run (DESIGN §3): the rings' members as chunk items, the run record (ring sizes and
 * chunk counts only: run-limits.ts says why and what fits), then the Step
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
    const [releases, baseline, running] = await Promise.all([o.store.listReleases(), o.store.getBaseline(), o.store.runningVersions()]);
    const planned = planRun({ runId, config: o.config, clusters: o.clusters, trigger: o.trigger, now, released: new Map(releases.map((r) => [r.cluster, r.version])), running, ...(baseline ? { baseline: baseline.version } : {}) });
    // before the run record: a run that exists has every chunk its workflow will read
    await o.store.putChunks(planned.chunks);
    run = planned.run;
    try {
      await o.store.createRun(run);
    } catch (err) {
      if (!(err instanceof RunInProgressError)) throw err;
      const active = await o.store.activeRun();
      if (!active || active.runId !== runId) return { started: false, active: active ?? (await o.store.requireRun(err.runId)) };
      run = active;
    }
  }
  const input: RunInput = runInputOf(runId, o.queueUrl, o.store.tableName, run.rings);
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

/**
 * Pure: the run record and its chunk items. Rings from the planner, bounded by the blast-radius
 * guard: no ring replaces more running sensors (the inventory's version, not the target) than
 * rollout.blastRadius allows for a run of this size; a larger one is split into consecutive gated
 * rings, and the run's history says so.
 */
export function planRun(o: {
  runId: string;
  config: SensorfleetConfig;
  clusters: string[];
  trigger: RunRecord['trigger'];
  now: Date;
  released: ReadonlyMap<string, string>;
  running: ReadonlyMap<string, string>;
  baseline?: string;
}): { run: RunRecord; chunks: RingChunk[] } {
  const target = o.config.sensor.version;
  const at = o.now.toISOString();
  const chunkSize = o.config.rollout.rings.chunkSize;
  const limit = o.config.rollout.blastRadius;
  const allowed = allowedChanges(new Set(o.clusters).size, limit);
  const replaces = (c: string) => o.running.has(c) && o.running.get(c) !== target;
  const plan = planRings(o.clusters, (c) => o.released.get(c), target, o.config.rollout.rings, { allowed, replaces });
  const split = plan.filter((r) => /\(1\/\d+\)$/.test(r.name)).map((r) => `ring "${r.name.replace(/ \(1\/(\d+)\)$/, '" split in $1')}`);
  const chunks = plan.flatMap((r) => chunksOf(r.clusters, chunkSize).map((clusters, chunk) => ({ runId: o.runId, ring: r.ring, chunk, clusters })));
  const run: RunRecord = {
    runId: o.runId,
    status: 'running',
    targetVersion: target,
    ...(o.baseline ? { baselineVersion: o.baseline } : {}),
    trigger: o.trigger,
    startedAt: at,
    updatedAt: at,
    rings: plan.map((r) => runRingOf(r, chunkSize)),
    gates: {},
    resumes: 0,
    history: [
      { at, event: `started by ${o.trigger.source}${o.trigger.requestedBy ? ` (${o.trigger.requestedBy})` : ''}: ${o.clusters.length} cluster(s) to ${target}` },
      ...(split.length ? [{ at, event: `blast-radius guard (${limit.percent}%, never fewer than ${limit.minClusters}): at most ${allowed} running sensor(s) replaced per ring; ${split.join(', ')}` }] : []),
    ],
  };
  return { run, chunks };
}

/** run-<UTC date>-<hash of the trigger>: readable, sortable, and the same for a retried trigger. Valid as an execution name (80 chars, no spaces). */
export function runIdFor(trigger: RunRecord['trigger'], now: Date): string {
  const day = now.toISOString().slice(0, 10).replace(/-/g, '');
  const basis = trigger.eventId ?? `${trigger.source}|${now.toISOString()}`;
  return `run-${day}-${createHash('sha256').update(basis).digest('hex').slice(0, 12)}`;
}
