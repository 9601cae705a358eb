/**
 * Which daemon pods run the DaemonSet's current template (pure). The controller calls a pod updated when
 * its `pod-template-generation` label equals the template generation OR its `controller-revision-hash`
 * equals the current revision's hash (pkg/controller/daemon/util: IsPodUpdated). The hash matters after a
 * template goes back to an earlier one (a hand edit reverted): the controller reuses that revision, so
 * pods it never replaced keep their old generation label and are current all the same.
 */
import type { KubeObject } from './types';

const GENERATION_LABEL = 'pod-template-generation';
const HASH_LABEL = 'controller-revision-hash';

export function templateGeneration(ds: KubeObject): string {
  return String(ds.metadata.annotations?.['deprecated.daemonset.template.generation'] ?? ds.metadata.generation ?? '');
}

/** The generation label alone says the pod is current (no revision read needed). */
export function hasCurrentGeneration(pod: KubeObject, ds: KubeObject): boolean {
  const generation = templateGeneration(ds);
  return generation !== '' && String(pod.metadata.labels?.[GENERATION_LABEL] ?? '') === generation;
}

export function isCurrentPod(pod: KubeObject, ds: KubeObject, currentHash?: string): boolean {
  return hasCurrentGeneration(pod, ds) || (currentHash !== undefined && pod.metadata.labels?.[HASH_LABEL] === currentHash);
}

/**
 * The hash of the DaemonSet's newest ControllerRevision (the one with the highest `revision`), once the
 * controller has seen the DaemonSet's spec (status.observedGeneration): until then the newest revision
 * is the previous template's, and its pods would pass for current.
 */
export function currentRevisionHash(ds: KubeObject, revisions: KubeObject[]): string | undefined {
  if (Number(ds.status?.observedGeneration ?? 0) < Number(ds.metadata.generation ?? 0)) return undefined;
  const mine = revisions.filter((r) => ((r.metadata.ownerReferences ?? []) as any[]).some((o) => o?.controller && o?.uid === ds.metadata.uid));
  const newest = mine.sort((a, b) => Number((b as any).revision ?? 0) - Number((a as any).revision ?? 0))[0];
  return newest?.metadata.labels?.[HASH_LABEL];
}
