/**
 * Coverage per node, not a count (DESIGN §7, issue 2): every schedulable node (Ready, not cordoned)
 * must run a ready sensor pod of the DaemonSet's current revision. The DaemonSet controller labels its
 * pods `pod-template-generation` with the template generation they were made from
 * (pkg/controller/daemon/util: extensions.DaemonSetTemplateGenerationKey). Uncovered nodes carry the
 * reason a person can see: untolerated taint, pending with the scheduler/kubelet message, crash
 * looping, not ready, old revision, no pod. Pure.
 */
import type { UncoveredNode } from '../types';
import { imageVersion, SENSOR_NAME } from './manifests';
import { isCurrentPod, templateGeneration } from './revision';
import { templateSelectsNode } from './scope';
import type { KubeObject } from './types';

export interface Taint {
  key: string;
  value?: string;
  effect: string;
}

export interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
}

/**
 * Tolerations the DaemonSet controller adds to every daemon pod
 * (https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/#taints-and-tolerations).
 */
export const DAEMON_POD_TOLERATIONS: Toleration[] = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
];

export function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if ((t.operator ?? 'Equal') === 'Exists') return !t.key || t.key === taint.key;
  return t.key === taint.key && (t.value ?? '') === (taint.value ?? '');
}

/** The first NoSchedule/NoExecute taint of the node that none of the tolerations tolerate. */
export function untoleratedTaint(node: KubeObject, tolerations: Toleration[]): Taint | undefined {
  const all = [...tolerations, ...DAEMON_POD_TOLERATIONS];
  return (node.spec?.taints ?? []).find((taint: Taint) => taint.effect !== 'PreferNoSchedule' && !all.some((t) => tolerates(t, taint)));
}

export function describeTaint(t: Taint): string {
  return `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`;
}

export function isReadyNode(node: KubeObject): boolean {
  return (node.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True');
}

export function isSchedulable(node: KubeObject): boolean {
  return node.spec?.unschedulable !== true && isReadyNode(node);
}

export function daemonSetTolerations(ds: KubeObject): Toleration[] {
  return ds.spec?.template?.spec?.tolerations ?? [];
}

/** Node names, plus the host name (label kubernetes.io/hostname) where it differs: Qualys knows sensors by host. */
export function nodeNamesOf(nodes: KubeObject[]): string[] {
  return nodes.flatMap((n) => {
    const host = n.metadata.labels?.['kubernetes.io/hostname'];
    return host && host !== n.metadata.name ? [n.metadata.name, host] : [n.metadata.name];
  });
}

export interface NodeCoverage {
  total: number;
  covered: number;
  uncovered: UncoveredNode[];
  nodeNames: string[];
  sensorVersion?: string;
}

/**
 * `events`: Warning events of the namespace, read only when a pod is stuck without a message in its
 * status; the kubelet reports e.g. a failed hostPath type check only as a FailedMount event.
 * `currentHash`: the current ControllerRevision's hash, read when a pod's generation label is not current
 * (a pod of a reused revision is current by its hash; see revision.ts).
 */
export function nodeCoverage(ds: KubeObject, nodes: KubeObject[], pods: KubeObject[], events: KubeObject[] = [], currentHash?: string): NodeCoverage {
  const schedulable = nodes.filter(isSchedulable);
  const uncovered: UncoveredNode[] = [];
  let sensorVersion: string | undefined;
  for (const node of schedulable) {
    const name = node.metadata.name;
    const pod = podFor(name, pods);
    const reason = pod ? podProblem(pod, ds, events, currentHash) : noPodReason(node, ds);
    if (reason) uncovered.push({ node: name, reason });
    else sensorVersion ??= podSensorVersion(pod!);
  }
  return {
    total: schedulable.length,
    covered: schedulable.length - uncovered.length,
    uncovered,
    nodeNames: nodeNamesOf(schedulable),
    ...(sensorVersion ? { sensorVersion } : {}),
  };
}

function podSensorVersion(pod: KubeObject): string | undefined {
  const containers: any[] = pod.spec?.containers ?? [];
  const image: string | undefined = (containers.find((c) => c?.name === SENSOR_NAME) ?? containers[0])?.image;
  return image ? imageVersion(image) : undefined;
}

/** The pod the controller made for this node: bound to it, or (still pending) pinned to it by node affinity. */
function podFor(nodeName: string, pods: KubeObject[]): KubeObject | undefined {
  const mine = pods.filter((p) => !p.metadata.deletionTimestamp && (p.spec?.nodeName === nodeName || affinityNode(p) === nodeName));
  return mine.sort((a, b) => Number(b.metadata.labels?.['pod-template-generation'] ?? 0) - Number(a.metadata.labels?.['pod-template-generation'] ?? 0))[0];
}

function affinityNode(pod: KubeObject): string | undefined {
  const terms: any[] = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  for (const term of terms) {
    for (const f of term?.matchFields ?? []) if (f?.key === 'metadata.name' && f?.operator === 'In') return f.values?.[0];
  }
  return undefined;
}

const NOT_SELECTED = 'not selected by the sensor DaemonSet';

function noPodReason(node: KubeObject, ds: KubeObject): string {
  const taint = untoleratedTaint(node, daemonSetTolerations(ds));
  if (taint) return `taint ${describeTaint(taint)} not tolerated by the sensor DaemonSet`;
  if (!templateSelectsNode(ds.spec?.template?.spec, node)) return `${NOT_SELECTED}: its nodeSelector/node affinity excludes this node (not set by sensorfleet)`;
  return 'no sensor pod on this node (the DaemonSet controller has not created one yet)';
}

function podProblem(pod: KubeObject, ds: KubeObject, events: KubeObject[], currentHash: string | undefined): string | undefined {
  const statuses: any[] = pod.status?.containerStatuses ?? [];
  const crash = statuses.find((s) => s?.state?.waiting?.reason === 'CrashLoopBackOff');
  if (crash) return `crash looping (CrashLoopBackOff, ${crash.restartCount ?? 0} restarts)${lastExit(crash)}`;
  if ((pod.status?.phase ?? 'Pending') === 'Pending') return `pending: ${pendingMessage(pod)}${latestWarning(pod, events)}`;
  const podGeneration = pod.metadata.labels?.['pod-template-generation'];
  const ready = (pod.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True');
  if (podGeneration !== undefined && !isCurrentPod(pod, ds, currentHash)) {
    return `old revision (pod of template generation ${podGeneration}, DaemonSet at ${templateGeneration(ds)}): rolling update in progress${ready ? '' : ', pod not ready'}`;
  }
  if (pod.status?.phase !== 'Running') return `pod ${pod.metadata.name} is ${pod.status?.phase}`;
  if (!ready) {
    const waiting = statuses.find((s) => s?.state?.waiting)?.state?.waiting;
    return `not ready${waiting ? ` (${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''})` : ''}`;
  }
  return undefined;
}

function lastExit(status: any): string {
  const t = status?.lastState?.terminated;
  return t ? `, last exit ${t.exitCode ?? '?'}${t.reason ? ` ${t.reason}` : ''}` : '';
}

/** Uncovered for a reason that waiting will not change: an untolerated taint, a placement that excludes the node. */
export function waitingWontHelp(reason: string): boolean {
  return reason.startsWith('taint ') || reason.startsWith(NOT_SELECTED);
}

/** True when the pod's status alone does not say why it waits (ContainerCreating without a message). */
export function needsEvents(pod: KubeObject): boolean {
  if ((pod.status?.phase ?? 'Pending') !== 'Pending') return false;
  const unscheduled = (pod.status?.conditions ?? []).some((c: any) => c.type === 'PodScheduled' && c.status === 'False');
  const waiting = (pod.status?.containerStatuses ?? []).find((s: any) => s?.state?.waiting)?.state?.waiting;
  return !unscheduled && !waiting?.message;
}

function latestWarning(pod: KubeObject, events: KubeObject[]): string {
  const mine = events.filter((e) => e.type === 'Warning' && e.involvedObject?.kind === 'Pod' && e.involvedObject?.name === pod.metadata.name);
  const last = mine.sort((a, b) => String(a.lastTimestamp ?? '').localeCompare(String(b.lastTimestamp ?? '')))[mine.length - 1];
  return last ? ` (${last.reason}: ${last.message})` : '';
}

function pendingMessage(pod: KubeObject): string {
  const conditions: any[] = pod.status?.conditions ?? [];
  const unscheduled = conditions.find((c) => c.type === 'PodScheduled' && c.status === 'False');
  if (unscheduled) return `${unscheduled.reason ?? 'Unschedulable'}: ${unscheduled.message ?? 'not scheduled'}`;
  const waiting = (pod.status?.containerStatuses ?? []).find((s: any) => s?.state?.waiting)?.state?.waiting;
  if (waiting) return `${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}`;
  const other = conditions.find((c) => c.status === 'False' && c.message);
  if (other) return `${other.reason ?? other.type}: ${other.message}`;
  return pod.status?.message ?? pod.status?.reason ?? 'waiting to start';
}
