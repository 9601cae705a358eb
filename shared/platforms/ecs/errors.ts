import { SensorfleetError } from '../../runtime/errors';

/** ECS reports the cluster FAILED (it could not be provisioned): it will not become ACTIVE by itself. */
export class EcsClusterFailedError extends SensorfleetError {
  override name = 'EcsClusterFailedError';
  override readonly terminal = true;
  constructor(readonly cluster: string) {
    super(`cluster ${cluster} is FAILED; fix or recreate it in ECS, then reconcile again`);
  }
}
