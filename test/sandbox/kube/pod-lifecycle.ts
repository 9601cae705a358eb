/**
 * What the scheduler and the kubelet do to a pod, reduced to the outcomes sensorfleet must tell apart
 * (https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/):
 * - scheduling: bind to the target node when it fits (requests vs allocatable) and taints are tolerated;
 *   otherwise Pending with PodScheduled=False/Unschedulable and a FailedScheduling event;
 * - ~100 ms after binding: a hostPath volume of type Socket whose path the node lacks keeps the pod in
 *   ContainerCreating with a FailedMount event (the kubelet's hostPath type check); an image listed in
 *   crashingImages crash-loops (CrashLoopBackOff, restartCount growing); an image whose manifest list has
 *   no entry for the node's os/arch fails to pull (ErrImagePull, then ImagePullBackOff, like containerd's
 *   "no match for platform in manifest"); anything else is Running and Ready. Volumes are mounted before
 *   images are pulled (kubelet syncPod: WaitForAttachAndMount, then the runtime's SyncPod).
 */
import { parseQuantity } from './quantity';
import { nodeMatches, podRequests, untoleratedTaint } from './scheduling';
import { targetNodeName } from './daemonset-controller';
import { timestamp } from './registry';

export const START_DELAY_MS = 100;
const CRASH_BACKOFF_BASE_MS = 300;
const CRASH_BACKOFF_MAX_MS = 5000;

export interface PodRuntimeState {
  boundAt?: number;
  started?: boolean;
  readyNotified?: boolean;
  nextRestartAt?: number;
}

export interface LifecycleContext {
  node(name: string): any | undefined;
  nodeCount(): number;
  hostSockets(node: string): string[];
  crashingImages: Set<string>;
  /** "os/arch" entries of the image's manifest list. */
  imagePlatforms(image: string): string[];
  /** Pods bound to the node (for the resource fit check). */
  podsOnNode(node: string): any[];
  event(pod: any, type: 'Normal' | 'Warning', reason: string, message: string, component: string, host?: string, fieldPath?: string): void;
}

function setCondition(pod: any, type: string, status: 'True' | 'False', reason?: string, message?: string): void {
  const conds: any[] = (pod.status.conditions ??= []);
  const existing = conds.find((c) => c.type === type);
  const next = { type, status, lastProbeTime: null, lastTransitionTime: timestamp(), ...(reason ? { reason } : {}), ...(message ? { message } : {}) };
  if (!existing) conds.push(next);
  else if (existing.status !== status || existing.reason !== reason || existing.message !== message) {
    if (existing.status === status) next.lastTransitionTime = existing.lastTransitionTime;
    Object.assign(existing, next);
    if (!reason) delete existing.reason;
    if (!message) delete existing.message;
  }
}

function insufficient(pod: any, node: any, others: any[]): string[] {
  const alloc = node.status?.allocatable ?? {};
  const want = podRequests(pod.spec);
  const used = others.reduce((acc, p) => {
    const r = podRequests(p.spec);
    return { cpu: acc.cpu + r.cpu, memory: acc.memory + r.memory };
  }, { cpu: 0, memory: 0 });
  const out: string[] = [];
  if (want.cpu + used.cpu > parseQuantity(alloc.cpu ?? '0') + 1e-9) out.push('cpu');
  if (want.memory + used.memory > parseQuantity(alloc.memory ?? '0')) out.push('memory');
  if (others.length + 1 > parseQuantity(alloc.pods ?? '110')) out.push('pods');
  return out;
}

/** One step for one pod. Mutates `pod`; returns true when it changed, and the time it next needs a look. */
export function stepPod(pod: any, st: PodRuntimeState, ctx: LifecycleContext, nowMs: number): { changed: boolean; wakeAt?: number } {
  const before = JSON.stringify(pod.status);
  const beforeNode = pod.spec.nodeName;
  pod.status ??= { phase: 'Pending' };
  let wakeAt: number | undefined;

  if (!pod.spec.nodeName) {
    const target = targetNodeName(pod);
    const node = target ? ctx.node(target) : undefined;
    const total = ctx.nodeCount();
    const reasons: string[] = [];
    // a daemon pod is pinned to its node by matchFields; its nodeSelector is checked by the scheduler too
    if (!node || !nodeMatches(pod.spec, node)) reasons.push(`${total} node(s) didn't match Pod's node affinity/selector`);
    else {
      const taint = untoleratedTaint(pod.spec.tolerations ?? [], node.spec?.taints ?? []);
      if (taint) reasons.push(`1 node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}`);
      else for (const r of insufficient(pod, node, ctx.podsOnNode(target!).filter((p) => p !== pod && p.metadata.uid !== pod.metadata.uid))) reasons.push(`1 Insufficient ${r}`);
      if (reasons.length > 0 && total > 1) reasons.push(`${total - 1} node(s) didn't match Pod's node affinity/selector`);
    }
    if (reasons.length > 0) {
      const message = `0/${total} nodes are available: ${reasons.join(', ')}.`;
      const wasSame = pod.status.conditions?.some((c: any) => c.type === 'PodScheduled' && c.message === message);
      setCondition(pod, 'PodScheduled', 'False', 'Unschedulable', message);
      if (!wasSame) ctx.event(pod, 'Warning', 'FailedScheduling', message, 'default-scheduler');
      return { changed: JSON.stringify(pod.status) !== before };
    }
    pod.spec.nodeName = target;
    st.boundAt = nowMs;
    setCondition(pod, 'PodScheduled', 'True');
    ctx.event(pod, 'Normal', 'Scheduled', `Successfully assigned ${pod.metadata.namespace}/${pod.metadata.name} to ${target}`, 'default-scheduler');
  }

  const nodeName: string = pod.spec.nodeName;
  st.boundAt ??= nowMs;
  if (nowMs < st.boundAt + START_DELAY_MS) {
    return { changed: JSON.stringify(pod.status) !== before || beforeNode !== pod.spec.nodeName, wakeAt: st.boundAt + START_DELAY_MS };
  }
  const node = ctx.node(nodeName);
  pod.status.hostIP ??= node?.status?.addresses?.find((a: any) => a.type === 'InternalIP')?.address;
  pod.status.startTime ??= timestamp();
  setCondition(pod, 'Initialized', 'True');

  const sockets = ctx.hostSockets(nodeName);
  const badMount = (pod.spec.volumes ?? []).find((v: any) => v.hostPath?.type === 'Socket' && !sockets.includes(v.hostPath.path));
  const containers: any[] = pod.spec.containers ?? [];
  if (badMount) {
    pod.status.phase = 'Pending';
    setCondition(pod, 'ContainersReady', 'False', 'ContainersNotReady', `containers with unready status: [${containers.map((c) => c.name).join(' ')}]`);
    setCondition(pod, 'Ready', 'False', 'ContainersNotReady', `containers with unready status: [${containers.map((c) => c.name).join(' ')}]`);
    pod.status.containerStatuses = containers.map((c) => ({ name: c.name, image: c.image, imageID: '', ready: false, restartCount: 0, started: false, state: { waiting: { reason: 'ContainerCreating' } }, lastState: {} }));
    if (!st.started) {
      st.started = true;
      ctx.event(pod, 'Warning', 'FailedMount', `MountVolume.SetUp failed for volume "${badMount.name}" : hostPath type check failed: ${badMount.hostPath.path} is not a socket file`, 'kubelet', nodeName);
    }
    return { changed: JSON.stringify(pod.status) !== before || beforeNode !== pod.spec.nodeName };
  }

  const platform = `${node?.status?.nodeInfo?.operatingSystem ?? 'linux'}/${node?.status?.nodeInfo?.architecture ?? 'amd64'}`;
  const unpullable = containers.filter((c) => !ctx.imagePlatforms(c.image).includes(platform));
  if (unpullable.length > 0) {
    const first = !st.started;
    pod.status.phase = 'Pending';
    const names = unpullable.map((c) => c.name).join(' ');
    setCondition(pod, 'ContainersReady', 'False', 'ContainersNotReady', `containers with unready status: [${names}]`);
    setCondition(pod, 'Ready', 'False', 'ContainersNotReady', `containers with unready status: [${names}]`);
    pod.status.containerStatuses = containers.map((c) => {
      if (!unpullable.includes(c)) return { name: c.name, image: c.image, imageID: '', ready: false, restartCount: 0, started: false, state: { waiting: { reason: 'PodInitializing' } }, lastState: {} };
      const waiting = first ? { reason: 'ErrImagePull', message: pullError(c.image, platform) } : { reason: 'ImagePullBackOff', message: `Back-off pulling image "${c.image}"` };
      return { name: c.name, image: c.image, imageID: '', ready: false, restartCount: 0, started: false, state: { waiting }, lastState: {} };
    });
    if (first) {
      st.started = true;
      st.nextRestartAt = nowMs + CRASH_BACKOFF_BASE_MS;
      ctx.event(pod, 'Warning', 'Failed', `Failed to pull image "${unpullable[0]!.image}": ${pullError(unpullable[0]!.image, platform)}`, 'kubelet', nodeName);
      return { changed: true, wakeAt: st.nextRestartAt };
    }
    st.nextRestartAt = undefined;
    return { changed: JSON.stringify(pod.status) !== before || beforeNode !== pod.spec.nodeName };
  }

  pod.status.phase = 'Running';
  pod.status.podIP ??= podIp();
  pod.status.podIPs ??= [{ ip: pod.status.podIP }];
  const crashing = containers.filter((c) => ctx.crashingImages.has(c.image));
  if (crashing.length > 0) {
    const prev = new Map<string, any>((pod.status.containerStatuses ?? []).map((s: any) => [s.name, s]));
    const due = st.nextRestartAt === undefined || nowMs >= st.nextRestartAt;
    pod.status.containerStatuses = containers.map((c) => {
      const p = prev.get(c.name);
      if (!ctx.crashingImages.has(c.image)) return running(c, p);
      const restarts = (p?.restartCount ?? -1) + (due ? 1 : 0);
      return {
        name: c.name, image: c.image, imageID: imageId(c.image), containerID: `containerd://${pod.metadata.uid.replace(/-/g, '')}${restarts}`,
        ready: false, started: false, restartCount: Math.max(0, restarts),
        state: { waiting: { reason: 'CrashLoopBackOff', message: `back-off ${Math.min(10 * 2 ** Math.max(0, restarts), 300)}s restarting failed container=${c.name} pod=${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})` } },
        lastState: { terminated: { exitCode: 1, reason: 'Error', startedAt: timestamp(), finishedAt: timestamp(), containerID: `containerd://${pod.metadata.uid.replace(/-/g, '')}` } },
      };
    });
    const names = crashing.map((c) => c.name).join(' ');
    setCondition(pod, 'ContainersReady', 'False', 'ContainersNotReady', `containers with unready status: [${names}]`);
    setCondition(pod, 'Ready', 'False', 'ContainersNotReady', `containers with unready status: [${names}]`);
    if (due) {
      const restarts = Math.max(...pod.status.containerStatuses.map((s: any) => s.restartCount));
      st.nextRestartAt = nowMs + Math.min(CRASH_BACKOFF_BASE_MS * 2 ** restarts, CRASH_BACKOFF_MAX_MS);
      ctx.event(pod, 'Warning', 'BackOff', `Back-off restarting failed container ${crashing[0]!.name} in pod ${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`, 'kubelet', nodeName);
    }
    st.started = true;
    wakeAt = st.nextRestartAt;
  } else {
    const prev = new Map<string, any>((pod.status.containerStatuses ?? []).map((s: any) => [s.name, s]));
    pod.status.containerStatuses = containers.map((c) => running(c, prev.get(c.name)));
    setCondition(pod, 'ContainersReady', 'True');
    setCondition(pod, 'Ready', 'True');
    if (!st.started) {
      st.started = true;
      for (const c of containers) containerStartEvents(ctx, pod, c, nodeName);
    }
  }
  return { changed: JSON.stringify(pod.status) !== before || beforeNode !== pod.spec.nodeName, ...(wakeAt !== undefined ? { wakeAt } : {}) };
}

/** The kubelet's events for a container it starts (pkg/kubelet/images, kuberuntime_container.go). */
function containerStartEvents(ctx: LifecycleContext, pod: any, c: any, node: string): void {
  const at = `spec.containers{${c.name}}`;
  if (c.imagePullPolicy === 'Always') {
    ctx.event(pod, 'Normal', 'Pulling', `Pulling image "${c.image}"`, 'kubelet', node, at);
    ctx.event(pod, 'Normal', 'Pulled', `Successfully pulled image "${c.image}" in 412ms (412ms including waiting). Image size: 48132771 bytes.`, 'kubelet', node, at);
  } else ctx.event(pod, 'Normal', 'Pulled', `Container image "${c.image}" already present on machine`, 'kubelet', node, at);
  ctx.event(pod, 'Normal', 'Created', `Created container: ${c.name}`, 'kubelet', node, at);
  ctx.event(pod, 'Normal', 'Started', `Started container ${c.name}`, 'kubelet', node, at);
}

/** containerd's pull error when the manifest list lacks the node's platform. */
function pullError(image: string, platform: string): string {
  const ref = image.includes('/') && image.split('/')[0]!.includes('.') ? image : `docker.io/${image.includes('/') ? image : `library/${image}`}`;
  return `rpc error: code = NotFound desc = failed to pull and unpack image "${ref}": no match for platform in manifest: not found`;
}

function running(c: any, prev: any): any {
  if (prev?.state?.running) return prev;
  return {
    name: c.name, image: c.image, imageID: imageId(c.image), containerID: `containerd://${randomHex(32)}`,
    ready: true, started: true, restartCount: prev?.restartCount ?? 0,
    state: { running: { startedAt: timestamp() } }, lastState: prev?.lastState ?? {},
  };
}

function imageId(image: string): string {
  return `${image.split(':')[0]}@sha256:${randomHex(64)}`;
}

function randomHex(n: number): string {
  let s = '';
  while (s.length < n) s += Math.floor(Math.random() * 0xffffffff).toString(16).padStart(8, '0');
  return s.slice(0, n);
}

let ipCounter = 0;
function podIp(): string {
  ipCounter = (ipCounter + 1) % 65000;
  return `10.244.${Math.floor(ipCounter / 250)}.${(ipCounter % 250) + 2}`;
}
