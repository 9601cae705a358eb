import { ClusterNotFoundError, SensorfleetError } from '../../runtime/errors';

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
