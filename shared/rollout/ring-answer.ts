import type { SensorfleetConfig } from '../config/schema';
import { windowEnd } from '../engine/windows';
import type { ReconcileRecord } from '../state/records';
import type { DynamoDbRolloutStore } from '../state/rollout-store';
import type { RingRun } from './cluster-version';
import { isStaleTaskToken, sendTaskFailure, sendTaskSuccess } from './step-functions';

export interface RingAnswer {
  ok: boolean;
  outcome: string;
  message: string;
  sensorVersion?: string;
}

/** The error name the workflow sees when a cluster fails its ring (its Catch halts the run). */
export const CLUSTER_FAILED = 'ClusterRolloutFailed';

const OK = new Set(['converged', 'in-sync', 'skipped']);

/**
 * Pure: a cluster passes its ring when it runs the released version on every node it covers
 * (converged or in sync), or is skipped (opted out by tag, deleted). Degraded, stuck, held and failed
 * clusters fail the ring.
 */
export function ringAnswerOf(record: ReconcileRecord): RingAnswer {
  const version = record.verified?.sensorVersion;
  const wanted = record.version?.desired;
  const base = { outcome: record.outcome, message: record.message, ...(version ? { sensorVersion: version } : {}) };
  if (!OK.has(record.outcome)) return { ok: false, ...base };
  if (record.outcome !== 'skipped' && wanted && (record.verified?.covered ?? 0) > 0 && version !== wanted) {
    return { ok: false, ...base, message: `runs ${version ?? 'an unknown version'}, not the released ${wanted}; ${record.message}` };
  }
  return { ok: true, ...base };
}

type MaintenanceWindow = SensorfleetConfig['rollout']['maintenanceWindows'][number];

export type RingHold = { kind: 'wait'; delaySeconds: number; reason: string } | { kind: 'answer'; answer: RingAnswer };

/**
 * Pure: a ring's cluster held by a maintenance window neither passes nor fails its ring at once. The
 * ring waits for it (the item comes back when the window ends, at most every 15 minutes) as long as
 * the window ends within rollout.readinessDeadlineSeconds of the item's first sighting: the same
 * bound a cluster that cannot be reached yet gets. A window that ends later fails the ring now (it
 * would have waited in vain), so the run halts with "held by maintenance window … until …"; resume
 * after the window, or abort. "held" is never an ok answer (ringAnswerOf): a held cluster did not get
 * the ring's version.
 */
export function ringWindowHold(o: { window: MaintenanceWindow; now: Date; firstSeenAt: number; deadlineSeconds: number }): RingHold {
  const until = windowEnd(o.window, o.now);
  const name = `maintenance window ${o.window.start}-${o.window.end} ${o.window.timeZone}`;
  if (!until) return { kind: 'wait', delaySeconds: 1, reason: `${name} ended` };
  const deadline = o.firstSeenAt + o.deadlineSeconds * 1000;
  const message = `held by ${name} until ${until.toISOString()}`;
  if (until.getTime() > deadline) {
    return { kind: 'answer', answer: { ok: false, outcome: 'held', message: `${message}: later than the ring waits for a cluster (rollout.readinessDeadlineSeconds ${o.deadlineSeconds} s from ${new Date(o.firstSeenAt).toISOString()}); resume the run after the window, or abort it` } };
  }
  const seconds = Math.ceil((until.getTime() - o.now.getTime()) / 1000);
  return { kind: 'wait', delaySeconds: Math.max(1, Math.min(900, seconds)), reason: `${message}: its ring waits` };
}

/**
 * Records the cluster's result in its ring, then answers the workflow's task token. A token the
 * workflow no longer waits for (the ring already failed, the run was aborted) is not an error.
 * Returns false when the answer was not needed any more.
 */
export async function answerRing(store: DynamoDbRolloutStore, run: RingRun, cluster: string, answer: RingAnswer, now: Date = new Date()): Promise<boolean> {
  await store.recordResult({ runId: run.id, ring: run.ring, cluster, ...answer, at: now.toISOString() });
  try {
    if (answer.ok) await sendTaskSuccess(run.taskToken, { cluster, outcome: answer.outcome, ...(answer.sensorVersion ? { sensorVersion: answer.sensorVersion } : {}) });
    else await sendTaskFailure(run.taskToken, CLUSTER_FAILED, `${cluster}: ${answer.outcome}: ${answer.message}`);
    return true;
  } catch (err) {
    if (isStaleTaskToken(err)) return false;
    throw err;
  }
}
