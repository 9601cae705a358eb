import { SENSOR_NAME } from './manifests';
import type { KubeObject } from './types';

/**
 * Pure: the most restarts of the sensor container among the DaemonSet's pods of its current template
 * generation (label pod-template-generation, set by the DaemonSet controller), and which pod. Pods of
 * older generations are being replaced; their restarts say nothing about the version rolled out.
 * Crash looping after an upgrade shows here first: the kubelet restarts the container and counts it
 * in status.containerStatuses[].restartCount (https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#container-restarts).
 */
export function sensorRestarts(ds: KubeObject, pods: KubeObject[]): { max: number; pod?: string } {
  const generation = String(ds.metadata.generation ?? '');
  let max = 0;
  let pod: string | undefined;
  for (const p of pods) {
    if (p.metadata.deletionTimestamp || String(p.metadata.labels?.['pod-template-generation'] ?? '') !== generation) continue;
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
