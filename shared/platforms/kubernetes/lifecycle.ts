/**
 * observe / plan / apply / verify for any Kubernetes cluster. Cloud adapters (EKS now, AKS/GKE later)
 * only connect and build a KubeClient; everything else is here.
 *
 * Request budget for an in-sync cluster (DESIGN §7): observe reads each managed object once and lists
 * nodes once; verify reuses both and answers from the DaemonSet's status when it proves every eligible
 * node runs an available pod of the current revision. Pods are listed only when it does not.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ApplyOutcome, ClusterPlan, ConnectedCluster, Coverage, DesiredSensor, PlanOptions, VerifyOptions } from '../types';
import { applyKubernetesPlan } from './apply';
import type { KubeClient } from './client';
import { daemonSetTolerations, isSchedulable, needsEvents, nodeCoverage, nodeNamesOf, untoleratedTaint } from './coverage';
import { daemonSetRollout, type RolloutHealth } from './health';
import { buildSensorObjects, daemonSet as desiredDaemonSet, NAME_LABEL, SENSOR_NAME } from './manifests';
import { objectKey, planKubernetes, sensorVersionOf, type KubeAction, type KubeObserved } from './plan';
import { refOf, type KubeObject, type ObjectRef } from './types';

export interface KubeHandle {
  kube: KubeClient;
  /** What observe read, reused by verify when nothing was applied in between. */
  observed?: KubeObserved;
}

export async function observeKubernetes(client: KubeClient, cluster: string, desired: DesiredSensor, now: Date = new Date()): Promise<KubeObserved> {
  const refs = buildSensorObjects(desired).map(refOf);
  const [objects, nodes] = await Promise.all([
    Promise.all(refs.map(async (ref) => ({ ref, live: await client.get(ref) }))),
    client.list('v1', 'Node'),
  ]);
  return { cluster, observedAt: now.toISOString(), objects: objects.map((o) => (o.live ? o : { ref: o.ref })), nodes };
}

export function daemonSetRef(desired: DesiredSensor): ObjectRef {
  return refOf(desiredDaemonSet(desired));
}

/**
 * Polls until every schedulable node is covered, or the deadline passes (then 'stuck' with the
 * reason). Nodes whose only problem is an untolerated taint will not change by waiting, so they do not
 * hold the wait.
 */
export async function verifyKubernetes(
  client: KubeClient,
  desired: DesiredSensor,
  options: VerifyOptions,
  reuse?: { daemonSet?: KubeObject; nodes: KubeObject[] },
): Promise<Coverage> {
  const deadline = Date.now() + options.deadlineMs;
  const dsRef = daemonSetRef(desired);
  for (let poll = 0; ; poll++) {
    const first = poll === 0 && reuse !== undefined;
    const [ds, nodes] = first ? [reuse.daemonSet, reuse.nodes] : await Promise.all([client.get(dsRef), client.list('v1', 'Node')]);
    const expired = Date.now() >= deadline;
    if (!ds) {
      const schedulable = nodes.filter(isSchedulable);
      if (expired || schedulable.length === 0) {
        return {
          total: schedulable.length,
          covered: 0,
          uncovered: schedulable.map((n) => ({ node: n.metadata.name, reason: `no sensor DaemonSet ${dsRef.namespace}/${dsRef.name}` })),
          rollout: { state: schedulable.length === 0 ? 'complete' : 'stuck', message: `DaemonSet ${dsRef.namespace}/${dsRef.name} does not exist` },
          nodeNames: nodeNamesOf(schedulable),
        };
      }
    } else {
      const rollout = daemonSetRollout(ds);
      if (fullyCoveredByStatus(ds, nodes, rollout)) {
        const schedulable = nodes.filter(isSchedulable);
        const version = sensorVersionOf(ds);
        return { total: schedulable.length, covered: schedulable.length, uncovered: [], rollout, nodeNames: nodeNamesOf(schedulable), ...(version ? { sensorVersion: version } : {}) };
      }
      const pods = await client.list('v1', 'Pod', { namespace: dsRef.namespace, labelSelector: selectorOf(ds) });
      const events = pods.some(needsEvents) ? await client.list('v1', 'Event', { namespace: dsRef.namespace, fieldSelector: 'type=Warning,involvedObject.kind=Pod' }) : [];
      const c = nodeCoverage(ds, nodes, pods, events);
      // Done when every schedulable node runs a ready pod of the current generation, apart from nodes
      // whose taint we do not tolerate (waiting will not change those). The controller's counts alone
      // are not the test: NotReady or cordoned nodes can hold them back forever (kubernetes#63465).
      const done = c.uncovered.every((u) => u.reason.startsWith('taint '));
      if (done || expired) {
        const waited = `not finished within ${Math.round(options.deadlineMs / 1000)} s`;
        const stuckWhy = c.uncovered.filter((u) => !u.reason.startsWith('taint ')).slice(0, 3).map((u) => `${u.node}: ${u.reason}`).join('; ');
        const message = rollout.state === 'complete' ? rollout.message : `every schedulable node runs the current sensor; ${rollout.message} (the others are on nodes that are not Ready or are cordoned)`;
        return {
          total: c.total,
          covered: c.covered,
          uncovered: c.uncovered,
          rollout: done ? { state: 'complete', message } : { state: 'stuck', message: `${rollout.message}; ${waited}${stuckWhy ? `; ${stuckWhy}` : ''}` },
          nodeNames: c.nodeNames,
          ...(c.sensorVersion ? { sensorVersion: c.sensorVersion } : {}),
        };
      }
    }
    await sleep(Math.max(0, Math.min(options.pollMs, deadline - Date.now())));
  }
}

/**
 * The status fast path: the rollout is complete, no schedulable node has a taint we do not tolerate,
 * and the controller's own count of eligible nodes equals ours with every one updated and available.
 * Then every schedulable node runs an available pod of the current revision without listing pods.
 */
function fullyCoveredByStatus(ds: KubeObject, nodes: KubeObject[], rollout: RolloutHealth): boolean {
  if (rollout.state !== 'complete') return false;
  const tolerations = daemonSetTolerations(ds);
  const eligible = nodes.filter((n) => !untoleratedTaint(n, tolerations));
  if (nodes.some((n) => isSchedulable(n) && untoleratedTaint(n, tolerations))) return false;
  if (ds.spec?.template?.spec?.nodeSelector || ds.spec?.template?.spec?.affinity) return false;
  const s = ds.status ?? {};
  return (
    s.desiredNumberScheduled === eligible.length &&
    s.currentNumberScheduled === eligible.length &&
    s.updatedNumberScheduled === eligible.length &&
    s.numberAvailable === eligible.length &&
    (s.numberMisscheduled ?? 0) === 0
  );
}

function selectorOf(ds: KubeObject): string {
  const labels: Record<string, string> = ds.spec?.selector?.matchLabels ?? { [NAME_LABEL]: SENSOR_NAME };
  return Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',');
}

/** The PlatformAdapter half every Kubernetes platform shares. */
export function kubernetesOperations<H extends KubeHandle>() {
  return {
    async observe(cluster: ConnectedCluster<H>, desired: DesiredSensor, clusterId: string): Promise<KubeObserved> {
      const observed = await observeKubernetes(cluster.handle.kube, clusterId, desired);
      cluster.handle.observed = observed;
      return observed;
    },
    plan(desired: DesiredSensor, observed: KubeObserved, options: PlanOptions): ClusterPlan<KubeAction> {
      return planKubernetes(desired, observed, options);
    },
    async apply(cluster: ConnectedCluster<H>, plan: ClusterPlan<KubeAction>): Promise<ApplyOutcome> {
      const outcome = await applyKubernetesPlan(cluster.handle.kube, plan);
      if (outcome.applied > 0) cluster.handle.observed = undefined;
      return outcome;
    },
    async verify(cluster: ConnectedCluster<H>, desired: DesiredSensor, options: VerifyOptions): Promise<Coverage> {
      const seen = cluster.handle.observed;
      cluster.handle.observed = undefined;
      const reuse = seen ? { daemonSet: seen.objects.find((o) => objectKey(o.ref) === objectKey(daemonSetRef(desired)))?.live, nodes: seen.nodes } : undefined;
      return verifyKubernetes(cluster.handle.kube, desired, options, reuse);
    },
    release(cluster: ConnectedCluster<H>): void {
      cluster.handle.observed = undefined;
      cluster.handle.kube.close();
    },
  };
}
