import type { ClusterRef } from '../domain/cluster-ref';

/** Named errors that say what happened and what to do (after Powertools' errors.ts). */
export class SensorfleetError extends Error {
  override name = 'SensorfleetError';
  /**
   * Retrying cannot fix it (invalid configuration or input, a cluster in a state it does not leave by
   * itself): a work item that meets it goes to the DLQ at once, with the message as its reason.
   */
  readonly terminal: boolean = false;
}

/** True for errors that retrying cannot fix (see SensorfleetError.terminal); read structurally, so copies of this module in other chunks agree. */
export function isTerminalError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { terminal?: unknown }).terminal === true;
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

/**
 * Discovery of one scope listed some clusters but not all (GKE `missingZones`: locations that did not
 * answer). The run keeps the clusters found and reports the scope's error.
 */
export class PartialDiscoveryError extends SensorfleetError {
  override name = 'PartialDiscoveryError';
  constructor(
    message: string,
    readonly found: ClusterRef[],
  ) {
    super(message);
  }
}

/** Input that can never succeed: reject, record, never retry. */
export class InvalidInputError extends SensorfleetError {
  override name = 'InvalidInputError';
  override readonly terminal = true;
}

/** Configuration is invalid; the message lists every problem. */
export class ConfigError extends SensorfleetError {
  override name = 'ConfigError';
  override readonly terminal = true;
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

/**
 * A failure that names what it was about (secret id, account, region, cluster, table); the provider's
 * error stays its `cause`, and its message is kept: "reading secret sensorfleet/qualys-activation in
 * 111122223333/eu-west-1: Secrets Manager can't find the specified secret."
 */
export class ContextError extends SensorfleetError {
  override name = 'ContextError';
  override readonly terminal: boolean;
  constructor(context: string, cause: unknown) {
    super(`${context}: ${errorMessage(cause)}`, { cause });
    this.terminal = isTerminalError(cause);
  }
}

/**
 * Runs `fn`; a provider's error is rethrown as a ContextError. The context may be computed on failure
 * only (e.g. the account, which costs a call). Sensorfleet's own errors already say what they are about.
 */
export async function withContext<T>(context: string | (() => string | Promise<string>), fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof SensorfleetError) throw err;
    throw new ContextError(typeof context === 'string' ? context : await context(), err);
  }
}
