import { driftOf, type DriftSummary } from '../domain/drift';
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
      ...(withMessage ? [truncate(withoutCluster(r.cluster, r.message), 90)] : []),
    ]),
  );
}

/**
 * A message as a row shows it, next to its cluster and status: without the "cluster REF skipped: "
 * or "REF: " the error repeats (ClusterSkippedError's message names the cluster for logs).
 */
export function withoutCluster(cluster: string, message: string): string {
  for (const prefix of [`cluster ${cluster} skipped: `, `${cluster}: `]) if (message.startsWith(prefix)) return message.slice(prefix.length);
  return message;
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

/** `status`: one row per cluster, with where its rollout stands and what is wrong with it. */
export interface StatusRow {
  cluster: string;
  platform: string;
  /** AWS account, Azure subscription or GCP project. */
  scope: string;
  /** Region, resource group or location. */
  location: string;
  name: string;
  desiredVersion: string | null;
  runningVersion: string | null;
  /** The cluster's ring in the active (else the last) rollout run. */
  ring: { run: string; runStatus: string; ring: number; name: string; released: boolean } | null;
  nodes: { covered: number; total: number };
  /** What the last reconcile found different from the desired state. */
  drift: DriftSummary;
  status: string;
  lastReconcile: string | null;
  /** The last reconcile that wrote to the cluster (among its recent records). */
  lastChange: string | null;
  /** Empty when nothing is wrong. */
  problem: string;
}

export interface StatusInputs {
  /** Recent reconcile records, newest first: needed only for items recorded before they carried `drift` and `lastChangedAt`. */
  reconciles: ReconcileRecord[];
  ring?: StatusRow['ring'];
}

const HEALTHY = new Set(['in-sync', 'converged', 'progressing', 'skipped', 'planned']);

export function statusRow(i: ClusterInventoryItem, x: StatusInputs): StatusRow {
  const [, scope = '', location = '', ...rest] = i.cluster.split(':');
  const summarised = i.drift !== undefined;
  const last = summarised ? undefined : x.reconciles.find((r) => r.outcome !== 'applying');
  const changed = summarised ? undefined : x.reconciles.find((r) => r.outcome !== 'applying' && r.changed.writes > 0);
  const problem = [
    !HEALTHY.has(i.outcome) ? `${i.outcome}: ${i.message}` : '',
    i.uncovered.length > 0 ? `${i.uncovered.length} node(s) uncovered (${i.uncovered.slice(0, 2).map((u) => `${u.node}: ${u.reason}`).join('; ')})` : '',
  ].filter(Boolean);
  return {
    cluster: i.cluster,
    platform: i.platform,
    scope,
    location,
    name: rest.join(':'),
    desiredVersion: i.desiredVersion ?? null,
    runningVersion: i.sensorVersion ?? null,
    ring: x.ring ?? null,
    nodes: i.nodes,
    drift: summarised ? i.drift! : driftOf(i, last),
    status: i.outcome,
    lastReconcile: i.lastReconciledAt ?? null,
    lastChange: summarised ? (i.lastChangedAt ?? null) : (changed?.finishedAt ?? null),
    problem: problem.join('; '),
  };
}

export interface StatusFilter {
  platform?: string[];
  scope?: string[];
  /** Outcomes (in-sync, degraded, …), or "problem" / "ok". */
  status?: string[];
  /** Ring numbers or names. */
  ring?: string[];
}

export function filterStatusRows(rows: StatusRow[], f: StatusFilter): StatusRow[] {
  const any = (want: string[] | undefined, test: (w: string) => boolean) => !want || want.length === 0 || want.some(test);
  return rows.filter(
    (r) =>
      any(f.platform, (p) => r.platform === p || r.platform.startsWith(`${p}-`)) &&
      any(f.scope, (s) => r.scope === s) &&
      any(f.status, (s) => (s === 'problem' ? r.problem !== '' : s === 'ok' ? r.problem === '' : r.status === s)) &&
      any(f.ring, (g) => r.ring !== null && (String(r.ring.ring) === g || r.ring.name === g)),
  );
}

export const STATUS_SORT_COLUMNS = ['cluster', 'platform', 'scope', 'desired', 'running', 'ring', 'nodes', 'coverage', 'drift', 'status', 'last-reconcile', 'last-change', 'problem'] as const;
export type StatusSortColumn = (typeof STATUS_SORT_COLUMNS)[number];

/** Stable sort by one column; ties by cluster reference. Times and problems sort the most urgent first (newest, non-empty). */
export function sortStatusRows(rows: StatusRow[], column: StatusSortColumn): StatusRow[] {
  const key = (r: StatusRow): string | number => {
    switch (column) {
      case 'cluster':
        return r.cluster;
      case 'platform':
        return r.platform;
      case 'scope':
        return r.scope;
      case 'desired':
        return r.desiredVersion ?? '';
      case 'running':
        return r.runningVersion ?? '';
      case 'ring':
        return r.ring ? r.ring.ring : Number.MAX_SAFE_INTEGER;
      case 'nodes':
        return -r.nodes.total;
      case 'coverage':
        return r.nodes.total === 0 ? 1 : r.nodes.covered / r.nodes.total;
      case 'drift':
        return r.drift.kind === 'none' ? 1 : 0;
      case 'status':
        return r.status;
      case 'last-reconcile':
        return -(Date.parse(r.lastReconcile ?? '') || 0);
      case 'last-change':
        return -(Date.parse(r.lastChange ?? '') || 0);
      case 'problem':
        return r.problem === '' ? `1${r.cluster}` : `0${r.problem}`;
    }
  };
  return [...rows].sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    const c = typeof ka === 'number' && typeof kb === 'number' ? ka - kb : String(ka).localeCompare(String(kb), 'en', { numeric: true });
    return c !== 0 ? c : a.cluster.localeCompare(b.cluster);
  });
}

export function renderStatus(rows: StatusRow[]): string {
  return renderTable(
    ['PLATFORM', 'SCOPE', 'CLUSTER', 'DESIRED', 'RUNNING', 'RING', 'NODES', 'STATUS', 'DRIFT', 'LAST RECONCILE', 'LAST CHANGE', 'PROBLEM'],
    rows.map((r) => [
      r.platform,
      r.scope,
      `${r.location}/${r.name}`,
      r.desiredVersion ?? '-',
      r.runningVersion ?? '-',
      r.ring ? `${r.ring.ring} ${r.ring.name}${r.ring.released ? '' : ' (waiting)'}` : '-',
      `${r.nodes.covered}/${r.nodes.total}`,
      r.status,
      r.drift.text,
      shortTime(r.lastReconcile),
      shortTime(r.lastChange),
      r.problem ? truncate(r.problem, 70) : '-',
    ]),
  );
}

/** 2026-12-01T22:47:02.409Z -> 2026-12-01 22:47:02Z */
function shortTime(iso: string | null): string {
  return iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-';
}
