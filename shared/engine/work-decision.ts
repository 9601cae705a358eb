import type { SensorfleetConfig } from '../config/schema';
import type { ClusterEvent } from '../domain/cluster-event';
import { ClusterNotReadyError, errorMessage, isTerminalError } from '../runtime/errors';
import type { ReconcileRecord } from '../state/records';

export type WorkDecision =
  | { kind: 'done' }
  /**
   * Try the same work item again after `delaySeconds`. With `attempts` the attempt failed: the item
   * goes on carrying that many failed attempts. Without it (a readiness poll) the count stays as it was.
   */
  | { kind: 'retry'; delaySeconds: number; reason: string; attempts?: number }
  /** Give up: the item goes to the DLQ with this reason. */
  | { kind: 'dead-letter'; reason: string };

type Rollout = SensorfleetConfig['rollout'];
type Attempted = Pick<ReconcileRecord, 'outcome' | 'message'> & { terminal?: boolean };

/**
 * Pure: what to do with a work item after one reconcile attempt (controller-runtime's contract: a
 * result says when to come back; errors retrying cannot fix are terminal).
 * - not ready (cluster still being created): poll every readinessPollSeconds until the readiness
 *   deadline, counted from the earlier of the event time and the item's first sighting (an event
 *   time in the future counts as the first sighting, or now); costs no attempt; then dead-letter.
 * - progressing (a rollout under way, looked at once): back after pollSeconds (at least 1 s); costs no attempt.
 * - failed, terminal: dead-letter at once with the reason.
 * - failed: `attempt` is this attempt's number among the item's failed attempts (1 = first). Retry
 *   with exponential backoff until maxAttempts; then dead-letter with the last error.
 */
export function decideAfterAttempt(
  event: ClusterEvent,
  record: Attempted,
  attempt: number,
  rollout: Rollout,
  now: Date,
  firstSeenAt?: number,
): WorkDecision {
  if (record.outcome === 'not-ready') {
    const since = readinessClockStart(event, now, firstSeenAt);
    const waited = Math.max(0, (now.getTime() - since) / 1000);
    if (waited < rollout.readinessDeadlineSeconds) {
      return { kind: 'retry', delaySeconds: rollout.readinessPollSeconds, reason: record.message };
    }
    return { kind: 'dead-letter', reason: `cluster not ready after ${Math.round(waited)}s (deadline ${rollout.readinessDeadlineSeconds}s): ${record.message}` };
  }
  if (record.outcome === 'progressing') {
    // RequeueAfter: the rollout goes on without us; the reconcile's own deadline turns it into 'stuck'
    return { kind: 'retry', delaySeconds: Math.max(1, Math.ceil(rollout.pollSeconds)), reason: record.message };
  }
  if (record.outcome === 'failed') {
    if (record.terminal) return { kind: 'dead-letter', reason: `not retried (retrying cannot fix it): ${record.message}` };
    if (attempt < rollout.maxAttempts) {
      return { kind: 'retry', delaySeconds: Math.min(900, rollout.retryBackoffSeconds * 2 ** (attempt - 1)), reason: record.message, attempts: attempt };
    }
    return { kind: 'dead-letter', reason: `failed after ${attempt} attempts: ${record.message}` };
  }
  return { kind: 'done' };
}

/** The same decision for an error thrown outside the reconcile's own handling (engine, config, window check, record write). */
export function decideAfterError(event: ClusterEvent, err: unknown, attempt: number, rollout: Rollout, now: Date, firstSeenAt?: number): WorkDecision {
  const attempted: Attempted =
    err instanceof ClusterNotReadyError
      ? { outcome: 'not-ready', message: err.message }
      : { outcome: 'failed', message: errorMessage(err), ...(isTerminalError(err) ? { terminal: true } : {}) };
  return decideAfterAttempt(event, attempted, attempt, rollout, now, firstSeenAt);
}

/** Event time, unless it is missing or later than the first sighting (clock skew, a forged time): then the first sighting, or now. */
function readinessClockStart(event: ClusterEvent, now: Date, firstSeenAt?: number): number {
  const seen = Math.min(firstSeenAt ?? now.getTime(), now.getTime());
  const at = Date.parse(event.time);
  return Number.isNaN(at) ? seen : Math.min(at, seen);
}
