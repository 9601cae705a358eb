/**
 * observe / plan / apply / verify for any Kubernetes cluster. Cloud adapters (EKS now, AKS/GKE later)
 * only connect and build a KubeClient; everything else is here.
 *
 * Request budget for an in-sync cluster (DESIGN §7): observe reads each managed object once and lists
 * nodes once; verify reuses both and answers from the DaemonSet's status when it proves every eligible
 * node runs an available pod of the current revision. Pods are listed only when it does not. Nodes
 * outside the sensor image's OS/architecture selection are out of scope (scope.ts).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ApplyOutcome, ClusterPlan, ConnectedCluster, Coverage, DesiredSensor, PlanOptions, VerifyOptions } from '../types';
import { applyKubernetesPlan } from './apply';
import type { KubeClient } from './client';
import { daemonSetTolerations, isSchedulable, needsEvents, nodeCoverage, nodeNamesOf, untoleratedTaint, waitingWontHelp } from './coverage';
import { daemonSetRollout, type RolloutHealth } from './health';
import { buildSensorObjects, daemonSet as desiredDaemonSet, NAME_LABEL, SENSOR_NAME } from './manifests';
import { objectKey, planKubernetes, sensorVersionOf, type KubeAction, type KubeObserved } from './plan';
import { sensorRestarts } from './restarts';
import { currentRevisionHash, hasCurrentGeneration } from './revision';
import { splitByScope, templateSelectsNode } from './scope';
import { describeRef, isManaged, refOf, type ClusterProfile, type KubeObject, type ObjectRef } from './types';

export interface KubeHandle {
  kube: KubeClient;
  /** What observe read, reused by verify when nothing was applied in between. */
  observed?: KubeObserved;
  /** GKE Autopilot with a configured partner allowlist (set by the GKE adapter): the WorkloadAllowlist the pods name. */
  autopilot?: ClusterProfile['autopilot'];
}

export async function observeKubernetes(client: KubeClient, cluster: string, desired: DesiredSensor, now: Date = new Date(), profile: ClusterProfile = {}): Promise<KubeObserved> {
  const refs = buildSensorObjects(desired, profile).map(refOf);
  const [objects, nodes] = await Promise.all([
    Promise.all(refs.map(async (ref) => ({ ref, live: await client.get(ref) }))),
    client.list('v1', 'Node'),
  ]);
  return { cluster, observedAt: now.toISOString(), objects: objects.map((o) => (o.live ? o : { ref: o.ref })), nodes, ...(profile.autopilot ? { profile } : {}) };
}

function profileOf(handle: KubeHandle): ClusterProfile {
  return handle.autopilot ? { autopilot: handle.autopilot } : {};
}

export function daemonSetRef(desired: DesiredSensor): ObjectRef {
  return refOf(desiredDaemonSet(desired));
}

/**
 * Polls until every schedulable node in scope is covered, or the deadline passes (then 'stuck' with the
 * reason). Nodes whose OS/architecture the sensor image does not support are out of scope: listed with
 * the reason, not counted. Nodes whose only problem is an untolerated taint (or a foreign placement rule
 * that excludes them) will not change by waiting, so they do not hold the wait.
 */
export async function verifyKubernetes(
  client: KubeClient,
  desired: DesiredSensor,
  options: VerifyOptions,
  reuse?: { daemonSet?: KubeObject; nodes: KubeObject[] },
): Promise<Coverage> {
  const deadline = Date.now() + options.deadlineMs;
  const dsRef = daemonSetRef(desired);
  const selection = desired.config.sensor.nodeSelection;
  for (let poll = 0; ; poll++) {
    const first = poll === 0 && reuse !== undefined;
    const [ds, allNodes] = first ? [reuse.daemonSet, reuse.nodes] : await Promise.all([client.get(dsRef), client.list('v1', 'Node')]);
    const { inScope: nodes, outOfScope } = splitByScope(allNodes, selection);
    const scope = outOfScope.length > 0 ? { outOfScope } : {};
    const expired = Date.now() >= deadline;
    if (ds && !isManaged(ds)) return notOurDaemonSet(dsRef, nodes, scope);
    if (!ds) {
      const schedulable = nodes.filter(isSchedulable);
      if (expired || schedulable.length === 0 || options.once) {
        return {
          total: schedulable.length,
          covered: 0,
          uncovered: schedulable.map((n) => ({ node: n.metadata.name, reason: `no sensor DaemonSet ${dsRef.namespace}/${dsRef.name}` })),
          ...scope,
          rollout: { state: schedulable.length === 0 ? 'complete' : expired ? 'stuck' : 'progressing', message: `DaemonSet ${dsRef.namespace}/${dsRef.name} does not exist` },
          nodeNames: nodeNamesOf(schedulable),
        };
      }
    } else {
      const rollout = daemonSetRollout(ds);
      if (!options.withRestarts && fullyCoveredByStatus(ds, allNodes, nodes, rollout)) {
        const schedulable = nodes.filter(isSchedulable);
        const version = sensorVersionOf(ds);
        options.onProgress?.({ updated: schedulable.length, total: schedulable.length, message: rollout.message });
        return { total: schedulable.length, covered: schedulable.length, uncovered: [], ...scope, rollout, nodeNames: nodeNamesOf(schedulable), ...(version ? { sensorVersion: version } : {}) };
      }
      const pods = await client.list('v1', 'Pod', { namespace: dsRef.namespace, labelSelector: selectorOf(ds) });
      const events = pods.some(needsEvents) ? await client.list('v1', 'Event', { namespace: dsRef.namespace, fieldSelector: 'type=Warning,involvedObject.kind=Pod' }) : [];
      const currentHash = pods.some((p) => !p.metadata.deletionTimestamp && !hasCurrentGeneration(p, ds)) ? await revisionHash(client, ds, dsRef.namespace!) : undefined;
      const c = nodeCoverage(ds, nodes, pods, events, currentHash);
      const restarts = sensorRestarts(ds, pods, currentHash);
      // Done when every schedulable node runs a ready pod of the current generation, apart from nodes
      // whose taint we do not tolerate (waiting will not change those). The controller's counts alone
      // are not the test: NotReady or cordoned nodes can hold them back forever (kubernetes#63465).
      const done = c.uncovered.every((u) => waitingWontHelp(u.reason));
      // every observation is reported, the last one too: a rollout that finishes at once still shows n/n
      options.onProgress?.({ updated: c.covered, total: c.total, message: rollout.message });
      if (done || expired) {
        const waited = `not finished within ${Math.round(options.deadlineMs / 1000)} s`;
        const stuckWhy = c.uncovered.filter((u) => !waitingWontHelp(u.reason)).slice(0, 3).map((u) => `${u.node}: ${u.reason}`).join('; ');
        const message =
          rollout.state === 'complete'
            ? rollout.message
            : c.uncovered.length === 0
              ? // the pods were read after the DaemonSet: its status has not counted the last pods yet
                `every schedulable node runs a ready sensor pod of the current revision (${c.covered} of ${c.total}); the DaemonSet's status has not caught up yet (${rollout.message})`
              : `every schedulable node runs the current sensor; ${rollout.message} (the others are on nodes that are not Ready or are cordoned)`;
        return {
          total: c.total,
          covered: c.covered,
          uncovered: c.uncovered,
          ...scope,
          rollout: done ? { state: 'complete', message } : { state: 'stuck', message: `${rollout.message}; ${waited}${stuckWhy ? `; ${stuckWhy}` : ''}` },
          nodeNames: c.nodeNames,
          ...(c.sensorVersion ? { sensorVersion: c.sensorVersion } : {}),
          restarts,
        };
      }
      if (options.once) {
        return { total: c.total, covered: c.covered, uncovered: c.uncovered, ...scope, rollout: { state: 'progressing', message: rollout.message }, nodeNames: c.nodeNames, ...(c.sensorVersion ? { sensorVersion: c.sensorVersion } : {}), restarts };
      }
    }
    await sleep(Math.max(0, Math.min(options.pollMs, deadline - Date.now())));
  }
}

/**
 * A DaemonSet with the sensor's name that does not carry our mark is someone else's: its pods are not
 * our sensor, so no node is covered by them, and waiting will not make it ours (the plan reports it as
 * a finding; it is never changed).
 */
function notOurDaemonSet(dsRef: ObjectRef, nodes: KubeObject[], scope: Pick<Coverage, 'outOfScope'>): Coverage {
  const schedulable = nodes.filter(isSchedulable);
  const why = `${describeRef(dsRef)} exists, not managed by sensorfleet`;
  return {
    total: schedulable.length,
    covered: 0,
    uncovered: schedulable.map((n) => ({ node: n.metadata.name, reason: `${why}: its pods are not counted as the sensor` })),
    ...scope,
    rollout: { state: 'stuck', message: `${why}; left alone: sensorfleet cannot deploy the sensor until it is removed or renamed` },
    nodeNames: nodeNamesOf(schedulable),
  };
}

/**
 * The status fast path: the rollout is complete, no schedulable node in scope has a taint we do not
 * tolerate, the DaemonSet's placement (nodeSelector + required node affinity) selects exactly the nodes
 * in scope, and the controller's own count of eligible nodes equals ours with every one updated and
 * available. Then every schedulable node in scope runs an available pod of the current revision,
 * without listing pods. The controller counts a node as desired when the pod's placement matches it
 * and its taints are tolerated (pkg/controller/daemon: NodeShouldRunDaemonPod), which is our `eligible`.
 */
function fullyCoveredByStatus(ds: KubeObject, allNodes: KubeObject[], inScope: KubeObject[], rollout: RolloutHealth): boolean {
  if (rollout.state !== 'complete') return false;
  const podSpec = ds.spec?.template?.spec;
  const inScopeNames = new Set(inScope.map((n) => n.metadata.name));
  if (allNodes.some((n) => templateSelectsNode(podSpec, n) !== inScopeNames.has(n.metadata.name))) return false;
  const tolerations = daemonSetTolerations(ds);
  if (inScope.some((n) => isSchedulable(n) && untoleratedTaint(n, tolerations))) return false;
  const eligible = inScope.filter((n) => !untoleratedTaint(n, tolerations)).length;
  const s = ds.status ?? {};
  return (
    s.desiredNumberScheduled === eligible &&
    s.currentNumberScheduled === eligible &&
    s.updatedNumberScheduled === eligible &&
    s.numberAvailable === eligible &&
    (s.numberMisscheduled ?? 0) === 0
  );
}

/** Read only when a pod's generation label is behind: its ControllerRevisions name the current hash. */
async function revisionHash(client: KubeClient, ds: KubeObject, namespace: string): Promise<string | undefined> {
  return currentRevisionHash(ds, await client.list('apps/v1', 'ControllerRevision', { namespace, labelSelector: selectorOf(ds) }));
}

function selectorOf(ds: KubeObject): string {
  const labels: Record<string, string> = ds.spec?.selector?.matchLabels ?? { [NAME_LABEL]: SENSOR_NAME };
  return Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',');
}

/** The PlatformAdapter half every Kubernetes platform shares. */
export function kubernetesOperations<H extends KubeHandle>() {
  return {
    async observe(cluster: ConnectedCluster<H>, desired: DesiredSensor, clusterId: string): Promise<KubeObserved> {
      const observed = await observeKubernetes(cluster.handle.kube, clusterId, desired, new Date(), profileOf(cluster.handle));
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
