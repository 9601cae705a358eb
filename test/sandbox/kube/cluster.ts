/**
 * One virtual Kubernetes cluster inside the shared sandbox API server: its object store, its nodes, the
 * DaemonSet controller, scheduler and kubelets that act on them, a request log and a fault switch.
 */
import { randomBytes } from 'node:crypto';
import YAML from 'yaml';
import { gkeWarden, type WorkloadAllowlist } from './autopilot';
import { fieldSetOf } from './fieldsets';
import { controllerManagers, isPodReady, syncDaemonSet, targetNodeName } from './daemonset-controller';
import { stepPod, type PodRuntimeState } from './pod-lifecycle';
import { controllerWrite, ResourceRegistry, timestamp } from './registry';
import { RESOURCE_TYPES, type ResourceType, resourceByKind } from './resources';
import { ObjectStore, type ManagerEntry } from './store';
import { DEFAULT_HOST_SOCKETS, DEFAULT_IMAGE_PLATFORMS, type ClusterOptions, type Faults, type NodeSpec, type RecordedRequest, type Taint } from './types';
import { parseQuantity } from './quantity';
import { WatchCache } from './watch-cache';
import { EventRecorder } from './events';

const RECONCILE_DELAY_MS = 25;
const type = (kind: string) => RESOURCE_TYPES.find((t) => t.kind === kind)!;
const POD = type('Pod');
const NODE = type('Node');
const DS = type('DaemonSet');
const NS = type('Namespace');
const REVISION = type('ControllerRevision');

export class ClusterSettleTimeoutError extends Error {
  override name = 'ClusterSettleTimeoutError';
}

export class FakeKubeCluster {
  readonly endpoint: string;
  readonly requests: RecordedRequest[] = [];
  faults: Faults = {};
  readonly store = new ObjectStore();
  readonly registry = new ResourceRegistry(this.store);
  /** The change history watches and exact-resourceVersion lists are served from. */
  readonly watchCache: WatchCache;
  private readonly events = new EventRecorder(this.store);

  private readonly nodeSpecs = new Map<string, NodeSpec>();
  private readonly podStates = new Map<string, PodRuntimeState>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private reconciling = false;
  private stopped = false;
  private nodeIp = 10;

  constructor(
    readonly id: string,
    baseUrl: string,
    private readonly caPem: string,
    readonly options: ClusterOptions,
  ) {
    this.endpoint = `${baseUrl}/clusters/${id}`;
    this.watchCache = new WatchCache(this.store, options.watch?.historyLimit);
    for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
      this.registry.create(NS, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }, { fieldManager: 'kube-apiserver' });
    }
    this.store.onChange((c) => this.onStoreChange(c.type, c.resource, c.obj));
    for (const n of options.nodes) this.addNode(n);
    if (options.admission === 'gke-autopilot') {
      this.allowlists.push(...(options.autopilotAllowlists ?? []).map((w) => structuredClone(w)));
      this.registry.admission = gkeWarden(() => this.allowlists);
    }
  }

  // ---- GKE Autopilot ----------------------------------------------------------------------------------

  private readonly allowlists: WorkloadAllowlist[] = [];

  /** What an AllowlistSynchronizer does once its allowlist file synced: the WorkloadAllowlist is installed (or replaced). */
  installAllowlist(allowlist: WorkloadAllowlist): void {
    const at = this.allowlists.findIndex((w) => w.metadata.name === allowlist.metadata.name);
    if (at >= 0) this.allowlists.splice(at, 1);
    this.allowlists.push(structuredClone(allowlist));
  }

  removeAllowlist(name: string): void {
    const at = this.allowlists.findIndex((w) => w.metadata.name === name);
    if (at >= 0) this.allowlists.splice(at, 1);
  }

  // ---- nodes -------------------------------------------------------------------------------------------

  addNode(spec: NodeSpec): void {
    this.nodeSpecs.set(spec.name, spec);
    const alloc = { cpu: spec.allocatable?.cpu ?? '2', memory: spec.allocatable?.memory ?? '8Gi', pods: spec.allocatable?.pods ?? '110' };
    const hostname = spec.hostname ?? spec.name;
    const ip = `10.0.${Math.floor(this.nodeIp / 250)}.${(this.nodeIp++ % 250) + 2}`;
    const runtime = hostSocketsOf(spec).some((s) => s.includes('containerd')) ? 'containerd://1.7.27' : 'docker://27.5.1';
    const os = spec.os ?? 'linux';
    const arch = spec.arch ?? 'amd64';
    const platform = platformInfo(os, arch);
    const node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: spec.name,
        // the kubelet's well-known labels (pkg/kubelet/kubelet_node_status.go: initialNode)
        labels: { 'beta.kubernetes.io/arch': arch, 'beta.kubernetes.io/os': os, 'kubernetes.io/arch': arch, 'kubernetes.io/hostname': hostname, 'kubernetes.io/os': os, ...platform.labels, ...(spec.labels ?? {}) },
        annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' },
      },
      spec: { podCIDR: `10.244.${this.nodeIp % 250}.0/24`, ...this.taintSpec(spec.taints ?? [], !!spec.unschedulable) },
      status: {
        capacity: { ...alloc, 'ephemeral-storage': '20959212Ki', 'hugepages-2Mi': '0' },
        allocatable: { ...alloc, 'ephemeral-storage': '19316009748', 'hugepages-2Mi': '0' },
        conditions: [
          { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory', message: 'kubelet has sufficient memory available', lastHeartbeatTime: timestamp(), lastTransitionTime: timestamp() },
          { type: 'DiskPressure', status: 'False', reason: 'KubeletHasNoDiskPressure', message: 'kubelet has no disk pressure', lastHeartbeatTime: timestamp(), lastTransitionTime: timestamp() },
          { type: 'PIDPressure', status: 'False', reason: 'KubeletHasSufficientPID', message: 'kubelet has sufficient PID available', lastHeartbeatTime: timestamp(), lastTransitionTime: timestamp() },
          { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: timestamp(), lastTransitionTime: timestamp() },
        ],
        addresses: [{ type: 'InternalIP', address: ip }, { type: 'Hostname', address: hostname }],
        nodeInfo: { architecture: arch, operatingSystem: os, osImage: platform.osImage, kernelVersion: platform.kernelVersion, containerRuntimeVersion: os === 'windows' ? 'containerd://1.7.27' : runtime, kubeletVersion: 'v1.32.0', kubeProxyVersion: 'v1.32.0', machineID: randomBytes(16).toString('hex'), systemUUID: randomBytes(16).toString('hex'), bootID: randomBytes(16).toString('hex') },
      },
    };
    const old = this.store.get(NODE, undefined, spec.name);
    if (old) node.metadata = { ...old.obj.metadata, ...node.metadata };
    else Object.assign(node.metadata, { uid: crypto.randomUUID(), creationTimestamp: timestamp() });
    controllerWrite(this.store, NODE, { obj: node, managers: [] }, old?.obj);
  }

  private taintSpec(taints: Taint[], unschedulable: boolean): any {
    // the node lifecycle controller mirrors spec.unschedulable as this taint
    const all = [...taints.filter((t) => t.key !== 'node.kubernetes.io/unschedulable'), ...(unschedulable ? [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule', timeAdded: timestamp() }] : [])];
    return { ...(all.length ? { taints: all } : {}), ...(unschedulable ? { unschedulable: true } : {}) };
  }

  removeNode(name: string): void {
    this.nodeSpecs.delete(name);
    this.store.delete(NODE, undefined, name);
    for (const r of this.store.list(POD)) if (targetNodeName(r.obj) === name) this.store.delete(POD, r.obj.metadata.namespace, r.obj.metadata.name);
  }

  setTaints(node: string, taints: Taint[]): void {
    const rec = this.store.get(NODE, undefined, node);
    if (!rec) throw new Error(`node ${node} does not exist in cluster ${this.id}`);
    const obj = structuredClone(rec.obj);
    const { taints: _t, unschedulable: _u, ...rest } = obj.spec ?? {};
    obj.spec = { ...rest, ...this.taintSpec(taints, !!obj.spec?.unschedulable) };
    const spec = this.nodeSpecs.get(node);
    if (spec) spec.taints = taints;
    controllerWrite(this.store, NODE, { obj, managers: rec.managers }, rec.obj);
  }

  private nodeSpecOf(name: string): NodeSpec {
    return this.nodeSpecs.get(name) ?? { name };
  }

  // ---- reads for tests -----------------------------------------------------------------------------------

  get(apiVersion: string, kind: string, namespace: string | undefined, name: string): any | undefined {
    const t = resourceByKind(apiVersion, kind);
    const rec = t ? this.store.get(t, namespace, name) : undefined;
    return rec ? structuredClone(rec.obj) : undefined;
  }

  list(apiVersion: string, kind: string, namespace?: string): any[] {
    const t = resourceByKind(apiVersion, kind);
    return t ? this.store.list(t, namespace).map((r) => structuredClone(r.obj)) : [];
  }

  /** A kubeconfig for this cluster: a bearer token, or a client certificate (what AKS local accounts get). */
  kubeconfig(user: string | { token?: string; clientCertificate?: { certPem: string; keyPem: string } }): string {
    const name = `sandbox-${this.id}`;
    const u = typeof user === 'string' ? { token: user } : user;
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    return YAML.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name, cluster: { server: this.endpoint, 'certificate-authority-data': b64(this.caPem) } }],
      users: [{ name, user: { ...(u.clientCertificate ? { 'client-certificate-data': b64(u.clientCertificate.certPem), 'client-key-data': b64(u.clientCertificate.keyPem) } : {}), ...(u.token ? { token: u.token } : {}) } }],
      contexts: [{ name, context: { cluster: name, user: name } }],
      'current-context': name,
      preferences: {},
    });
  }

  // ---- controllers ------------------------------------------------------------------------------------------

  private onStoreChange(kind: 'put' | 'delete', t: ResourceType, obj: any): void {
    if (t.kind === 'Pod' && kind === 'delete') {
      const st = this.podStates.get(obj.metadata.uid);
      this.podStates.delete(obj.metadata.uid);
      const node = obj.spec?.nodeName ?? targetNodeName(obj);
      if (st?.readyNotified && node) this.safely(() => this.options.onPodGone?.(structuredClone(obj), this.nodeSpecOf(node)));
    }
    if (!this.reconciling && ['DaemonSet', 'Node', 'Pod', 'Namespace'].includes(t.kind)) this.schedule(Date.now() + RECONCILE_DELAY_MS);
  }

  private safely(fn: () => void): void {
    try {
      fn();
    } catch {
      // a listener's failure must not break the controllers
    }
  }

  private schedule(at: number): void {
    if (this.stopped || at >= this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.reconcile();
    }, Math.max(0, at - Date.now()));
    this.timer.unref();
  }

  /** Runs the controllers until nothing structural changes; returns whether every daemon pod has settled. */
  reconcile(): boolean {
    if (this.stopped) return true;
    this.reconciling = true;
    let wake = Infinity;
    let settled = false;
    try {
      for (let pass = 0; pass < 5; pass++) {
        const r = this.reconcilePass();
        wake = Math.min(wake, r.wakeAt);
        settled = r.settled;
        if (!r.structural) break;
      }
    } finally {
      this.reconciling = false;
    }
    if (wake < Infinity) this.schedule(wake);
    return settled;
  }

  private reconcilePass(): { structural: boolean; settled: boolean; wakeAt: number } {
    const nowMs = Date.now();
    let structural = false;
    let settled = true;
    let wakeAt = Infinity;
    const dsList = this.store.list(DS).map((r) => r.obj);
    const dsUids = new Set(dsList.map((d) => d.metadata.uid));

    // garbage collector: daemon pods and revisions whose owner is gone
    for (const r of this.store.list(REVISION)) {
      const owner = (r.obj.metadata.ownerReferences ?? []).find((o: any) => o.controller && o.kind === 'DaemonSet');
      if (owner && !dsUids.has(owner.uid)) this.store.delete(REVISION, r.obj.metadata.namespace, r.obj.metadata.name);
    }
    for (const r of this.store.list(POD)) {
      const owner = (r.obj.metadata.ownerReferences ?? []).find((o: any) => o.controller && o.kind === 'DaemonSet');
      if (owner && !dsUids.has(owner.uid)) {
        this.store.delete(POD, r.obj.metadata.namespace, r.obj.metadata.name);
        structural = true;
      }
    }

    const nodes = () => this.store.list(NODE).map((r) => r.obj);
    for (const ds of dsList) {
      syncDaemonSet(ds, {
        nodes,
        daemonPods: (d) => this.store.list(POD, d.metadata.namespace).map((r) => r.obj).filter((p) => (p.metadata.ownerReferences ?? []).some((o: any) => o.controller && o.uid === d.metadata.uid)),
        createPod: (pod) => {
          this.createPodInternal(pod);
          this.events.record(ds, 'Normal', 'SuccessfulCreate', `Created pod: ${pod.metadata.name}`, { component: 'daemonset-controller' });
          structural = true;
        },
        deletePod: (pod) => {
          if (!this.store.delete(POD, pod.metadata.namespace, pod.metadata.name)) return;
          this.events.record(ds, 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`, { component: 'daemonset-controller' });
          structural = true;
        },
        writeDaemonSetStatus: (d, status) => {
          const rec = this.store.get(DS, d.metadata.namespace, d.metadata.name)!;
          const obj = structuredClone(rec.obj);
          obj.status = status;
          controllerWrite(this.store, DS, { obj, managers: withStatusManager(rec.managers, 'kube-controller-manager', 'apps/v1', obj) }, rec.obj);
          structural = true;
        },
        revisions: (d) => this.store.list(REVISION, d.metadata.namespace).map((r) => r.obj).filter((rev) => (rev.metadata.ownerReferences ?? []).some((o: any) => o.controller && o.uid === d.metadata.uid)),
        saveRevision: (rev, remove) => {
          const prev = this.store.get(REVISION, rev.metadata.namespace, rev.metadata.name);
          if (remove) {
            if (prev) this.store.delete(REVISION, rev.metadata.namespace, rev.metadata.name);
            return;
          }
          if (!prev) {
            rev.metadata.uid = crypto.randomUUID();
            rev.metadata.creationTimestamp = timestamp();
          }
          controllerWrite(this.store, REVISION, { obj: rev, managers: prev?.managers ?? controllerManagers(rev) }, prev?.obj);
        },
        wakeAt: (at) => (wakeAt = Math.min(wakeAt, at)),
      }, nowMs);
    }

    // scheduler + kubelets
    for (const r of this.store.list(POD)) {
      const st = this.podStates.get(r.obj.metadata.uid) ?? {};
      this.podStates.set(r.obj.metadata.uid, st);
      // a started pod only changes again when its crash-loop restart is due
      if (st.started && r.obj.spec.nodeName && (st.nextRestartAt === undefined || nowMs < st.nextRestartAt)) {
        if (st.nextRestartAt !== undefined) wakeAt = Math.min(wakeAt, st.nextRestartAt);
        continue;
      }
      const pod = structuredClone(r.obj);
      const res = stepPod(pod, st, this.lifecycleContext(), nowMs);
      if (res.wakeAt !== undefined) wakeAt = Math.min(wakeAt, res.wakeAt);
      const unschedulable = pod.status.conditions?.some((c: any) => c.type === 'PodScheduled' && c.status === 'False');
      if (!st.started && !unschedulable) settled = false;
      if (res.changed) {
        const wasReady = isPodReady(r.obj);
        controllerWrite(this.store, POD, { obj: pod, managers: withStatusManager(r.managers, 'kubelet', 'v1', pod) }, r.obj);
        if (isPodReady(pod) !== wasReady || r.obj.spec.nodeName !== pod.spec.nodeName) structural = true;
      }
      if (isPodReady(pod) && !st.readyNotified) {
        st.readyNotified = true;
        this.safely(() => this.options.onPodReady?.(structuredClone(pod), this.nodeSpecOf(pod.spec.nodeName)));
      }
    }
    if (structural) settled = false;
    return { structural, settled, wakeAt };
  }

  private lifecycleContext() {
    return {
      node: (name: string) => this.store.get(NODE, undefined, name)?.obj,
      nodeCount: () => this.store.list(NODE).length,
      hostSockets: (name: string) => hostSocketsOf(this.nodeSpecOf(name)),
      crashingImages: this.options.crashingImages ?? new Set<string>(),
      imagePlatforms: (image: string) => this.options.imagePlatforms?.[image] ?? DEFAULT_IMAGE_PLATFORMS,
      podsOnNode: (name: string) => this.store.list(POD).map((r) => r.obj).filter((p) => p.spec.nodeName === name && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed'),
      event: (pod: any, type: 'Normal' | 'Warning', reason: string, message: string, component: string, host?: string, fieldPath?: string) =>
        this.events.record(pod, type, reason, message, {
          component,
          ...(host ? { host } : {}),
          ...(fieldPath ? { fieldPath } : {}),
          // the scheduler records through events.k8s.io
          ...(component === 'default-scheduler' ? { action: reason === 'Scheduled' ? 'Binding' : 'Scheduling' } : {}),
        }),
    };
  }

  private createPodInternal(pod: any): void {
    pod.metadata.uid = crypto.randomUUID();
    pod.metadata.creationTimestamp = timestamp();
    pod.status = { phase: 'Pending', qosClass: qosClass(pod.spec) };
    controllerWrite(this.store, POD, { obj: pod, managers: controllerManagers(pod) });
  }

  /** Resolves once every DaemonSet's pods exist and have settled (ready, crash-looping or stuck pending). */
  async settle(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let quiet = 0;
    while (Date.now() < deadline) {
      quiet = this.reconcile() ? quiet + 1 : 0;
      if (quiet >= 2) return;
      await new Promise((r) => setTimeout(r, RECONCILE_DELAY_MS));
    }
    throw new ClusterSettleTimeoutError(`cluster ${this.id} did not settle within ${timeoutMs} ms`);
  }

  /** What an etcd compaction does to watchers: every resourceVersion before now becomes too old (410 Expired). */
  expireWatchHistory(): void {
    this.watchCache.compact();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.watchCache.close();
  }
}

/** Windows nodes run containerd behind a named pipe: no Unix socket a Linux pod could mount. */
function hostSocketsOf(spec: NodeSpec): string[] {
  return spec.hostSockets ?? (spec.os === 'windows' ? ['\\\\.\\pipe\\containerd-containerd'] : DEFAULT_HOST_SOCKETS);
}

/** What a node of this OS/architecture reports (Windows Server 2022 nodes also carry their build label). */
function platformInfo(os: 'linux' | 'windows', arch: 'amd64' | 'arm64'): { osImage: string; kernelVersion: string; labels: Record<string, string> } {
  if (os === 'windows') return { osImage: 'Windows Server 2022 Datacenter', kernelVersion: '10.0.20348.2966', labels: { 'node.kubernetes.io/windows-build': '10.0.20348' } };
  return { osImage: 'Amazon Linux 2023.6.20250107', kernelVersion: `6.1.119-129.201.amzn2023.${arch === 'arm64' ? 'aarch64' : 'x86_64'}`, labels: {} };
}

function withStatusManager(managers: ManagerEntry[], manager: string, apiVersion: string, obj: any): ManagerEntry[] {
  const others = managers.filter((m) => !(m.manager === manager && m.subresource === 'status'));
  return [...others, { manager, operation: 'Update', apiVersion, time: timestamp(), subresource: 'status', set: fieldSetOf({ status: obj.status }, 'update') }];
}

function qosClass(spec: any): string {
  const cs: any[] = spec?.containers ?? [];
  const any = cs.some((c) => Object.keys(c.resources?.requests ?? {}).length || Object.keys(c.resources?.limits ?? {}).length);
  if (!any) return 'BestEffort';
  const guaranteed = cs.every((c) => ['cpu', 'memory'].every((r) => c.resources?.limits?.[r] !== undefined && parseQuantity(c.resources?.requests?.[r] ?? c.resources.limits[r]) === parseQuantity(c.resources.limits[r])));
  return guaranteed ? 'Guaranteed' : 'Burstable';
}
