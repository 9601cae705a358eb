/**
 * A Kubernetes platform = a cloud half (discover, connect: the cloud's API and identity) plus the
 * shared Kubernetes half (observe/plan/apply/verify in lifecycle.ts). The cloud half is loaded on
 * first use, so a process that never handles a cluster of that cloud never imports its SDK
 * (esbuild puts each dynamic import in its own chunk).
 */
import { formatClusterRef, type ClusterRef, type Platform } from '../../domain/cluster-ref';
import type { ConnectedCluster, DiscoveryScope, PlatformAdapter } from '../types';
import { kubernetesOperations, type KubeHandle } from './lifecycle';
import type { KubeAction, KubeObserved } from './plan';

export interface KubernetesCloud<H extends KubeHandle = KubeHandle> {
  readonly platform: Platform;
  discover(scope: DiscoveryScope): Promise<ClusterRef[]>;
  /** Cloud status -> ready, not ready (ClusterNotReadyError), gone (ClusterNotFoundError) or skipped (ClusterSkippedError); then a KubeClient. */
  connect(ref: ClusterRef): Promise<ConnectedCluster<H>>;
}

export function kubernetesAdapter<H extends KubeHandle>(platform: Platform, load: () => Promise<KubernetesCloud<H>>): PlatformAdapter<H, KubeObserved, KubeAction> {
  let loading: Promise<KubernetesCloud<H>> | undefined;
  const cloud = (): Promise<KubernetesCloud<H>> => {
    loading ??= load();
    loading.catch(() => (loading = undefined));
    return loading;
  };
  const kube = kubernetesOperations<H>();
  return {
    platform,
    discover: async (scope) => (await cloud()).discover(scope),
    connect: async (ref) => (await cloud()).connect(ref),
    observe: (cluster, desired) => kube.observe(cluster, desired, formatClusterRef(cluster.ref)),
    plan: (desired, observed, options) => kube.plan(desired, observed, options),
    apply: (cluster, plan) => kube.apply(cluster, plan),
    verify: (cluster, desired, options) => kube.verify(cluster, desired, options),
    release: (cluster) => kube.release(cluster),
  };
}
