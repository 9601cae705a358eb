import { formatClusterRef, parseClusterRef } from '../../../shared/domain/cluster-ref';
import type { FakeKubeApiServer, FakeKubeCluster, NodeSpec, Taint, WorkloadAllowlist } from '../kube';
import { sensorOfPod, type SensorEvents } from '../sensor-events';
import type { ClusterBacking, FakeGkeApi } from './gke-api';
import { nodeName, selfLink, type ClusterStatus, type NodePoolSpec, type SandboxGkeCluster, type SandboxNodePool } from './gke-model';
import type { GoogleIdentity } from './identity';

/**
 * Builders for sandbox GKE clusters: the cluster in the local GKE API and, behind it, a virtual
 * cluster on the sandbox Kubernetes API server whose endpoint and CA the GKE API reports. Its API
 * server admits only a valid, unexpired Google access token (from the sandbox STS/IAM Credentials)
 * of a principal granted on the cluster's project, as GKE's authenticator + IAM do
 * (https://cloud.google.com/kubernetes-engine/docs/how-to/api-server-authentication).
 * Nodes look like GKE's: gke-<cluster>-<pool>-<hash>-<suffix>, labels cloud.google.com/gke-nodepool,
 * cloud.google.com/gke-spot, node.kubernetes.io/instance-type, topology.kubernetes.io/*; Arm nodes carry
 * GKE's kubernetes.io/arch=arm64:NoSchedule taint
 * (https://cloud.google.com/kubernetes-engine/docs/how-to/prepare-arm-workloads-for-deployment).
 */
export interface GkeClusterSpec {
  projectId: string;
  projectNumber: string;
  location: string;
  name: string;
  autopilot?: boolean;
  nodePools?: NodePoolSpec[];
  labels?: Record<string, string>;
  /** PROVISIONING for this long (no endpoint yet), then RUNNING. */
  provisioningForMs?: number;
  /** Grant the sandbox service account on the project (default true). */
  grant?: boolean;
  /** Autopilot: the WorkloadAllowlists an AllowlistSynchronizer installed (none by default). */
  autopilotAllowlists?: WorkloadAllowlist[];
}

export interface GkeFleet {
  createGkeCluster(o: GkeClusterSpec): Promise<{ ref: string; selfLink: string; nodes: string[] }>;
  /** STOPPING for `stoppingForMs` (default 0), then gone. */
  deleteGkeCluster(ref: string, o?: { stoppingForMs?: number }): void;
  /** Scale-out of a node pool; returns the new node names. */
  addNodes(ref: string, pool: string, count: number): string[];
  setClusterStatus(ref: string, status: ClusterStatus, statusMessage?: string, conditions?: SandboxGkeCluster['conditions']): void;
  kubeCluster(ref: string): FakeKubeCluster | undefined;
}

export interface GkeFleetDeps {
  gke: FakeGkeApi;
  kube: FakeKubeApiServer;
  identity: GoogleIdentity;
  sensors: SensorEvents;
  serviceAccountEmail: string;
}

const ARM_TAINT: Taint = { key: 'kubernetes.io/arch', value: 'arm64', effect: 'NoSchedule' };
const WINDOWS_TAINT: Taint = { key: 'node.kubernetes.io/os', value: 'windows', effect: 'NoSchedule' };
const EFFECT: Record<string, Taint['effect']> = { NO_SCHEDULE: 'NoSchedule', PREFER_NO_SCHEDULE: 'PreferNoSchedule', NO_EXECUTE: 'NoExecute' };

export function createGkeFleet(d: GkeFleetDeps): { fleet: GkeFleet; backing: ClusterBacking } {
  const kubeByRef = new Map<string, FakeKubeCluster>();
  const allowlists = new Map<string, WorkloadAllowlist[]>();
  const refOf = (c: { projectId: string; location: string; name: string }) => formatClusterRef({ platform: 'gcp-gke', scope: c.projectId, location: c.location, name: c.name });

  const nodeSpec = (c: SandboxGkeCluster, pool: SandboxNodePool, name: string): NodeSpec => {
    const s = pool.spec;
    const arch = s.arch ?? 'amd64';
    const machineType = s.machineType ?? (arch === 'arm64' ? 't2a-standard-4' : 'e2-standard-4');
    const zone = /-[a-z]$/.test(c.location) ? c.location : `${c.location}-b`;
    const taints: Taint[] = [...(arch === 'arm64' ? [ARM_TAINT] : []), ...(s.os === 'windows' ? [WINDOWS_TAINT] : []), ...(s.taints ?? []).map((t) => ({ key: t.key, ...(t.value ? { value: t.value } : {}), effect: EFFECT[t.effect]! }))];
    return {
      name,
      hostname: name,
      os: s.os ?? 'linux',
      arch,
      labels: {
        'cloud.google.com/gke-nodepool': s.name,
        'cloud.google.com/gke-os-distribution': s.os === 'windows' ? 'windows_ltsc' : 'cos',
        'cloud.google.com/gke-boot-disk': 'pd-balanced',
        'cloud.google.com/machine-family': machineType.split('-')[0]!,
        'node.kubernetes.io/instance-type': machineType,
        'topology.kubernetes.io/region': c.location.replace(/-[a-z]$/, ''),
        'topology.kubernetes.io/zone': zone,
        ...(s.spot ? { 'cloud.google.com/gke-spot': 'true', 'cloud.google.com/gke-provisioning': 'spot' } : {}),
        ...(c.autopilot ? { 'cloud.google.com/gke-autopilot': 'true' } : {}),
        ...(s.labels ?? {}),
      },
      ...(taints.length ? { taints } : {}),
    };
  };

  const backing: ClusterBacking = {
    attach(c) {
      const ref = refOf(c);
      const nodes: NodeSpec[] = [];
      for (const pool of c.nodePools) {
        pool.nodes = Array.from({ length: pool.spec.nodeCount }, () => nodeName(c, pool));
        nodes.push(...pool.nodes.map((n) => nodeSpec(c, pool, n)));
      }
      const kube = d.kube.addCluster(kubeClusterId(ref), {
        nodes,
        // GKE's API server accepts a Google OAuth access token of a principal with container access on the project
        authenticate: async (token) => {
          const t = d.identity.verify(token);
          if (!t || !t.scopes.includes('https://www.googleapis.com/auth/cloud-platform')) return null;
          return d.identity.mayUseProject(t.principal, [c.projectId, c.projectNumber]) ? t.principal : null;
        },
        // Autopilot clusters run GKE Warden's admission (kube/autopilot.ts)
        ...(c.autopilot ? { admission: 'gke-autopilot' as const, autopilotAllowlists: allowlists.get(ref) ?? [] } : {}),
        onPodReady: (pod, node) => d.sensors.emit('started', sensorOfPod('gcp-gke', ref, pod, node)),
        onPodGone: (pod, node) => d.sensors.emit('stopped', sensorOfPod('gcp-gke', ref, pod, node)),
      });
      const hostAndPath = kube.endpoint.replace(/^https:\/\//, '');
      c.endpoint = hostAndPath;
      c.dnsEndpoint = hostAndPath.replace(/^127\.0\.0\.1/, 'localhost');
      c.caPem = d.kube.caPem;
      kubeByRef.set(ref, kube);
    },
    nodesAdded(c, poolName, names) {
      const kube = kubeByRef.get(refOf(c));
      const pool = c.nodePools.find((p) => p.spec.name === poolName)!;
      for (const n of names) kube?.addNode(nodeSpec(c, pool, n));
    },
    detach(c) {
      const ref = refOf(c);
      d.kube.removeCluster(kubeClusterId(ref));
      kubeByRef.delete(ref);
    },
  };

  const locate = (ref: string) => {
    const r = parseClusterRef(ref);
    return { projectId: r.scope, location: r.location, name: r.name };
  };

  const fleet: GkeFleet = {
    async createGkeCluster(o) {
      d.gke.registerProject(o.projectId, o.projectNumber);
      if (o.grant !== false) d.identity.grantProject(o.projectId, `serviceAccount:${d.serviceAccountEmail}`);
      if (o.autopilotAllowlists) allowlists.set(refOf(o), o.autopilotAllowlists);
      const { cluster } = d.gke.createCluster({
        projectId: o.projectId,
        location: o.location,
        name: o.name,
        autopilot: o.autopilot ?? false,
        nodePools: o.nodePools ?? (o.autopilot ? [] : [{ name: 'default-pool', nodeCount: 3 }]),
        ...(o.labels ? { labels: o.labels } : {}),
        ...(o.provisioningForMs ? { provisioningForMs: o.provisioningForMs } : {}),
      });
      return { ref: refOf(cluster), selfLink: selfLink(cluster), nodes: cluster.nodePools.flatMap((p) => p.nodes) };
    },
    deleteGkeCluster(ref, o = {}) {
      const l = locate(ref);
      d.gke.deleteCluster(l.projectId, l.location, l.name, o.stoppingForMs ?? 0);
    },
    addNodes(ref, pool, count) {
      const l = locate(ref);
      const c = d.gke.cluster(l.projectId, l.location, l.name);
      const p = c?.nodePools.find((x) => x.spec.name === pool);
      if (!c || !p) throw new Error(`no sandbox GKE node pool ${pool} in ${ref}`);
      const names = Array.from({ length: count }, () => nodeName(c, p));
      d.gke.addNodes(l.projectId, l.location, l.name, pool, names);
      return names;
    },
    setClusterStatus(ref, status, statusMessage, conditions) {
      const l = locate(ref);
      d.gke.setStatus(l.projectId, l.location, l.name, status, statusMessage, conditions);
    },
    kubeCluster: (ref) => kubeByRef.get(ref),
  };
  return { fleet, backing };
}

/** Virtual cluster ids are [a-z0-9-]+ and unique per project, location and name. */
export function kubeClusterId(ref: string): string {
  const r = parseClusterRef(ref);
  return `gke-${r.scope}-${r.location}-${r.name}`.toLowerCase().replace(/[^a-z0-9-]+/g, '-');
}
