import { ClusterNotFoundError, ExternalCallError, SensorfleetError } from '../../runtime/errors';

/** The last operation on the cluster failed: it will not become ready by itself; fix it in Azure, then reconcile again. */
export class AksClusterFailedError extends SensorfleetError {
  override name = 'AksClusterFailedError';
  override readonly terminal = true;
  constructor(
    readonly cluster: string,
    detail: string,
  ) {
    super(`cluster ${cluster} is Failed${detail ? ` (${detail})` : ''}; fix it in Azure (az aks show shows the error; az aks update reconciles it), then reconcile again`);
  }
}

/** The cluster is being deleted: recorded like a cluster that is gone. */
export class AksClusterDeletingError extends ClusterNotFoundError {
  override name = 'AksClusterDeletingError';
  constructor(cluster: string) {
    super(cluster);
    this.message = `cluster ${cluster} is Deleting; the sensor is not installed on a cluster being deleted`;
  }
}

/** Entra ID refused to issue a token (wrong federated credential, secret, certificate, tenant or app). Retrying will not fix it. */
export class AzureAuthenticationError extends SensorfleetError {
  override name = 'AzureAuthenticationError';
}

/** An ARM call failed after its retries; `retryable` says whether a later attempt may succeed. */
export class AzureApiError extends ExternalCallError {
  override name = 'AzureApiError';
  constructor(
    message: string,
    retryable: boolean,
    status: number | undefined,
    /** The ARM error code (ResourceNotFound, AuthorizationFailed, ...). */
    readonly code: string | undefined,
  ) {
    super(message, retryable, status);
  }
}
