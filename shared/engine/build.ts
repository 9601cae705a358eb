import type { SensorfleetConfig } from '../config/schema';
import type { ClusterRef } from '../domain/cluster-ref';
import { createEcsAdapter } from '../platforms/ecs/adapter';
import { createEksAdapter } from '../platforms/eks/adapter';
import { DynamoDbFleetStore } from '../state/dynamodb-store';
import type { FleetStore } from '../state/store';
import type { AdapterRegistry } from './adapters';
import { resolveDesiredSensor } from './desired';
import type { ReconcileDeps } from './reconcile';

const KUBERNETES_PLATFORMS = new Set(['aws-eks', 'azure-aks', 'gcp-gke']);

export function buildAdapters(config: SensorfleetConfig): AdapterRegistry {
  return {
    'aws-ecs': createEcsAdapter({ targets: config.targets.aws }),
    'aws-eks': createEksAdapter({ targets: config.targets.aws }),
  };
}

/** Everything a reconcile needs, built from configuration. Secret values are read only for Kubernetes clusters. */
export async function buildEngine(
  config: SensorfleetConfig,
  clusters: ClusterRef[],
  options: { store?: FleetStore | false; adapters?: AdapterRegistry } = {},
): Promise<ReconcileDeps> {
  const desired = await resolveDesiredSensor(config, {
    needValues: clusters.some((c) => KUBERNETES_PLATFORMS.has(c.platform)),
    ecsScopes: clusters.filter((c) => c.platform === 'aws-ecs'),
  });
  const store = options.store === false ? undefined : (options.store ?? new DynamoDbFleetStore(config.state.tableName));
  return { adapters: options.adapters ?? buildAdapters(config), desired, ...(store ? { store } : {}) };
}
