/**
 * Executes a Kubernetes plan in the plan's order, which is dependency order (Namespace, then
 * SA/Secret/RBAC/policies, DaemonSet last). An empty plan makes no request.
 *   - An object observe saw missing is created (POST), which fails with 409 AlreadyExists when someone
 *     created it in the meantime; server-side apply would have merged our fields and our mark into
 *     theirs. The object is read again: ours (an earlier attempt's create whose answer was lost) is
 *     applied; anyone else's is left exactly as it is and the apply stops (ForeignObjectError).
 *     Created objects are then owned as an applier (ownership.ts).
 *   - An object we manage is changed with server-side apply (fieldManager `sensorfleet`, force=true so
 *     our fields win over another manager's edit), with the resourceVersion observe saw as the
 *     precondition: if it changed, it is read again and applied only if it still carries our mark.
 * A GKE Warden denial (Autopilot) ends the apply as AutopilotRejectedError: terminal, with the reason.
 */
import type { ApplyOutcome, ClusterPlan } from '../types';
import type { KubeClient } from './client';
import { AutopilotRejectedError, ForeignObjectError, isAlreadyExists, isConflict, isWardenDenial } from './errors';
import { ownAsApplier } from './ownership';
import type { KubeAction } from './plan';
import { isManaged, MATCHING_ALLOWLIST_LABEL, refOf, withResourceVersion, type KubeObject } from './types';

/** Re-reads after a changed resourceVersion before the apply gives up (a controller may keep writing status). */
const PRECONDITION_ATTEMPTS = 5;

export async function applyKubernetesPlan(client: KubeClient, plan: ClusterPlan<KubeAction>): Promise<ApplyOutcome> {
  let applied = 0;
  let rolloutStarted = false;
  for (const action of plan.actions) {
    if (action.type === 'finding') continue;
    try {
      if (action.type === 'apply' && action.create) await createObject(client, plan.cluster, action.target, action.object);
      else await applyManaged(client, plan.cluster, action.target, action.object);
    } catch (err) {
      // GKE Autopilot's admission says no: terminal for this cluster, named with the allowlist we used
      if (isWardenDenial(err)) throw new AutopilotRejectedError(plan.cluster, action.target, err, action.object.spec?.template?.metadata?.labels?.[MATCHING_ALLOWLIST_LABEL]);
      throw err;
    }
    applied++;
    rolloutStarted ||= action.rollout;
  }
  return { applied, rolloutStarted };
}

async function createObject(client: KubeClient, cluster: string, target: string, object: KubeObject): Promise<void> {
  let created: KubeObject;
  try {
    created = await client.create(object);
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
    const existing = await client.get(refOf(object));
    if (!existing) throw err; // deleted again meanwhile: the next reconcile observes and creates it
    if (!isManaged(existing)) throw new ForeignObjectError(cluster, target, 'created');
    created = await applyManaged(client, cluster, target, withResourceVersion(object, existing));
  }
  await ownAsApplier(client, created);
}

async function applyManaged(client: KubeClient, cluster: string, target: string, object: KubeObject): Promise<KubeObject> {
  let body = object;
  for (let attempt = 1; ; attempt++) {
    try {
      return await client.apply(body, { force: true });
    } catch (err) {
      if (!isConflict(err) || body.metadata.resourceVersion === undefined || attempt >= PRECONDITION_ATTEMPTS) throw err;
      const now = await client.get(refOf(body));
      if (!now) throw err;
      if (!isManaged(now)) throw new ForeignObjectError(cluster, target, 'unmarked');
      body = withResourceVersion(body, now);
    }
  }
}
