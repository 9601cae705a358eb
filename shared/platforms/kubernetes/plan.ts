/**
 * Pure planner: desired objects + what observe saw -> actions, each with its reason. In sync -> none.
 *   - missing object -> apply (create: POST, which fails if someone created it meanwhile);
 *   - object without our managed-by label -> finding, never changed;
 *   - an update or restart applies against the resourceVersion observe saw (apply.ts re-checks our mark if it moved);
 *   - a field we own differs -> apply, the reason names each field with both values (Secret: keys only);
 *   - foreign security-relevant additions to our DaemonSet -> finding;
 *   - force 'restart' -> restart (DaemonSet re-applied with template annotation sensorfleet.io/restartedAt);
 *   - force 'redeploy' -> every managed object applied, then the restart.
 */
import type { ClusterPlan, DesiredSensor, PlannedAction, PlanOptions } from '../types';
import { describeDifference, diffObject, fieldChanges, foreignAdditions } from './diff';
import { buildSensorObjects, imageVersion, SENSOR_NAME } from './manifests';
import { describeRef, isManaged, refOf, RESTARTED_AT_ANNOTATION, withResourceVersion, type ClusterProfile, type KubeObject, type ObjectRef } from './types';

export type KubeAction =
  | (PlannedAction & { type: 'finding' })
  /** create: the object is missing (applied without force); rollout: the pod template changes. `object` is not enumerable (see withPayload). */
  | (PlannedAction & { type: 'apply'; object: KubeObject; create: boolean; rollout: boolean })
  | (PlannedAction & { type: 'restart'; object: KubeObject; rollout: true });

export interface ObservedObject {
  ref: ObjectRef;
  /** Absent when the API server answered 404. */
  live?: KubeObject;
}

export interface KubeObserved {
  cluster: string;
  /** When observe ran; a restart stamps this time into the pod template. */
  observedAt: string;
  objects: ObservedObject[];
  nodes: KubeObject[];
  /** The cluster's profile (GKE Autopilot allowlist), from the cloud adapter; the plan builds the shape it needs. */
  profile?: ClusterProfile;
}

/**
 * Attaches the object apply will send as a non-enumerable property: plans are recorded (DynamoDB run
 * records), logged and printed as JSON, and the Secret's object carries the activation ids, so the
 * payload must never be serialised with the plan. Only type/target/reason are.
 */
function withPayload<A extends PlannedAction>(action: A, object: KubeObject): A & { object: KubeObject } {
  return Object.defineProperty(action, 'object', { value: object, enumerable: false, writable: false }) as A & { object: KubeObject };
}

export function objectKey(ref: ObjectRef): string {
  return `${ref.apiVersion}|${ref.kind}|${ref.namespace ?? ''}|${ref.name}`;
}

export function planKubernetes(desired: DesiredSensor, observed: KubeObserved, options: PlanOptions = {}): ClusterPlan<KubeAction> {
  const live = new Map(observed.objects.map((o) => [objectKey(o.ref), o.live]));
  const actions: KubeAction[] = [];
  let liveDaemonSet: KubeObject | undefined;
  const why = options.reason ? ` (${options.reason})` : '';

  for (const want of buildSensorObjects(desired, observed.profile)) {
    const target = describeRef(refOf(want));
    const have = live.get(objectKey(refOf(want)));
    const isDaemonSet = want.kind === 'DaemonSet';
    // a DaemonSet that is not ours runs no sensor of ours: it has no current version
    if (isDaemonSet) liveDaemonSet = isManaged(have) ? have : undefined;
    if (!have) {
      actions.push(withPayload({ type: 'apply' as const, target, reason: `${target}: missing; create`, create: true, rollout: isDaemonSet }, want));
      continue;
    }
    if (!isManaged(have)) {
      actions.push({ type: 'finding', target, reason: `${target}: exists, not managed by sensorfleet; left alone` });
      continue;
    }
    const object = withResourceVersion(isDaemonSet ? keepRestartStamp(want, have) : want, have);
    const diffs = diffObject(want, have);
    const reasons = diffs.map((d) => describeDifference(want, d));
    const rollout = isDaemonSet && diffs.some((d) => d.path.startsWith('spec.template.'));
    if (isDaemonSet) {
      for (const extra of foreignAdditions(want, have)) {
        actions.push({ type: 'finding', target, reason: `${target}: drift not owned by sensorfleet: ${extra}; remove it by hand or find who added it` });
      }
      if (options.force) {
        const restarted = withRestartStamp(object, observed.observedAt);
        const lead = options.force === 'redeploy' ? 'redeploy requested' : 'restart requested';
        actions.push(withPayload({ type: 'restart' as const, target, reason: [`${target}: ${lead}${why}; pods are replaced`, ...reasons].join('; '), rollout: true as const, ...(diffs.length ? { changes: fieldChanges(diffs) } : {}) }, restarted));
        continue;
      }
    }
    if (reasons.length > 0) actions.push(withPayload({ type: 'apply' as const, target, reason: reasons.join('; '), create: false, rollout, changes: fieldChanges(diffs) }, object));
    else if (options.force === 'redeploy') actions.push(withPayload({ type: 'apply' as const, target, reason: `${target}: redeploy requested${why}; re-applied`, create: false, rollout: false }, object));
  }

  // no DaemonSet yet: creating it starts fresh pods, which is all a restart would do
  if (options.force && !actions.some((a) => a.type === 'restart') && liveDaemonSet === undefined) {
    const create = actions.find((a) => a.type === 'apply' && a.object.kind === 'DaemonSet');
    if (create) create.reason += `; ${options.force} requested: the new DaemonSet starts fresh pods`;
  }

  return {
    cluster: observed.cluster,
    actions,
    sensorVersion: { ...(liveDaemonSet ? { current: sensorVersionOf(liveDaemonSet) } : {}), desired: desired.config.sensor.version },
  };
}

/** The image tag of the sensor container of a DaemonSet (its version). */
export function sensorVersionOf(ds: KubeObject | undefined): string | undefined {
  const containers: any[] = ds?.spec?.template?.spec?.containers ?? [];
  const image: string | undefined = (containers.find((c) => c?.name === SENSOR_NAME) ?? containers[0])?.image;
  return image ? imageVersion(image) : undefined;
}

/**
 * Our last restart stamp is a field we own: applying without it would remove it and roll every pod.
 * Carrying it over keeps unrelated applies from restarting the sensor.
 */
function keepRestartStamp(want: KubeObject, have: KubeObject): KubeObject {
  const stamp = have.spec?.template?.metadata?.annotations?.[RESTARTED_AT_ANNOTATION];
  return stamp ? withRestartStamp(want, stamp) : want;
}

function withRestartStamp(ds: KubeObject, at: string): KubeObject {
  const template = ds.spec.template;
  return {
    ...ds,
    spec: {
      ...ds.spec,
      template: { ...template, metadata: { ...template.metadata, annotations: { ...(template.metadata?.annotations ?? {}), [RESTARTED_AT_ANNOTATION]: at } } },
    },
  };
}
