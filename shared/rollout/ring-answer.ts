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
