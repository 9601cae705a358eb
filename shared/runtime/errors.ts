/** Named errors that say what happened and what to do (after Powertools' errors.ts). */
export class SensorfleetError extends Error {
  override name = 'SensorfleetError';
}

/** The cluster exists but is not ready (CREATING, PROVISIONING, ...): try again later, not a failure. */
export class ClusterNotReadyError extends SensorfleetError {
  override name = 'ClusterNotReadyError';
  constructor(
    readonly cluster: string,
    readonly status: string,
  ) {
    super(`cluster ${cluster} is ${status}; it will be retried until it is ready or the readiness deadline passes`);
  }
}

/** The cluster does not exist (any more). */
export class ClusterNotFoundError extends SensorfleetError {
  override name = 'ClusterNotFoundError';
  constructor(readonly cluster: string) {
    super(`cluster ${cluster} was not found; it may have been deleted`);
  }
}

/**
 * The cluster exists but the sensor cannot be deployed there for a reason retrying will not fix
 * (AKS cluster Stopped, GKE Autopilot without the partner allowlist, a private API server out of
 * reach): recorded as skipped with the reason, never retried in a loop.
 */
export class ClusterSkippedError extends SensorfleetError {
  override name = 'ClusterSkippedError';
  constructor(
    readonly cluster: string,
    readonly reason: string,
    readonly status?: string,
  ) {
    super(`cluster ${cluster} skipped: ${reason}`);
  }
}

/** Input that can never succeed: reject, record, never retry. */
export class InvalidInputError extends SensorfleetError {
  override name = 'InvalidInputError';
}

/** Configuration is invalid; the message lists every problem. */
export class ConfigError extends SensorfleetError {
  override name = 'ConfigError';
}

/** A call failed after its retries; `retryable` says whether a later attempt may succeed. */
export class ExternalCallError extends SensorfleetError {
  override name = 'ExternalCallError';
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
  ) {
    super(message);
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
