/**
 * DaemonSet rollout health, a status plus a sentence, with the rule of `kubectl rollout status`
 * (kubectl pkg/polymorphichelpers/rollout_status.go, DaemonSetStatusViewer): the spec change must be
 * observed (generation <= status.observedGeneration), then every scheduled pod updated
 * (updatedNumberScheduled == desiredNumberScheduled) and available (numberAvailable == desired).
 * kubectl has no progress deadline for DaemonSets; the deadline lives in verify.
 */
import type { KubeObject } from './types';

export interface RolloutHealth {
  state: 'complete' | 'progressing';
  message: string;
}

export function daemonSetRollout(ds: KubeObject): RolloutHealth {
  const name = `${ds.metadata.namespace}/${ds.metadata.name}`;
  const generation = ds.metadata.generation ?? 0;
  const status = ds.status ?? {};
  const observed = status.observedGeneration ?? 0;
  const desired = status.desiredNumberScheduled ?? 0;
  const updated = status.updatedNumberScheduled ?? 0;
  const available = status.numberAvailable ?? 0;
  const strategy = ds.spec?.updateStrategy?.type ?? 'RollingUpdate';
  if (generation > observed) return { state: 'progressing', message: `DaemonSet ${name}: waiting for the spec update (generation ${generation}) to be observed by the controller` };
  if (updated < desired) {
    const hint = strategy === 'OnDelete' ? ' (updateStrategy OnDelete: pods change only when deleted)' : '';
    return { state: 'progressing', message: `DaemonSet ${name}: ${updated} out of ${desired} new pods have been updated${hint}` };
  }
  if (available < desired) return { state: 'progressing', message: `DaemonSet ${name}: ${available} of ${desired} updated pods are available` };
  return { state: 'complete', message: `DaemonSet ${name}: successfully rolled out, ${available} of ${desired} updated pods are available` };
}
