/**
 * The engine as the CLI builds it: the same pieces as shared/engine/build.ts, but every platform's
 * code (and its SDK) is imported only when a cluster of that platform is handled, and the fleet table
 * only when something is recorded. `plan --cluster aws-eks:…` then loads the EKS client and nothing
 * of ECS, DynamoDB, Azure or Google (a CLI process pays for its imports on every run).
 */
import type { SensorfleetConfig } from '../config/schema';
import { formatClusterRef, type ClusterRef, type Platform } from '../domain/cluster-ref';
import type { AdapterRegistry } from '../engine/adapters';
import type { ReconcileDeps } from '../engine/reconcile';
import type { PlatformAdapter } from '../platforms/types';
import { kubernetesAdapter } from '../platforms/kubernetes/cloud-adapter';
import { namedStore } from './named-store';

type AnyAdapter = PlatformAdapter<any, any, any>;

/** An adapter proxy that imports the real one on first discover/connect (the engine always starts there). */
export interface LazyAdapter extends AnyAdapter {
  preload(): Promise<void>;
  /** Starts connect(ref) now; the engine's own connect(ref) then takes that answer (once). */
  preconnect(ref: ClusterRef): void;
}

export function lazyAdapter(platform: Platform, load: () => Promise<AnyAdapter>): LazyAdapter {
  let loading: Promise<AnyAdapter> | undefined;
  const early = new Map<string, ReturnType<AnyAdapter['connect']>>();
  const proxy = {
    platform,
    preload: async () => void (await real()),
    preconnect(ref: ClusterRef) {
      const pending = real().then((a) => a.connect(ref));
      pending.catch(() => undefined); // surfaces when the engine takes it; never unhandled
      early.set(formatClusterRef(ref), pending);
    },
    discover: async (scope) => (await real()).discover(scope),
    connect: async (ref) => {
      const key = formatClusterRef(ref);
      const pending = early.get(key);
      early.delete(key);
      return pending ?? (await real()).connect(ref);
    },
  } as LazyAdapter;
  const notLoaded = () => {
    throw new Error(`${platform} adapter used before connect`);
  };
  Object.assign(proxy, { observe: notLoaded, plan: notLoaded, apply: notLoaded, verify: notLoaded });
  function real(): Promise<AnyAdapter> {
    loading ??= load().then((adapter) => {
      // from now on the proxy is the adapter (methods that exist only on some platforms included)
      for (const [key, value] of Object.entries(adapter)) {
        if (key !== 'discover' && key !== 'connect') (proxy as unknown as Record<string, unknown>)[key] = typeof value === 'function' ? value.bind(adapter) : value;
      }
      return adapter;
    });
    loading.catch(() => (loading = undefined));
    return loading;
  }
  return proxy;
}

const code = {
  'aws-ecs': () => import('../platforms/ecs/adapter'),
  'aws-eks': () => import('../platforms/eks/adapter'),
  'azure-aks': () => import('../platforms/aks/adapter'),
  'gcp-gke': () => import('../platforms/gke/adapter'),
  desired: () => import('../engine/desired'),
};

/**
 * Starts reading the code these clusters will need (their platforms', the desired state's) while the
 * configuration is parsed: the files are read meanwhile, and imported later without waiting for them.
 */
export function warmUp(refs: readonly ClusterRef[]): void {
  for (const load of [...new Set(refs.map((r) => code[r.platform])), ...(refs.length ? [code.desired] : [])]) load().catch(() => undefined);
}

export function cliAdapters(config: SensorfleetConfig): AdapterRegistry {
  const registry: AdapterRegistry = {
    'aws-ecs': lazyAdapter('aws-ecs', async () => (await code['aws-ecs']()).createEcsAdapter({ targets: config.targets.aws })),
    'aws-eks': lazyAdapter('aws-eks', async () => (await code['aws-eks']()).createEksAdapter({ targets: config.targets.aws })),
  };
  if (config.targets.azure.length > 0) {
    registry['azure-aks'] = kubernetesAdapter('azure-aks', async () => (await code['azure-aks']()).createAksCloud({ targets: config.targets.azure }));
  }
  if (config.targets.gcp.length > 0) {
    registry['gcp-gke'] = kubernetesAdapter('gcp-gke', async () => (await code['gcp-gke']()).createGkeCloud({ targets: config.targets.gcp }));
  }
  return registry;
}

/**
 * ReconcileDeps for these clusters. The activation secret is read while the clusters' platform code
 * loads and (plan) the first clusters connect: a CLI run is mostly waiting, and these waits overlap. Secret
 * values are read only for Kubernetes clusters: they go into a Secret there, while ECS task
 * definitions reference the secret by ARN (as shared/engine/build.ts does).
 */
export async function cliEngine(
  config: SensorfleetConfig,
  clusters: ClusterRef[],
  adapters: AdapterRegistry,
  options: { record: boolean; preconnect?: boolean },
): Promise<ReconcileDeps> {
  const platforms = [...new Set(clusters.map((c) => c.platform))];
  // only as many as the run itself starts at once; their connect calls are not in the clusters' own
  // call counts, so only for runs that record nothing (plan)
  if (options.preconnect) for (const ref of clusters.slice(0, config.rollout.concurrency)) (adapters[ref.platform] as Partial<LazyAdapter> | undefined)?.preconnect?.(ref);
  const [desired, store] = await Promise.all([
    code.desired().then(({ resolveDesiredSensor }) =>
      resolveDesiredSensor(config, { needValues: clusters.some((c) => c.platform !== 'aws-ecs'), ecsScopes: clusters.filter((c) => c.platform === 'aws-ecs') }),
    ),
    options.record ? import('../state/dynamodb-store').then(({ DynamoDbFleetStore }) => namedStore(new DynamoDbFleetStore(config.state.tableName), config.state.tableName)) : undefined,
    ...platforms.map((p) => (adapters[p] as Partial<LazyAdapter> | undefined)?.preload?.()),
  ]);
  return { adapters, desired, ...(store ? { store } : {}) };
}
