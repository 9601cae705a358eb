/**
 * Builders for sandbox AKS clusters: the managed cluster in the local ARM (agent pools, tags, Entra
 * integration or local accounts, private API server) and, behind it, a virtual cluster on the sandbox
 * Kubernetes API server whose nodes look like AKS's (names aks-<pool>-<vmss id>-vmss<instance>, labels
 * kubernetes.azure.com/*, the spot taint, Windows nodes) and which authenticates the way that cluster
 * does: Entra tokens for the AKS server application of the cluster's tenant, or a client certificate of
 * the cluster's own client CA (plus the static token of the local user kubeconfig).
 */
import { createHash, randomBytes, type X509Certificate } from 'node:crypto';
import { formatClusterRef } from '../../../shared/domain/cluster-ref';
import { clientCaAuthenticator, type FakeKubeApiServer, type FakeKubeCluster, type NodeSpec, type Taint } from '../kube';
import { createCa, issueCertificate } from '../kube/tls';
import { sensorOfPod, type SensorEvents } from '../sensor-events';
import type { AgentPoolSpec, ManagedClusterRecord, SandboxArm } from './arm';
import { AKS_SERVER_APP_ID, type SandboxEntra } from './entra';
import { entraUserKubeconfig, localAccountKubeconfig } from './kubeconfig';

export interface AksNodePoolSpec {
  name: string;
  count: number;
  /** default: the first pool is System, the others User */
  mode?: 'System' | 'User';
  osType?: 'Linux' | 'Windows';
  /** Spot priority: AKS labels and taints the nodes kubernetes.azure.com/scalesetpriority=spot:NoSchedule. */
  spot?: boolean;
  /** AKS format: key=value:NoSchedule */
  taints?: string[];
  labels?: Record<string, string>;
  vmSize?: string;
}

export interface CreateAksClusterOptions {
  subscriptionId?: string;
  resourceGroup: string;
  name: string;
  location?: string;
  /** entra: AKS-managed Entra ID with Azure RBAC, local accounts disabled; local: no Entra integration. */
  mode: 'entra' | 'local';
  nodePools: AksNodePoolSpec[];
  tags?: Record<string, string>;
  /** provisioningState Creating for this long, then Succeeded. */
  creatingForMs?: number;
  /** A private API server: true = not reachable from the sandbox's "functions"; 'reachable' = as from inside the VNet. */
  private?: boolean | 'reachable';
  kubernetesVersion?: string;
  /** Entra tenant the cluster trusts (default the sandbox tenant). */
  aadTenantId?: string;
}

export interface AksFleet {
  createAksCluster(o: CreateAksClusterOptions): Promise<{ ref: string; id: string }>;
  /** Deleting for `deletingForMs`, then gone from ARM and from the Kubernetes server. */
  deleteAksCluster(ref: string, o?: { deletingForMs?: number }): void;
  stopAksCluster(ref: string, o?: { stoppingForMs?: number }): void;
  startAksCluster(ref: string, o?: { startingForMs?: number }): void;
  /** provisioningState Failed with status.provisioningError. */
  failAksCluster(ref: string, error: { code: string; message: string }): void;
  /** An operation in flight (Updating, Upgrading, Scaling) for `forMs`, then Succeeded. */
  setOperation(ref: string, state: 'Updating' | 'Upgrading' | 'Scaling', forMs: number): void;
  /** Scales a pool up by `count` nodes (ARM count and Kubernetes nodes). */
  addNodes(ref: string, pool: string, count: number): NodeSpec[];
  kubeCluster(ref: string): FakeKubeCluster | undefined;
  record(ref: string): ManagedClusterRecord | undefined;
}

export interface AksFleetDeps {
  arm: SandboxArm;
  entra: SandboxEntra;
  kube: FakeKubeApiServer;
  sensors: SensorEvents;
  tenantId: string;
  subscriptionId: string;
  /** A loopback port that refuses connections: the "private IP" of unreachable private API servers. */
  unreachablePort: number;
}

interface Built {
  kube: FakeKubeCluster;
  record: ManagedClusterRecord;
  pools: Map<string, { spec: AgentPoolSpec; vmssId: string; next: number; osType: 'Linux' | 'Windows' }>;
  location: string;
  clusterLabel: string;
}

const NODE_IMAGE = { Linux: 'AKSUbuntu-2204gen2containerd-202505.14.0', Windows: 'AKSWindows-2022-containerd-20348.3561.250514' } as const;
const WINDOWS_CONTAINERD_PIPE = '\\\\.\\pipe\\containerd-containerd';

export function createAksFleet(d: AksFleetDeps): AksFleet {
  const built = new Map<string, Built>();
  const get = (ref: string): Built => {
    const b = built.get(ref);
    if (!b) throw new Error(`no sandbox AKS cluster ${ref}`);
    return b;
  };

  const nodesFor = (b: Built, poolName: string, count: number): NodeSpec[] => {
    const pool = b.pools.get(poolName)!;
    const out: NodeSpec[] = [];
    for (let i = 0; i < count; i++) {
      const index = pool.next++;
      const windows = pool.osType === 'Windows';
      // Linux: VMSS instance names; Windows: the pool's computer name prefix (a Windows host name has at most 15 characters)
      const name = windows ? `aks${poolName}${index.toString(36).padStart(6, '0')}` : `aks-${poolName}-${pool.vmssId}-vmss${index.toString(36).padStart(6, '0')}`;
      out.push({
        name,
        os: windows ? 'windows' : 'linux',
        labels: {
          agentpool: poolName,
          'kubernetes.azure.com/agentpool': poolName,
          'kubernetes.azure.com/mode': pool.spec.mode.toLowerCase(),
          'kubernetes.azure.com/role': 'agent',
          'kubernetes.azure.com/cluster': b.clusterLabel,
          'kubernetes.azure.com/node-image-version': pool.spec.nodeImageVersion,
          'kubernetes.azure.com/os-sku': pool.spec.osSKU,
          'node.kubernetes.io/instance-type': pool.spec.vmSize,
          'topology.kubernetes.io/region': b.location,
          'topology.kubernetes.io/zone': '0',
          ...(windows ? { 'node.kubernetes.io/windows-build': '10.0.20348' } : {}),
          ...pool.spec.nodeLabels,
        },
        taints: pool.spec.nodeTaints.map(parseTaint),
        allocatable: windows ? { cpu: '3860m', memory: '13236924Ki', pods: '30' } : { cpu: '3860m', memory: '12880936Ki', pods: String(pool.spec.maxPods) },
        ...(windows ? { hostSockets: [WINDOWS_CONTAINERD_PIPE] } : {}),
      });
    }
    return out;
  };

  return {
    async createAksCluster(o) {
      const subscriptionId = (o.subscriptionId ?? d.subscriptionId).toLowerCase();
      const location = o.location ?? 'westeurope';
      const ref = formatClusterRef({ platform: 'azure-aks', scope: subscriptionId, location: o.resourceGroup, name: o.name });
      if (built.has(ref)) throw new Error(`sandbox AKS cluster ${ref} exists already`);
      const tenantId = (o.aadTenantId ?? d.tenantId).toLowerCase();
      const entra = o.mode === 'entra';
      // RSA keys take a while: the client CA and the user certificate are made when first needed
      let local: { ca: { certPem: string; keyPem: string }; user: { certPem: string; keyPem: string; token: string } } | undefined;
      const localAccount = () => {
        if (!local) {
          const ca = createCa(`ca-${o.name}`);
          local = { ca, user: { ...issueCertificate(ca, { commonName: 'masterclient', organizations: ['system:masters'], usage: 'client' }), token: randomBytes(32).toString('hex') } };
        }
        return local;
      };
      const kubeId = `aks-${subscriptionId.slice(0, 8)}-${o.resourceGroup}-${o.name}`.toLowerCase().replace(/[^a-z0-9-]+/g, '-');

      const pools: AgentPoolSpec[] = o.nodePools.map((p, i) => {
        const osType = p.osType ?? 'Linux';
        const labels = { ...(p.labels ?? {}), ...(p.spot ? { 'kubernetes.azure.com/scalesetpriority': 'spot' } : {}) };
        const taints = [...(p.taints ?? []), ...(p.spot ? ['kubernetes.azure.com/scalesetpriority=spot:NoSchedule'] : [])];
        return {
          name: p.name,
          count: p.count,
          vmSize: p.vmSize ?? (osType === 'Windows' ? 'Standard_D4s_v5' : 'Standard_D4ds_v5'),
          mode: p.mode ?? (i === 0 ? 'System' : 'User'),
          osType,
          osSKU: osType === 'Windows' ? 'Windows2022' : 'Ubuntu',
          nodeImageVersion: NODE_IMAGE[osType],
          nodeTaints: taints,
          nodeLabels: labels,
          ...(p.spot ? { scaleSetPriority: 'Spot' as const } : {}),
          maxPods: osType === 'Windows' ? 30 : 250,
        };
      });

      const kube = d.kube.addCluster(kubeId, {
        nodes: [],
        ...(entra
          ? {
              authenticate: async (token: string) => {
                const check = await d.entra.verifyAccessToken(token, { audiences: [AKS_SERVER_APP_ID, `spn:${AKS_SERVER_APP_ID}`], tenantId });
                return check.ok ? `aad:${check.claims.oid}` : null;
              },
            }
          : {
              authenticate: async (token: string) => (token === localAccount().user.token ? 'clusterUser' : null),
              authenticateCertificate: (cert: X509Certificate) => clientCaAuthenticator(localAccount().ca.certPem)(cert),
            }),
        onPodReady: (pod, node) => d.sensors.emit('started', sensorOfPod('azure-aks', ref, pod, node)),
        onPodGone: (pod, node) => d.sensors.emit('stopped', sensorOfPod('azure-aks', ref, pod, node)),
      });
      const server = o.private === true ? `https://127.0.0.1:${d.unreachablePort}` : kube.endpoint;
      const kc = { name: o.name, resourceGroup: o.resourceGroup, server, caPem: d.kube.caPem };
      const dnsHash = createHash('sha256').update(ref).digest('hex').slice(0, 8);
      const record = d.arm.putCluster({
        subscriptionId,
        resourceGroup: o.resourceGroup,
        name: o.name,
        location,
        tags: { ...(o.tags ?? {}) },
        kubernetesVersion: o.kubernetesVersion ?? '1.32',
        ...(entra ? { aad: { tenantId, enableAzureRBAC: true, adminGroupObjectIDs: [] } } : {}),
        disableLocalAccounts: entra,
        privateCluster: !!o.private,
        dnsHash,
        agentPools: pools,
        userKubeconfig: (format) => (entra ? entraUserKubeconfig(kc, tenantId, format) : localAccountKubeconfig(kc, 'clusterUser', localAccount().user)),
        ...(entra ? {} : { adminKubeconfig: () => localAccountKubeconfig(kc, 'clusterAdmin', localAccount().user) }),
      });
      const b: Built = {
        kube,
        record,
        pools: new Map(pools.map((p) => [p.name, { spec: p, vmssId: vmssId(ref, p.name), next: 0, osType: p.osType }])),
        location,
        clusterLabel: `MC_${o.resourceGroup}_${o.name}_${location}`,
      };
      built.set(ref, b);
      for (const p of pools) for (const n of nodesFor(b, p.name, p.count)) kube.addNode(n);
      if (o.creatingForMs) {
        const now = Date.now();
        record.schedule({ at: now, provisioningState: 'Creating', powerState: 'Running' }, { at: now + o.creatingForMs, provisioningState: 'Succeeded', powerState: 'Running' });
      }
      return { ref, id: record.id };
    },

    deleteAksCluster(ref, o = {}) {
      const b = get(ref);
      const now = Date.now();
      b.record.schedule({ at: now, provisioningState: 'Deleting', powerState: b.record.powerState }, { at: now + (o.deletingForMs ?? 0), provisioningState: 'Deleting', powerState: 'Stopped', gone: true });
      built.delete(ref);
      d.kube.removeCluster(b.kube.id);
    },

    stopAksCluster(ref, o = {}) {
      const r = get(ref).record;
      const now = Date.now();
      r.schedule({ at: now, provisioningState: 'Stopping', powerState: 'Running' }, { at: now + (o.stoppingForMs ?? 0), provisioningState: 'Succeeded', powerState: 'Stopped' });
    },

    startAksCluster(ref, o = {}) {
      const r = get(ref).record;
      const now = Date.now();
      r.schedule({ at: now, provisioningState: 'Starting', powerState: 'Running' }, { at: now + (o.startingForMs ?? 0), provisioningState: 'Succeeded', powerState: 'Running' });
    },

    failAksCluster(ref, error) {
      const r = get(ref).record;
      r.schedule({ at: Date.now(), provisioningState: 'Failed', powerState: r.powerState });
      r.provisioningError = error;
    },

    setOperation(ref, state, forMs) {
      const r = get(ref).record;
      const now = Date.now();
      r.schedule({ at: now, provisioningState: state, powerState: r.powerState }, { at: now + forMs, provisioningState: 'Succeeded', powerState: r.powerState });
    },

    addNodes(ref, pool, count) {
      const b = get(ref);
      const p = b.pools.get(pool);
      if (!p) throw new Error(`cluster ${ref} has no agent pool ${pool}`);
      const nodes = nodesFor(b, pool, count);
      for (const n of nodes) b.kube.addNode(n);
      p.spec.count += count;
      b.record.touch();
      return nodes;
    },

    kubeCluster: (ref) => built.get(ref)?.kube,
    record: (ref) => built.get(ref)?.record,
  };
}

/** The 8-digit id AKS puts in VMSS instance names, stable per cluster and pool. */
function vmssId(ref: string, pool: string): string {
  return String(parseInt(createHash('sha256').update(`${ref}|${pool}`).digest('hex').slice(0, 8), 16) % 100_000_000).padStart(8, '0');
}

function parseTaint(text: string): Taint {
  const m = /^([^=:]+)(?:=([^:]*))?:(NoSchedule|PreferNoSchedule|NoExecute)$/.exec(text);
  if (!m) throw new Error(`taint "${text}" is not key=value:Effect`);
  return { key: m[1]!, ...(m[2] !== undefined ? { value: m[2] } : {}), effect: m[3] as Taint['effect'] };
}
