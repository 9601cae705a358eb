import { ClusterNotFoundError, SensorfleetError } from '../../runtime/errors';

/** GKE reports the cluster STOPPING: it is being deleted; recorded like a cluster that is gone. */
export class GkeClusterStoppingError extends ClusterNotFoundError {
  override name = 'GkeClusterStoppingError';
  constructor(cluster: string) {
    super(cluster);
    this.message = `cluster ${cluster} is STOPPING (being deleted); the sensor is not installed on a cluster being deleted`;
  }
}

/**
 * GKE reports the cluster ERROR (unusable; GKE deletes it) or DEGRADED (needs user action): waiting
 * will not make it RUNNING, so this is a terminal reason, not a retry.
 */
export class GkeClusterUnhealthyError extends SensorfleetError {
  override name = 'GkeClusterUnhealthyError';
  override readonly terminal = true;
  constructor(
    readonly cluster: string,
    readonly status: 'ERROR' | 'DEGRADED',
    detail: string,
  ) {
    const todo = status === 'ERROR' ? 'GKE deletes clusters in ERROR; recreate it' : 'fix what GKE reports, then reconcile again';
    super(`cluster ${cluster} is ${status}${detail ? ` (${detail})` : ''}; ${todo}`);
  }
}

/**
 * Getting a Google access token failed (STS token exchange, service account impersonation, the
 * credential configuration). The message says which step and why; it never holds a token. Terminal
 * when Google refused the request (4xx: provider, audience, issuer, impersonation right): retrying
 * the same identity changes nothing until the configuration does.
 */
export class GoogleCredentialError extends SensorfleetError {
  override name = 'GoogleCredentialError';
  override readonly terminal: boolean;
  constructor(message: string, terminal = false) {
    super(message);
    this.terminal = terminal;
  }
}
