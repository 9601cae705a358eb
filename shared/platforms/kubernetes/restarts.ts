import { SENSOR_NAME } from './manifests';
import { isCurrentPod } from './revision';
import type { KubeObject } from './types';

/**
 * Pure: the most restarts of the sensor container among the DaemonSet's pods of its current template
 * (revision.ts: generation label or revision hash, as the DaemonSet controller decides), and which pod.
 * Pods of older revisions are being replaced; their restarts say nothing about the version rolled out.
 * Crash looping after an upgrade shows here first: the kubelet restarts the container and counts it
 * in status.containerStatuses[].restartCount (https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#container-restarts).
 */
export function sensorRestarts(ds: KubeObject, pods: KubeObject[], currentHash?: string): { max: number; pod?: string } {
  let max = 0;
  let pod: string | undefined;
  for (const p of pods) {
    if (p.metadata.deletionTimestamp || !isCurrentPod(p, ds, currentHash)) continue;
    const statuses: any[] = p.status?.containerStatuses ?? [];
    const sensor = statuses.find((s) => s?.name === SENSOR_NAME) ?? statuses[0];
    const n = Number(sensor?.restartCount ?? 0);
    if (n > max) {
      max = n;
      pod = p.metadata.name;
    }
  }
  return pod ? { max, pod } : { max };
}
