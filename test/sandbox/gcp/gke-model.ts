import { createHash, randomBytes } from 'node:crypto';

/**
 * The GKE resources the sandbox keeps, rendered as the v1 REST resources
 * (https://cloud.google.com/kubernetes-engine/docs/reference/rest/v1/projects.locations.clusters#Cluster,
 * …nodePools#NodePool, …operations#Operation). Enums are names internally; `withIntEnums` turns
 * them into numbers for clients that ask for `$alt=json;enum-encoding=int` (the REST fallback does),
 * as https://google.aip.dev/127 / the ESF transcoder do.
 */
export type ClusterStatus = 'PROVISIONING' | 'RUNNING' | 'RECONCILING' | 'STOPPING' | 'ERROR' | 'DEGRADED';
export type NodePoolStatus = 'PROVISIONING' | 'RUNNING' | 'RUNNING_WITH_ERROR' | 'RECONCILING' | 'STOPPING' | 'ERROR';

export interface NodePoolSpec {
  name: string;
  nodeCount: number;
  machineType?: string;
  /** Spot VMs: nodes carry cloud.google.com/gke-spot=true. */
  spot?: boolean;
  arch?: 'amd64' | 'arm64';
  os?: 'linux' | 'windows';
  labels?: Record<string, string>;
  taints?: { key: string; value?: string; effect: 'NO_SCHEDULE' | 'PREFER_NO_SCHEDULE' | 'NO_EXECUTE' }[];
}

export interface SandboxNodePool {
  spec: NodePoolSpec;
  /** Instance-group suffix in node names (gke-<cluster>-<pool>-<hash>-<4 chars>). */
  hash: string;
  nodes: string[];
  status: NodePoolStatus;
}

export interface SandboxGkeCluster {
  projectId: string;
  projectNumber: string;
  location: string;
  name: string;
  id: string;
  status: ClusterStatus;
  statusMessage?: string;
  conditions: { code?: string; message: string; canonicalCode?: string }[];
  createTime: string;
  autopilot: boolean;
  /** host[:port][/path] of the control plane, as GKE reports `endpoint` (an IP) */
  endpoint: string;
  dnsEndpoint: string;
  caPem: string;
  resourceLabels: Record<string, string>;
  nodePools: SandboxNodePool[];
  version: string;
  /** When set, the cluster leaves PROVISIONING/STOPPING at this time. */
  transitionAt?: number;
}

export interface SandboxOperation {
  name: string;
  projectId: string;
  location: string;
  operationType: 'CREATE_CLUSTER' | 'DELETE_CLUSTER' | 'SET_NODE_POOL_SIZE';
  status: 'PENDING' | 'RUNNING' | 'DONE';
  targetLink: string;
  startTime: string;
  endTime?: string;
  doneAt: number;
}

export const GKE_VERSION = '1.32.4-gke.1415000';
const CONTAINER = 'https://container.googleapis.com/v1';

export function newOperationName(): string {
  return `operation-${Date.now()}-${randomBytes(4).toString('hex')}`;
}

export function poolHash(cluster: string, pool: string): string {
  return createHash('sha256').update(`${cluster}/${pool}`).digest('hex').slice(0, 8);
}

/** GKE node names: gke-<cluster>-<pool>-<8 hex>-<4 alnum> (Autopilot: gk3-…), kept within 63 characters. */
export function nodeName(c: { name: string; autopilot: boolean }, pool: SandboxNodePool): string {
  const suffix = randomBytes(3).toString('base64url').toLowerCase().replace(/[^a-z0-9]/g, 'x').slice(0, 4);
  const head = `${c.autopilot ? 'gk3' : 'gke'}-${c.name}`.slice(0, 40);
  return `${head}-${pool.spec.name}`.slice(0, 49).replace(/-+$/, '') + `-${pool.hash}-${suffix}`;
}

export function selfLink(c: { projectId: string; location: string; name: string }): string {
  return `${CONTAINER}/projects/${c.projectId}/locations/${c.location}/clusters/${c.name}`;
}

export function renderCluster(c: SandboxGkeCluster): Record<string, unknown> {
  const serving = c.status !== 'PROVISIONING';
  const zones = /-[a-z]$/.test(c.location) ? [c.location] : ['b', 'c', 'd'].map((z) => `${c.location}-${z}`);
  const nodeCount = c.nodePools.reduce((n, p) => n + p.nodes.length, 0);
  return {
    name: c.name,
    nodePools: c.nodePools.map((p) => renderNodePool(c, p)),
    locations: zones,
    network: 'default',
    subnetwork: 'default',
    clusterIpv4Cidr: '10.8.0.0/14',
    servicesIpv4Cidr: '34.118.224.0/20',
    loggingService: 'logging.googleapis.com/kubernetes',
    monitoringService: 'monitoring.googleapis.com/kubernetes',
    resourceLabels: c.resourceLabels,
    labelFingerprint: createHash('sha256').update(JSON.stringify(c.resourceLabels)).digest('hex').slice(0, 16),
    selfLink: selfLink(c),
    zone: c.location,
    location: c.location,
    id: c.id,
    initialClusterVersion: c.version,
    currentMasterVersion: c.version,
    currentNodeVersion: c.version,
    currentNodeCount: nodeCount,
    createTime: c.createTime,
    status: c.status,
    ...(c.statusMessage ? { statusMessage: c.statusMessage } : {}),
    ...(c.conditions.length ? { conditions: c.conditions } : {}),
    releaseChannel: { channel: 'REGULAR' },
    ...(c.autopilot ? { autopilot: { enabled: true } } : {}),
    ...(serving
      ? {
          endpoint: c.endpoint,
          masterAuth: { clusterCaCertificate: Buffer.from(c.caPem).toString('base64') },
          controlPlaneEndpointsConfig: {
            dnsEndpointConfig: { endpoint: c.dnsEndpoint, allowExternalTraffic: true },
            ipEndpointsConfig: { enabled: true, enablePublicEndpoint: true, publicEndpoint: c.endpoint, globalAccess: false },
          },
        }
      : { masterAuth: {} }),
    etag: createHash('sha256').update(`${c.id}|${c.status}|${nodeCount}`).digest('hex').slice(0, 8),
  };
}

export function renderNodePool(c: SandboxGkeCluster, p: SandboxNodePool): Record<string, unknown> {
  const machineType = p.spec.machineType ?? (p.spec.arch === 'arm64' ? 't2a-standard-4' : 'e2-standard-4');
  return {
    name: p.spec.name,
    config: {
      machineType,
      diskSizeGb: 100,
      diskType: 'pd-balanced',
      imageType: p.spec.os === 'windows' ? 'WINDOWS_LTSC_CONTAINERD' : 'COS_CONTAINERD',
      ...(p.spec.spot ? { spot: true } : {}),
      ...(p.spec.labels ? { labels: p.spec.labels } : {}),
      ...(p.spec.taints ? { taints: p.spec.taints } : {}),
      oauthScopes: ['https://www.googleapis.com/auth/cloud-platform'],
    },
    initialNodeCount: p.spec.nodeCount,
    locations: /-[a-z]$/.test(c.location) ? [c.location] : [`${c.location}-b`],
    selfLink: `${selfLink(c)}/nodePools/${p.spec.name}`,
    version: c.version,
    instanceGroupUrls: [`https://www.googleapis.com/compute/v1/projects/${c.projectId}/zones/${c.location}-b/instanceGroupManagers/gke-${c.name}-${p.spec.name}-${p.hash}-grp`],
    status: p.status,
    management: { autoUpgrade: true, autoRepair: true },
    podIpv4CidrSize: 24,
    etag: createHash('sha256').update(`${p.spec.name}|${p.nodes.length}`).digest('hex').slice(0, 8),
  };
}

export function renderOperation(o: SandboxOperation): Record<string, unknown> {
  return {
    name: o.name,
    zone: o.location,
    operationType: o.operationType,
    status: o.status,
    selfLink: `${CONTAINER}/projects/${o.projectId}/locations/${o.location}/operations/${o.name}`,
    targetLink: o.targetLink,
    location: o.location,
    startTime: o.startTime,
    ...(o.endTime ? { endTime: o.endTime } : {}),
  };
}

const CLUSTER_STATUS = ['STATUS_UNSPECIFIED', 'PROVISIONING', 'RUNNING', 'RECONCILING', 'STOPPING', 'ERROR', 'DEGRADED'];
const NODE_POOL_STATUS = ['STATUS_UNSPECIFIED', 'PROVISIONING', 'RUNNING', 'RUNNING_WITH_ERROR', 'RECONCILING', 'STOPPING', 'ERROR'];
const OPERATION_STATUS = ['STATUS_UNSPECIFIED', 'PENDING', 'RUNNING', 'DONE', 'ABORTING'];
const OPERATION_TYPE: Record<string, number> = { TYPE_UNSPECIFIED: 0, CREATE_CLUSTER: 1, DELETE_CLUSTER: 2, SET_NODE_POOL_SIZE: 14 };
const CHANNEL = ['UNSPECIFIED', 'RAPID', 'REGULAR', 'STABLE', 'EXTENDED'];
const TAINT_EFFECT = ['EFFECT_UNSPECIFIED', 'NO_SCHEDULE', 'PREFER_NO_SCHEDULE', 'NO_EXECUTE'];
const CONDITION_CODE: Record<string, number> = { UNKNOWN: 0, GCE_STOCKOUT: 1, GKE_SERVICE_ACCOUNT_DELETED: 2, GCE_QUOTA_EXCEEDED: 3, SET_BY_OPERATOR: 4, CLOUD_KMS_KEY_ERROR: 7, CA_EXPIRING: 9 };
const RPC_CODE = ['OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED'];

const index = (names: string[]) => (v: unknown) => (typeof v === 'string' && names.includes(v) ? names.indexOf(v) : v);
const lookup = (table: Record<string, number>) => (v: unknown) => (typeof v === 'string' && v in table ? table[v] : v);

/** A rendered resource with its enum fields as numbers. */
export function withIntEnums(kind: 'Cluster' | 'NodePool' | 'Operation', body: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...body };
  if (kind === 'Cluster') {
    out.status = index(CLUSTER_STATUS)(out.status);
    if (Array.isArray(out.nodePools)) out.nodePools = out.nodePools.map((p) => withIntEnums('NodePool', p as Record<string, unknown>));
    if (out.releaseChannel) out.releaseChannel = { ...(out.releaseChannel as object), channel: index(CHANNEL)((out.releaseChannel as { channel?: unknown }).channel) };
    if (Array.isArray(out.conditions)) {
      out.conditions = out.conditions.map((k: Record<string, unknown>) => ({ ...k, ...(k.code ? { code: lookup(CONDITION_CODE)(k.code) } : {}), ...(k.canonicalCode ? { canonicalCode: index(RPC_CODE)(k.canonicalCode) } : {}) }));
    }
  }
  if (kind === 'NodePool') {
    out.status = index(NODE_POOL_STATUS)(out.status);
    const config = out.config as { taints?: { effect?: unknown }[] } | undefined;
    if (config?.taints) out.config = { ...config, taints: config.taints.map((t) => ({ ...t, effect: index(TAINT_EFFECT)(t.effect) })) };
  }
  if (kind === 'Operation') {
    out.status = index(OPERATION_STATUS)(out.status);
    out.operationType = lookup(OPERATION_TYPE)(out.operationType);
  }
  return out;
}
