import type { ClusterInventoryItem, ReconcileRecord } from '../state/records';
import { renderTable } from './table';

/** The fleet as users read it: one row per cluster. Used by status, reconcile and the demo. */
export interface FleetRow {
  cluster: string;
  platform: string;
  sensorVersion: string | null;
  nodes: { covered: number; total: number };
  status: string;
  message: string;
}

export function rowFromRecord(r: ReconcileRecord): FleetRow {
  return {
    cluster: r.cluster,
    platform: r.platform,
    sensorVersion: r.verified?.sensorVersion ?? r.observed.sensorVersion ?? null,
    nodes: { covered: r.verified?.covered ?? 0, total: r.verified?.total ?? 0 },
    status: r.observed.status === 'NOT_FOUND' ? 'not-found' : r.outcome,
    message: r.message,
  };
}

export function rowFromInventory(i: ClusterInventoryItem): FleetRow {
  return {
    cluster: i.cluster,
    platform: i.platform,
    sensorVersion: i.sensorVersion ?? null,
    nodes: i.nodes,
    status: i.outcome,
    message: i.message,
  };
}

export function renderFleet(rows: FleetRow[], withMessage = true): string {
  const headers = ['CLUSTER', 'PLATFORM', 'SENSOR', 'NODES COVERED', 'STATUS', ...(withMessage ? ['DETAIL'] : [])];
  return renderTable(
    headers,
    rows.map((r) => [
      r.cluster,
      r.platform,
      r.sensorVersion ?? '-',
      `${r.nodes.covered}/${r.nodes.total}`,
      r.status,
      ...(withMessage ? [truncate(r.message, 90)] : []),
    ]),
  );
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}
