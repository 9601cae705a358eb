/**
 * What a GKE cluster's status means for sensorfleet (pure; the adapter turns it into errors).
 * Cluster.Status (https://cloud.google.com/kubernetes-engine/docs/reference/rest/v1/projects.locations.clusters#Status):
 * RUNNING is usable; PROVISIONING (being created) and RECONCILING (upgrades, repairs) come back later;
 * ERROR (unusable, GKE deletes it) and DEGRADED (needs user action) are terminal with the status
 * message; STOPPING is being deleted.
 *
 * The REST fallback asks for `enum-encoding=int`; the client decodes ints back to names, but an int it
 * does not know (an enum value added after this client) stays a number, so both are accepted.
 */
export const CLUSTER_STATUS = ['STATUS_UNSPECIFIED', 'PROVISIONING', 'RUNNING', 'RECONCILING', 'STOPPING', 'ERROR', 'DEGRADED'] as const;
export type ClusterStatusName = (typeof CLUSTER_STATUS)[number];

export type GkeReadiness =
  | { kind: 'ready'; status: 'RUNNING' }
  | { kind: 'not-ready'; status: string }
  | { kind: 'unhealthy'; status: 'ERROR' | 'DEGRADED'; detail: string }
  | { kind: 'stopping' }
  | { kind: 'unknown'; status: string };

export interface ClusterStatusFields {
  status?: string | number | null;
  statusMessage?: string | null;
  conditions?: { code?: string | number | null; message?: string | null; canonicalCode?: string | number | null }[] | null;
  endpoint?: string | null;
  masterAuth?: { clusterCaCertificate?: string | null } | null;
}

export function statusName(status: string | number | null | undefined): string {
  if (typeof status === 'number') return CLUSTER_STATUS[status] ?? `STATUS_${status}`;
  return status || 'STATUS_UNSPECIFIED';
}

export function gkeReadiness(c: ClusterStatusFields): GkeReadiness {
  const status = statusName(c.status);
  switch (status) {
    case 'RUNNING':
      // a cluster reports RUNNING once its control plane serves; without an endpoint and CA nothing can connect yet
      return c.endpoint && c.masterAuth?.clusterCaCertificate ? { kind: 'ready', status } : { kind: 'not-ready', status: 'RUNNING without an endpoint yet' };
    case 'PROVISIONING':
    case 'RECONCILING':
      return { kind: 'not-ready', status: c.statusMessage ? `${status}: ${c.statusMessage}` : status };
    case 'ERROR':
    case 'DEGRADED':
      return { kind: 'unhealthy', status, detail: unhealthyDetail(c) };
    case 'STOPPING':
      return { kind: 'stopping' };
    default:
      return { kind: 'unknown', status };
  }
}

/** statusMessage, else the cluster's conditions (code: message), in one line. */
function unhealthyDetail(c: ClusterStatusFields): string {
  const parts = [c.statusMessage ?? '', ...(c.conditions ?? []).map((k) => [k.code ?? k.canonicalCode, k.message].filter((x) => x !== undefined && x !== null && x !== '').join(': '))];
  return [...new Set(parts.map((p) => String(p).trim()).filter(Boolean))].join('; ');
}
