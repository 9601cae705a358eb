/**
 * Executes a Kubernetes plan with server-side apply (fieldManager `sensorfleet`), in the plan's order,
 * which is dependency order (Namespace, then SA/Secret/RBAC/policies, DaemonSet last). Objects we manage
 * are applied with force=true so our fields win over another manager's edit; a create is applied
 * without force, so an object someone else created in the meantime fails with a 409 naming the
 * conflicting manager instead of being taken over. An empty plan makes no request. A GKE Warden denial
 * (Autopilot) ends the apply as AutopilotRejectedError: a terminal failure with the reason, not retried.
 */
import type { ApplyOutcome, ClusterPlan } from '../types';
import type { KubeClient } from './client';
import { AutopilotRejectedError, isWardenDenial } from './errors';
import type { KubeAction } from './plan';
import { MATCHING_ALLOWLIST_LABEL } from './types';

export async function applyKubernetesPlan(client: KubeClient, plan: ClusterPlan<KubeAction>): Promise<ApplyOutcome> {
  let applied = 0;
  let rolloutStarted = false;
  for (const action of plan.actions) {
    if (action.type === 'finding') continue;
    const force = action.type === 'restart' || !action.create;
    try {
      await client.apply(action.object, { force });
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
