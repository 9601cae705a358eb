/**
 * Executes a Kubernetes plan with server-side apply (fieldManager `sensorfleet`), in the plan's order,
 * which is dependency order (Namespace, then SA/Secret/RBAC/policies, DaemonSet last). Objects we manage
 * are applied with force=true so our fields win over another manager's edit; a create is applied
 * without force, so an object someone else created in the meantime fails with a 409 naming the
 * conflicting manager instead of being taken over. An empty plan makes no request.
 */
import type { ApplyOutcome, ClusterPlan } from '../types';
import type { KubeClient } from './client';
import type { KubeAction } from './plan';

export async function applyKubernetesPlan(client: KubeClient, plan: ClusterPlan<KubeAction>): Promise<ApplyOutcome> {
  let applied = 0;
  let rolloutStarted = false;
  for (const action of plan.actions) {
    if (action.type === 'finding') continue;
    const force = action.type === 'restart' || !action.create;
    await client.apply(action.object, { force });
    applied++;
    rolloutStarted ||= action.rollout;
  }
  return { applied, rolloutStarted };
}
