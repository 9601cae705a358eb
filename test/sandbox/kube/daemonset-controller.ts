/**
 * The DaemonSet controller (pkg/controller/daemon in kube-controller-manager;
 * https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/ and
 * https://kubernetes.io/docs/tasks/manage-daemon/update-daemon-set/): one pod per eligible node, rolling
 * updates bounded by maxUnavailable, and status computed from the node list like updateDaemonSetStatus.
 */
import { fieldSetOf, stripForFieldSet, deepEqual } from './fieldsets';
import { defaultPodSpec } from './defaults';
import { DAEMON_TOLERATIONS, nodeMatches, untoleratedTaint } from './scheduling';
import type { ManagerEntry } from './store';
import { randomSuffix, timestamp } from './registry';

export interface ControllerContext {
  nodes(): any[];
  daemonPods(ds: any): any[];
  createPod(pod: any): void;
  deletePod(pod: any): void;
  writeDaemonSetStatus(ds: any, status: any): void;
  /** The ControllerRevisions the DaemonSet owns. */
  revisions(ds: any): any[];
  /** Creates or updates (same name) a ControllerRevision; deletes it when `remove`. */
  saveRevision(rev: any, remove?: boolean): void;
  /** Asks to run again at `at` (ms epoch), e.g. when minReadySeconds elapses. */
  wakeAt(at: number): void;
}

const ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789';

/** controller.ComputeHash: FNV-32a of the template, the decimal digits mapped with rand.SafeEncodeString. */
export function templateHash(template: any): string {
  const data = stableStringify(template);
  let h = 0x811c9dc5;
  for (let i = 0; i < data.length; i++) {
    h ^= data.charCodeAt(i) & 0xff;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return [...String(h)].map((c) => ALPHANUMS[c.charCodeAt(0) % ALPHANUMS.length]).join('');
}

function stableStringify(v: any): string {
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(',')}]`;
  if (v && typeof v === 'object') return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${stableStringify(v[k])}`).join(',')}}`;
  return JSON.stringify(v);
}

/** util.GetTargetNodeName: spec.nodeName, or the metadata.name matchField the controller put in the affinity. */
export function targetNodeName(pod: any): string | undefined {
  if (pod.spec?.nodeName) return pod.spec.nodeName;
  for (const term of pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? []) {
    for (const f of term.matchFields ?? []) if (f.key === 'metadata.name' && f.operator === 'In' && f.values?.length === 1) return f.values[0];
  }
  return undefined;
}

export function nodeTaints(node: any): any[] {
  return node.spec?.taints ?? [];
}

function daemonTolerations(spec: any): any[] {
  const own: any[] = spec?.tolerations ?? [];
  const extra = DAEMON_TOLERATIONS.filter((d) => !own.some((t) => t.key === d.key && t.effect === d.effect));
  return [...own, ...extra];
}

/** NodeShouldRunDaemonPod: [shouldRun (may place a new pod), shouldContinueRunning (an existing pod may stay)]. */
export function nodeShouldRunDaemonPod(node: any, ds: any): [boolean, boolean] {
  const spec = ds.spec?.template?.spec ?? {};
  if (spec.nodeName && spec.nodeName !== node.metadata.name) return [false, false];
  if (!nodeMatches(spec, node)) return [false, false];
  const tol = daemonTolerations(spec);
  const taints = nodeTaints(node);
  const noExecute = untoleratedTaint(tol, taints.filter((t) => t.effect === 'NoExecute'));
  if (noExecute) return [false, false];
  return [!untoleratedTaint(tol, taints), true];
}

export const isPodReady = (pod: any) => (pod.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True');

function isPodAvailable(pod: any, minReadySeconds: number, nowMs: number): boolean {
  if (!isPodReady(pod)) return false;
  if (minReadySeconds <= 0) return true;
  const since = Date.parse((pod.status.conditions as any[]).find((c) => c.type === 'Ready').lastTransitionTime);
  return since + minReadySeconds * 1000 <= nowMs;
}

function isPodUpdated(pod: any, hash: string, templateGeneration: string | undefined): boolean {
  const l = pod.metadata.labels ?? {};
  return l['controller-revision-hash'] === hash || (templateGeneration !== undefined && l['pod-template-generation'] === templateGeneration);
}

const byCreation = (a: any, b: any) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') || (a.metadata._seq ?? 0) - (b.metadata._seq ?? 0);

/** intstr.GetScaledValueFromIntOrPercent(maxUnavailable, desired, roundUp=true), at least 1 when maxSurge is 0. */
export function maxUnavailableOf(ds: any, desired: number): number {
  const v = ds.spec?.updateStrategy?.rollingUpdate?.maxUnavailable ?? 1;
  let n: number;
  if (typeof v === 'string' && v.endsWith('%')) n = Math.ceil((Number(v.slice(0, -1)) * desired) / 100);
  else n = Number(v);
  if (!Number.isFinite(n) || n < 0) n = 1;
  if (desired > 0 && n === 0) n = 1;
  return n;
}

function newDaemonPod(ds: any, nodeName: string, hash: string, templateGeneration: string): any {
  const tpl = structuredClone(ds.spec.template ?? {});
  const spec = tpl.spec ?? {};
  spec.tolerations = daemonTolerations(spec);
  // util.ReplaceDaemonSetPodNodeNameNodeAffinity: the template's required node selector terms are REPLACED
  // by one matchFields term naming the node (the controller already checked the node matches them);
  // preferred terms and pod (anti-)affinity stay as they are
  const field = { key: 'metadata.name', operator: 'In', values: [nodeName] };
  spec.affinity = { ...(spec.affinity ?? {}), nodeAffinity: { ...(spec.affinity?.nodeAffinity ?? {}), requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [field] }] } } };
  defaultPodSpec(spec);
  spec.enableServiceLinks ??= true;
  spec.priority ??= 0;
  spec.preemptionPolicy ??= 'PreemptLowerPriority';
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `${ds.metadata.name}-${randomSuffix(5)}`,
      generateName: `${ds.metadata.name}-`,
      namespace: ds.metadata.namespace,
      labels: { ...(tpl.metadata?.labels ?? {}), 'controller-revision-hash': hash, 'pod-template-generation': templateGeneration },
      ...(tpl.metadata?.annotations ? { annotations: tpl.metadata.annotations } : {}),
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: ds.metadata.name, uid: ds.metadata.uid, controller: true, blockOwnerDeletion: true }],
    },
    spec,
  };
}

/** The kube-controller-manager's managedFields entry for a pod it creates. */
export function controllerManagers(pod: any): ManagerEntry[] {
  return [{ manager: 'kube-controller-manager', operation: 'Update', apiVersion: 'v1', time: timestamp(), set: fieldSetOf(stripForFieldSet(pod, true), 'update') }];
}

/**
 * constructHistory + cleanupHistory (pkg/controller/daemon/update.go): the current template has a
 * ControllerRevision named <ds>-<hash>, labelled with the hash; a template equal to an earlier one
 * reuses that revision and moves it to the top (revision = highest + 1), so pods already made from it
 * count as updated. Beyond revisionHistoryLimit, the oldest revisions no live pod uses are deleted.
 */
function constructHistory(ds: any, hash: string, ctx: ControllerContext): void {
  const history = ctx.revisions(ds);
  const top = history.reduce((m, r) => Math.max(m, Number(r.revision ?? 0)), 0);
  const current = history.find((r) => r.metadata.labels?.['controller-revision-hash'] === hash);
  if (!current) {
    ctx.saveRevision({
      apiVersion: 'apps/v1',
      kind: 'ControllerRevision',
      metadata: {
        name: `${ds.metadata.name}-${hash}`,
        namespace: ds.metadata.namespace,
        labels: { ...(ds.spec?.template?.metadata?.labels ?? {}), 'controller-revision-hash': hash },
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: ds.metadata.name, uid: ds.metadata.uid, controller: true, blockOwnerDeletion: true }],
      },
      data: { spec: { template: { ...structuredClone(ds.spec?.template ?? {}), $patch: 'replace' } } },
      revision: top + 1,
    });
  } else if (Number(current.revision ?? 0) < top) {
    ctx.saveRevision({ ...structuredClone(current), revision: top + 1 });
  }
  const limit = Number(ds.spec?.revisionHistoryLimit ?? 10);
  const inUse = new Set(ctx.daemonPods(ds).map((p) => p.metadata.labels?.['controller-revision-hash']));
  const old = ctx.revisions(ds).filter((r) => r.metadata.labels?.['controller-revision-hash'] !== hash && !inUse.has(r.metadata.labels?.['controller-revision-hash']));
  old.sort((a, b) => Number(a.revision ?? 0) - Number(b.revision ?? 0));
  for (const r of old.slice(0, Math.max(0, old.length - limit))) ctx.saveRevision(r, true);
}

/** One sync of one DaemonSet (syncDaemonSet → manage → rollingUpdate → updateDaemonSetStatus). */
export function syncDaemonSet(ds: any, ctx: ControllerContext, nowMs: number): void {
  if (ds.metadata.deletionTimestamp) return;
  const hash = templateHash(ds.spec?.template ?? {});
  const tplGen = ds.metadata.annotations?.['deprecated.daemonset.template.generation'] ?? String(ds.metadata.generation ?? 1);
  const nodes = ctx.nodes();
  const nodeNames = new Set(nodes.map((n) => n.metadata.name));
  const minReady = Number(ds.spec?.minReadySeconds ?? 0);

  constructHistory(ds, hash, ctx);

  const nodeToPods = new Map<string, any[]>();
  for (const pod of ctx.daemonPods(ds)) {
    const n = targetNodeName(pod);
    if (!n || !nodeNames.has(n)) {
      ctx.deletePod(pod); // orphaned by a removed node
      continue;
    }
    nodeToPods.set(n, [...(nodeToPods.get(n) ?? []), pod]);
  }

  // manage: create missing pods, delete extra / misplaced / failed ones
  for (const node of nodes) {
    const name = node.metadata.name;
    const [shouldRun, shouldContinue] = nodeShouldRunDaemonPod(node, ds);
    const pods = (nodeToPods.get(name) ?? []).sort(byCreation);
    if (shouldRun && pods.length === 0) {
      const pod = newDaemonPod(ds, name, hash, tplGen);
      ctx.createPod(pod);
      nodeToPods.set(name, [pod]);
    } else if (shouldContinue) {
      const alive = pods.filter((p) => p.status?.phase !== 'Failed');
      for (const p of pods.filter((p) => p.status?.phase === 'Failed')) ctx.deletePod(p);
      for (const p of alive.slice(1)) ctx.deletePod(p);
      nodeToPods.set(name, alive.slice(0, 1));
    } else {
      for (const p of pods) ctx.deletePod(p);
      nodeToPods.delete(name);
    }
  }

  // rollingUpdate (maxSurge 0): delete old pods while the unavailable count stays within maxUnavailable
  if ((ds.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate') {
    const desired = nodes.filter((n) => nodeShouldRunDaemonPod(n, ds)[0]).length;
    const maxUnavailable = maxUnavailableOf(ds, desired);
    let numUnavailable = 0;
    const replaceNow: any[] = [];
    const candidates: any[] = [];
    for (const [, pods] of nodeToPods) {
      const pod = pods[0];
      if (!pod) continue;
      const updated = isPodUpdated(pod, hash, tplGen);
      const available = isPodAvailable(pod, minReady, nowMs);
      if (updated) {
        if (!available) numUnavailable++;
      } else if (!available) replaceNow.push(pod);
      else candidates.push(pod);
    }
    for (const n of nodes) if (nodeShouldRunDaemonPod(n, ds)[0] && !(nodeToPods.get(n.metadata.name)?.length)) numUnavailable++;
    numUnavailable += replaceNow.length;
    const budget = Math.max(0, maxUnavailable - numUnavailable);
    for (const p of [...replaceNow, ...candidates.slice(0, budget)]) ctx.deletePod(p);
    for (const p of replaceNow.concat(candidates.slice(0, budget))) {
      const n = targetNodeName(p)!;
      nodeToPods.set(n, (nodeToPods.get(n) ?? []).filter((x) => x !== p));
    }
  }

  // updateDaemonSetStatus
  let desired = 0, current = 0, misscheduled = 0, ready = 0, available = 0, updated = 0;
  let nextWake = Infinity;
  for (const node of nodes) {
    const [shouldRun] = nodeShouldRunDaemonPod(node, ds);
    const pods = (nodeToPods.get(node.metadata.name) ?? []).sort(byCreation);
    if (shouldRun) {
      desired++;
      const pod = pods[0];
      if (!pod) continue;
      current++;
      if (isPodReady(pod)) {
        ready++;
        if (isPodAvailable(pod, minReady, nowMs)) available++;
        else {
          const since = Date.parse((pod.status.conditions as any[]).find((c) => c.type === 'Ready').lastTransitionTime);
          nextWake = Math.min(nextWake, since + minReady * 1000 + 5);
        }
      }
      if (isPodUpdated(pod, hash, tplGen)) updated++;
    } else if (pods.length > 0) misscheduled++;
  }
  if (nextWake < Infinity) ctx.wakeAt(nextWake);
  // omitempty fields are left out when zero, as the real API server serialises DaemonSetStatus
  const status: any = { currentNumberScheduled: current, numberMisscheduled: misscheduled, desiredNumberScheduled: desired, numberReady: ready };
  if (ds.metadata.generation) status.observedGeneration = ds.metadata.generation;
  if (updated) status.updatedNumberScheduled = updated;
  if (available) status.numberAvailable = available;
  if (desired - available) status.numberUnavailable = desired - available;
  if (!deepEqual(ds.status, status)) ctx.writeDaemonSetStatus(ds, status);
}
