import { ClusterNotFoundError, ClusterNotReadyError, SensorfleetError } from '../../runtime/errors';

/** The EKS access policy sensorfleet associates (infra/aws-member-account/main.tf says why this one). */
export const ACCESS_POLICY_NAME = 'AmazonEKSClusterAdminPolicy';

/** The cluster is being deleted: nothing to install; recorded like a cluster that is gone. */
export class ClusterDeletingError extends ClusterNotFoundError {
  override name = 'ClusterDeletingError';
  constructor(cluster: string) {
    super(cluster);
    this.message = `cluster ${cluster} is DELETING; the sensor is not installed on a cluster being deleted`;
  }
}

/** EKS reports the cluster FAILED: it will not become ACTIVE by itself; fix or recreate it. */
export class ClusterFailedError extends SensorfleetError {
  override name = 'ClusterFailedError';
  override readonly terminal = true;
  constructor(
    readonly cluster: string,
    detail: string,
  ) {
    super(`cluster ${cluster} is FAILED${detail ? ` (${detail})` : ''}; fix or recreate it in EKS, then reconcile again`);
  }
}

/**
 * Sensorfleet just gave its own role an access entry on the cluster (or found one): EKS takes a moment
 * to honour it, so the work item comes back later instead of waiting here (a requeue, as for a cluster
 * still being created). Bounded by the readiness deadline like any cluster that is not ready yet.
 */
export class AccessEntryPendingError extends ClusterNotReadyError {
  override name = 'AccessEntryPendingError';
  constructor(cluster: string, clusterStatus: string, readonly principalArn: string, readonly created: boolean) {
    super(cluster, clusterStatus);
    this.message = `cluster ${cluster}: access entry for ${principalArn} ${created ? 'created by sensorfleet' : 'already exists'} (${ACCESS_POLICY_NAME}, cluster scope); waiting for it to take effect; it will be retried until it does or the readiness deadline passes`;
  }
}

/**
 * The cluster refused sensorfleet's identity and sensorfleet cannot (or may not) give itself access:
 * a human must act, so retrying is useless until then.
 */
export class EksAccessDeniedError extends SensorfleetError {
  override name = 'EksAccessDeniedError';
  override readonly terminal = true;
  constructor(cluster: string, readonly principalArn: string, why: string, todo: string) {
    super(`cluster ${cluster} refused sensorfleet's identity ${principalArn}: ${why}; ${todo}`);
  }
}
