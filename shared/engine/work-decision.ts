import type { SensorfleetConfig } from '../config/schema';
import type { ClusterEvent } from '../domain/cluster-event';
import type { ReconcileRecord } from '../state/records';

export type WorkDecision =
  | { kind: 'done' }
  /** Try the same work item again after `delaySeconds` (the message stays in its FIFO group). */
  | { kind: 'retry'; delaySeconds: number; reason: string }
  /** Give up: the item goes to the DLQ with this reason. */
  | { kind: 'dead-letter'; reason: string };

/**
 * Pure: what to do with a work item after one reconcile attempt.
 * - not ready (cluster still being created): retry every readinessPollSeconds until the readiness
 *   deadline, counted from the event's time; then dead-letter with the reason.
 * - failed (cluster unreachable, API errors): retry with exponential backoff up to maxAttempts
 *   receives; then dead-letter with the last error.
 */
export function decideAfterAttempt(
  event: ClusterEvent,
  record: ReconcileRecord,
  receiveCount: number,
  rollout: SensorfleetConfig['rollout'],
  now: Date,
): WorkDecision {
  if (record.outcome === 'not-ready') {
    const since = Date.parse(event.time);
    const waited = Number.isNaN(since) ? 0 : (now.getTime() - since) / 1000;
    if (waited < rollout.readinessDeadlineSeconds) {
      return { kind: 'retry', delaySeconds: rollout.readinessPollSeconds, reason: record.message };
    }
    return { kind: 'dead-letter', reason: `cluster not ready after ${Math.round(waited)}s (deadline ${rollout.readinessDeadlineSeconds}s): ${record.message}` };
  }
  if (record.outcome === 'failed') {
    if (receiveCount < rollout.maxAttempts) {
      return { kind: 'retry', delaySeconds: Math.min(900, rollout.retryBackoffSeconds * 2 ** (receiveCount - 1)), reason: record.message };
    }
    return { kind: 'dead-letter', reason: `failed after ${receiveCount} attempts: ${record.message}` };
  }
  return { kind: 'done' };
}
