import { SensorfleetError } from '../runtime/errors';

/** A rollout run is already running or halted: one run at a time, so two never release rings at once. */
export class RunInProgressError extends SensorfleetError {
  override name = 'RunInProgressError';
  constructor(readonly runId: string, readonly status: string) {
    super(`rollout run ${runId} is ${status}; finish it first (sensorfleet rollout status|resume|abort ${runId})`);
  }
}

export class RunNotFoundError extends SensorfleetError {
  override name = 'RunNotFoundError';
  override readonly terminal = true;
  constructor(readonly runId: string, table: string) {
    super(`no rollout run ${runId} in ${table}`);
  }
}

/** resume/abort of a run that is not waiting for either (still running, or finished). */
export class RunNotHaltedError extends SensorfleetError {
  override name = 'RunNotHaltedError';
  override readonly terminal = true;
  constructor(readonly runId: string, readonly status: string) {
    super(`rollout run ${runId} is ${status}, not halted: only a halted run can be resumed or aborted`);
  }
}
