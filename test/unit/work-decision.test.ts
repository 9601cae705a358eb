import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../shared/config/load';
import type { ClusterEvent } from '../../shared/domain/cluster-event';
import { decideAfterAttempt, decideAfterError } from '../../shared/engine/work-decision';
import { ClusterFailedError } from '../../shared/platforms/eks/errors';
import { ClusterNotReadyError, ConfigError, SensorfleetError } from '../../shared/runtime/errors';
import type { ReconcileRecord } from '../../shared/state/records';

/**
 * The one decision about a work item after an attempt (issue 7, "Retries and the DLQ"): our own
 * attempt counter (never SQS's receive count), not-ready polls that cost no attempt, a readiness
 * deadline that a future event time cannot stretch, and terminal errors that go to the DLQ at once.
 */
const rollout = parseConfig({ rollout: { readinessDeadlineSeconds: 1800, readinessPollSeconds: 60, maxAttempts: 3, retryBackoffSeconds: 30 } }).rollout;
const NOW = new Date('2026-11-23T12:00:00Z');
const event = (time = '2026-11-23T11:50:00Z'): ClusterEvent => ({ id: 'e1', time, kind: 'cluster-created', cluster: 'aws-eks:123456789012:us-east-1:a', source: 'test', detail: {} });
const record = (outcome: ReconcileRecord['outcome'], message = 'm', terminal?: boolean) => ({ outcome, message, ...(terminal ? { terminal } : {}) }) as ReconcileRecord;

describe('attempts are our own', () => {
  it('a not-ready poll is not a failed attempt: it keeps the counter where it is', () => {
    const d = decideAfterAttempt(event(), record('not-ready', 'cluster is CREATING'), 1, rollout, NOW);
    expect(d).toEqual({ kind: 'retry', delaySeconds: 60, reason: 'cluster is CREATING' });
  });

  it('a failure after any number of polls is failed attempt 1 of 3, retried with the first backoff and counted', () => {
    const d = decideAfterAttempt(event(), record('failed', 'connect ECONNREFUSED'), 1, rollout, NOW);
    expect(d).toEqual({ kind: 'retry', delaySeconds: 30, reason: 'connect ECONNREFUSED', attempts: 1 });
  });

  it('the third failed attempt dead-letters with that count', () => {
    expect(decideAfterAttempt(event(), record('failed', 'boom'), 3, rollout, NOW)).toEqual({ kind: 'dead-letter', reason: 'failed after 3 attempts: boom' });
  });
});

describe('the readiness deadline', () => {
  it('counts from the first time the item was seen when the event time lies in the future', () => {
    const future = event('2026-11-24T12:00:00Z');
    const firstSeen = NOW.getTime() - 1900_000;
    const d = decideAfterAttempt(future, record('not-ready', 'cluster is CREATING'), 1, rollout, NOW, firstSeen);
    expect(d.kind).toBe('dead-letter');
    expect(d.kind === 'dead-letter' && d.reason).toBe('cluster not ready after 1900s (deadline 1800s): cluster is CREATING');
  });

  it('a future event time without a first-seen time is clamped to now: polls go on, but only until the deadline', () => {
    const d = decideAfterAttempt(event('2099-01-01T00:00:00Z'), record('not-ready', 'CREATING'), 1, rollout, NOW);
    expect(d).toMatchObject({ kind: 'retry', delaySeconds: 60 });
  });

  it('an event time before the first sighting counts from the event (the cluster was created then)', () => {
    const d = decideAfterAttempt(event('2026-11-23T11:00:00Z'), record('not-ready', 'CREATING'), 1, rollout, NOW, NOW.getTime() - 60_000);
    expect(d).toMatchObject({ kind: 'dead-letter', reason: expect.stringMatching(/^cluster not ready after 3600s/) });
  });
});

describe('terminal errors go to the DLQ at once', () => {
  it('a record whose error retrying cannot fix', () => {
    const d = decideAfterAttempt(event(), record('failed', 'cluster x is FAILED', true), 1, rollout, NOW);
    expect(d).toEqual({ kind: 'dead-letter', reason: 'not retried (retrying cannot fix it): cluster x is FAILED' });
  });

  it.each([
    ['an EKS cluster that is FAILED', new ClusterFailedError('aws-eks:1:r:x', 'subnet gone')],
    ['a configuration error', new ConfigError('AWS account 1 is not a configured target')],
  ])('an error thrown outside the reconcile: %s', (_name, err) => {
    const d = decideAfterError(event(), err, 1, rollout, NOW);
    expect(d).toEqual({ kind: 'dead-letter', reason: `not retried (retrying cannot fix it): ${err.message}` });
  });

  it('any other error outside the reconcile takes the same retry path as a failed reconcile', () => {
    expect(decideAfterError(event(), new Error('socket hang up'), 2, rollout, NOW)).toEqual({ kind: 'retry', delaySeconds: 60, reason: 'socket hang up', attempts: 2 });
    expect(decideAfterError(event(), new SensorfleetError('throttled'), 3, rollout, NOW)).toEqual({ kind: 'dead-letter', reason: 'failed after 3 attempts: throttled' });
  });

  it('a not-ready error thrown outside the reconcile is a poll, not a failure', () => {
    const d = decideAfterError(event(), new ClusterNotReadyError('aws-eks:1:r:x', 'CREATING'), 1, rollout, NOW);
    expect(d).toMatchObject({ kind: 'retry', delaySeconds: 60 });
    expect(d).not.toHaveProperty('attempts');
  });
});
