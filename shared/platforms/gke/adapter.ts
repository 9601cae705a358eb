/**
 * Google GKE, cloud half: find clusters and connect to them through the GKE API, then hand over to
 * the Kubernetes module (observe/plan/apply/verify are shared with EKS and AKS). The Kubernetes client
 * trusts only the cluster CA GKE reports (masterAuth.clusterCaCertificate) and sends the target's
 * Google access token as bearer, the same credential that reads the GKE API.
 *
 * Refs always hold the project id (gcp-gke:<project-id>:<location>:<name>), never the number, so one
 * cluster is one inventory item whatever named it.
 */
import { formatClusterRef, type ClusterRef } from '../../domain/cluster-ref';
import { ClusterNotFoundError, ClusterNotReadyError, ClusterSkippedError, ConfigError, PartialDiscoveryError, SensorfleetError } from '../../runtime/errors';
import type { KubernetesCloud } from '../kubernetes/cloud-adapter';
import { KubeClient } from '../kubernetes/client';
import type { KubeHandle } from '../kubernetes/lifecycle';
import type { ConnectedCluster, DiscoveryScope } from '../types';
import type { GcpTarget } from './config';
import { gkeApi, type GkeCluster } from './container-api';
import { GkeClusterStoppingError, GkeClusterUnhealthyError } from './errors';
import { gkeReadiness } from './readiness';

/** `autopilot` (from KubeHandle) is set on Autopilot clusters with a configured allowlist: the WorkloadAllowlist the sensor's pods name. */
export interface GkeHandle extends KubeHandle {
  endpoint: string;
  version?: string;
}

export const AUTOPILOT_ALLOWLIST_REASON =
  'GKE Autopilot: the Qualys sensor needs the Autopilot partner allowlist (Autopilot rejects privileged DaemonSets and hostPath mounts ' +
  'unless a WorkloadAllowlist admits them: install it with an AllowlistSynchronizer (auto.gke.io/v1) naming the allowlist path, ' +
  'then set targets.gcp[].autopilotAllowlist to { name: <WorkloadAllowlist name> }; ' +
  'https://cloud.google.com/kubernetes-engine/docs/how-to/run-autopilot-partner-workloads)';

export function createGkeCloud(options: { targets: GcpTarget[] }): KubernetesCloud<GkeHandle> {
  const targetFor = (project: string): GcpTarget => {
    const target = options.targets.find((t) => t.projectId === project);
    if (target) return target;
    const byNumber = options.targets.find((t) => t.projectNumber === project);
    if (byNumber) throw new ConfigError(`GKE refs name the project id: project number ${project} is ${byNumber.projectId}; use gcp-gke:${byNumber.projectId}:<location>:<name>`);
    throw new ConfigError(`GCP project ${project} is not a configured target (targets.gcp); GKE clusters there are not managed`);
  };

  return {
    platform: 'gcp-gke',

    async discover(scope: DiscoveryScope): Promise<ClusterRef[]> {
      const target = targetFor(scope.scope);
      const api = await gkeApi(target);
      const { clusters, missingZones } = await api.listClusters(target.projectId, scope.location);
      const refs = clusters.flatMap((c) => {
        const location = c.location || c.zone;
        return c.name && location ? [{ platform: 'gcp-gke' as const, scope: target.projectId, location, name: c.name }] : [];
      });
      if (missingZones.length > 0) {
        throw new PartialDiscoveryError(`GKE could not list clusters in ${missingZones.join(', ')} of project ${target.projectId} (missingZones); clusters there are missing from this run`, refs);
      }
      return refs;
    },

    async connect(ref: ClusterRef): Promise<ConnectedCluster<GkeHandle>> {
      const target = targetFor(ref.scope);
      const id = formatClusterRef(ref);
      const api = await gkeApi(target);
      const cluster = await api.getCluster(target.projectId, ref.location, ref.name);
      if (!cluster) throw new ClusterNotFoundError(id);
      const readiness = gkeReadiness(cluster);
      if (readiness.kind === 'stopping') throw new GkeClusterStoppingError(id);
      if (readiness.kind === 'unhealthy') throw new GkeClusterUnhealthyError(id, readiness.status, readiness.detail);
      if (readiness.kind === 'not-ready') throw new ClusterNotReadyError(id, readiness.status);
      if (readiness.kind === 'unknown') throw new SensorfleetError(`cluster ${id} is ${readiness.status}; the sensor can only be deployed on a RUNNING cluster`);

      const autopilot = cluster.autopilot?.enabled === true;
      if (autopilot && target.autopilotAllowlist === false) throw new ClusterSkippedError(id, AUTOPILOT_ALLOWLIST_REASON, 'RUNNING');

      const endpoint = controlPlaneEndpoint(cluster, target, id);
      const caPem = Buffer.from(cluster.masterAuth!.clusterCaCertificate!, 'base64').toString('utf8');
      const credential = api.credential;
      const kube = new KubeClient({ server: endpoint.startsWith('https://') ? endpoint : `https://${endpoint}`, caPem, token: () => credential.accessToken() });
      return {
        ref,
        status: readiness.status,
        tags: { ...(cluster.resourceLabels ?? {}) },
        handle: {
          kube,
          endpoint,
          ...(cluster.currentMasterVersion ? { version: cluster.currentMasterVersion } : {}),
          ...(autopilot && target.autopilotAllowlist ? { autopilot: { matchingAllowlist: target.autopilotAllowlist.name } } : {}),
        },
      };
    },
  };
}

/** The IP endpoint, or the DNS-based one when the target asks for it (https://cloud.google.com/kubernetes-engine/docs/concepts/network-isolation#dns-based_endpoint). */
function controlPlaneEndpoint(cluster: GkeCluster, target: GcpTarget, id: string): string {
  if (!target.useDnsEndpoint) return cluster.endpoint!;
  const dns = cluster.controlPlaneEndpointsConfig?.dnsEndpointConfig;
  if (!dns?.endpoint) throw new ClusterSkippedError(id, 'the cluster has no DNS-based control plane endpoint; enable it (gcloud container clusters update --enable-dns-access) or set targets.gcp[].useDnsEndpoint false', 'RUNNING');
  if (dns.allowExternalTraffic === false) throw new ClusterSkippedError(id, 'the DNS-based control plane endpoint does not allow external traffic (allowExternalTraffic false); sensorfleet cannot reach it', 'RUNNING');
  return dns.endpoint;
}
