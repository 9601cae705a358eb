import type { SensorfleetConfig } from '../config/schema';
import type { ClusterRef } from '../domain/cluster-ref';
import { createEcsAdapter } from '../platforms/ecs/adapter';
import { createEksAdapter } from '../platforms/eks/adapter';
import { kubernetesAdapter } from '../platforms/kubernetes/cloud-adapter';
import { DynamoDbFleetStore } from '../state/dynamodb-store';
import type { FleetStore } from '../state/store';
import type { AdapterRegistry } from './adapters';
import { resolveDesiredSensor } from './desired';
import type { ReconcileDeps } from './reconcile';
import type { DesiredSensor } from '../platforms/types';

const KUBERNETES_PLATFORMS = new Set(['aws-eks', 'azure-aks', 'gcp-gke']);

/**
 * AWS adapters are built eagerly (they are what the AWS path runs); AKS and GKE only when configured,
 * and their SDKs are imported on the first call (a chunk of their own in the bundles).
 */
export function buildAdapters(config: SensorfleetConfig): AdapterRegistry {
  const registry: AdapterRegistry = {
    'aws-ecs': createEcsAdapter({ targets: config.targets.aws }),
    'aws-eks': createEksAdapter({ targets: config.targets.aws }),
  };
  if (config.targets.azure.length > 0) {
    registry['azure-aks'] = kubernetesAdapter('azure-aks', async () => (await import('../platforms/aks/adapter')).createAksCloud({ targets: config.targets.azure }));
  }
  if (config.targets.gcp.length > 0) {
    registry['gcp-gke'] = kubernetesAdapter('gcp-gke', async () => (await import('../platforms/gke/adapter')).createGkeCloud({ targets: config.targets.gcp }));
  }
  return registry;
}

/** A warm Lambda container reuses the resolved secret for a few minutes instead of reading it per work item. */
const DESIRED_TTL_MS = 5 * 60_000;
const desiredCache = new Map<string, { at: number; value: Promise<DesiredSensor> }>();

/** Everything a reconcile needs, built from configuration. Secret values are read only for Kubernetes clusters. */
export async function buildEngine(
  config: SensorfleetConfig,
  clusters: ClusterRef[],
  options: { store?: FleetStore | false; adapters?: AdapterRegistry } = {},
): Promise<ReconcileDeps> {
  const needValues = clusters.some((c) => KUBERNETES_PLATFORMS.has(c.platform));
  const ecsScopes = clusters.filter((c) => c.platform === 'aws-ecs');
  const key = JSON.stringify([config, needValues, [...new Set(ecsScopes.map((c) => `${c.scope}|${c.location}`))].sort()]);
  const cached = desiredCache.get(key);
  if (!cached || Date.now() - cached.at > DESIRED_TTL_MS) {
    const value = resolveDesiredSensor(config, { needValues, ecsScopes });
    value.catch(() => desiredCache.delete(key));
    desiredCache.set(key, { at: Date.now(), value });
  }
  const desired = await desiredCache.get(key)!.value;
  const store = options.store === false ? undefined : (options.store ?? new DynamoDbFleetStore(config.state.tableName));
  return { adapters: options.adapters ?? buildAdapters(config), desired, ...(store ? { store } : {}) };
}
