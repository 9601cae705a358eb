import type { ClusterInventoryItem, ReconcileRecord } from '../state/records';
import type { RingClusterResult, RunRecord } from '../state/rollout-records';

/**
 * A rollout run's report, built from its records only (pure): the run record (rings, gates, halt,
 * history), each cluster's ring result, the clusters' inventory items and the reconcile records made
 * while the run was open. The same document is written as JSON and rendered as the HTML page.
 */
export const RUN_REPORT_SCHEMA = 'sensorfleet.run-report/1';

export interface CoverageBar {
  /** Platform (aws-eks, …) or ring number as a string. */
  key: string;
  label: string;
  clusters: number;
  covered: number;
  total: number;
  /** covered/total in percent, one decimal; 100 when a group has no node in scope. */
  percent: number;
}

export interface ReportCluster {
  cluster: string;
  platform: string;
  ring?: number;
  sensorVersion?: string;
  desiredVersion?: string;
  nodes: { covered: number; total: number };
  outcome: string;
  message: string;
  lastReconciledAt?: string;
  /** The cluster's answer in its ring, when its ring ran. */
  result?: { ok: boolean; outcome: string; message: string; at: string };
}

export interface AttentionItem {
  cluster: string;
  platform: string;
  ring?: number;
  reasons: string[];
  /** Nodes without a ready sensor of the current revision, each with why. */
  nodes: { node: string; reason: string }[];
}

export interface TimelineEntry {
  at: string;
  kind: 'run' | 'reconcile';
  cluster?: string;
  event: string;
}

export interface RunReport {
  schema: typeof RUN_REPORT_SCHEMA;
  generatedAt: string;
  run: {
    runId: string;
    status: RunRecord['status'];
    targetVersion: string;
    baselineVersion?: string;
    trigger: RunRecord['trigger'];
    startedAt: string;
    finishedAt?: string;
    halt?: { ring: number; reason: string; at: string };
    endReason?: string;
  };
  totals: { clusters: number; nodes: { covered: number; total: number }; coveragePercent: number; attention: number };
  coverage: { byPlatform: CoverageBar[]; byRing: CoverageBar[] };
  rings: { ring: number; name: string; gate: boolean; clusters: number; ok: number; failed: number; gateVerdict?: string; gateReason?: string }[];
  timeline: TimelineEntry[];
  clusters: ReportCluster[];
  attention: AttentionItem[];
}

export interface RunReportInput {
  run: RunRecord;
  results: RingClusterResult[];
  /** Inventory items of the run's clusters (missing ones are reported as never recorded). */
  inventory: ClusterInventoryItem[];
  /** Reconcile records of the run's clusters; only those made while the run was open are used. */
  reconciles: ReconcileRecord[];
  /** Each ring's clusters (key: ring number): the run record keeps only ring sizes, the members are chunk items. */
  members: Map<number, string[]>;
  /** Sensor restarts above this need attention (the gate's rollout.rings.maxRestarts). */
  maxRestarts?: number;
  generatedAt: string;
}

const HEALTHY_OUTCOMES = new Set(['in-sync', 'converged', 'progressing', 'skipped']);

export function buildRunReport(input: RunReportInput): RunReport {
  const { run } = input;
  const inventory = new Map(input.inventory.map((i) => [i.cluster, i]));
  // the newest result per cluster (a resumed ring answers again)
  const results = new Map<string, RingClusterResult>();
  for (const r of [...input.results].sort((a, b) => a.at.localeCompare(b.at))) results.set(r.cluster, r);
  const ringOf = new Map<string, number>();
  for (const ring of run.rings) for (const c of input.members.get(ring.ring) ?? []) ringOf.set(c, ring.ring);

  const clusters: ReportCluster[] = [...ringOf.keys()].sort().map((cluster) => {
    const item = inventory.get(cluster);
    const result = results.get(cluster);
    return {
      cluster,
      platform: item?.platform ?? cluster.split(':')[0]!,
      ring: ringOf.get(cluster),
      ...(item?.sensorVersion ? { sensorVersion: item.sensorVersion } : {}),
      ...(item?.desiredVersion ? { desiredVersion: item.desiredVersion } : {}),
      nodes: item?.nodes ?? { covered: 0, total: 0 },
      outcome: item?.outcome ?? 'not-recorded',
      message: item?.message ?? 'no reconcile of this cluster is recorded',
      ...(item?.lastReconciledAt ? { lastReconciledAt: item.lastReconciledAt } : {}),
      ...(result ? { result: { ok: result.ok, outcome: result.outcome, message: result.message, at: result.at } } : {}),
    };
  });

  const attention = clusters.flatMap((c): AttentionItem[] => {
    const item = inventory.get(c.cluster);
    const reasons: string[] = [];
    if (!item) reasons.push('never recorded: no reconcile of this cluster is in the fleet table');
    if (c.result && !c.result.ok) reasons.push(`ring ${c.ring} result ${c.result.outcome}: ${c.result.message}`);
    else if (item && !HEALTHY_OUTCOMES.has(item.outcome)) reasons.push(`${item.outcome}: ${item.message}`);
    for (const g of gateFailures(run, c.cluster, c.ring)) reasons.push(g);
    if (item?.restarts !== undefined && input.maxRestarts !== undefined && item.restarts > input.maxRestarts && !reasons.some((r) => /restarted/.test(r))) {
      reasons.push(`a sensor container restarted ${item.restarts} times (more than ${input.maxRestarts})`);
    }
    const nodes = (item?.uncovered ?? []).map((u) => ({ node: u.node, reason: u.reason }));
    if (nodes.length > 0 && reasons.length === 0) reasons.push(`${item!.nodes.covered}/${item!.nodes.total} nodes covered`);
    return reasons.length > 0 ? [{ cluster: c.cluster, platform: c.platform, ...(c.ring !== undefined ? { ring: c.ring } : {}), reasons, nodes }] : [];
  });

  const covered = sum(clusters.map((c) => c.nodes.covered));
  const total = sum(clusters.map((c) => c.nodes.total));
  return {
    schema: RUN_REPORT_SCHEMA,
    generatedAt: input.generatedAt,
    run: {
      runId: run.runId,
      status: run.status,
      targetVersion: run.targetVersion,
      ...(run.baselineVersion ? { baselineVersion: run.baselineVersion } : {}),
      trigger: run.trigger,
      startedAt: run.startedAt,
      ...(run.finishedAt ? { finishedAt: run.finishedAt } : {}),
      ...(run.halt ? { halt: { ring: run.halt.ring, reason: run.halt.reason, at: run.halt.at } } : {}),
      ...(run.endReason ? { endReason: run.endReason } : {}),
    },
    totals: { clusters: clusters.length, nodes: { covered, total }, coveragePercent: percent(covered, total), attention: attention.length },
    coverage: {
      byPlatform: bars(clusters, (c) => c.platform, (k) => k),
      byRing: bars(
        clusters.filter((c) => c.ring !== undefined),
        (c) => String(c.ring),
        (k) => `ring ${k} (${run.rings.find((r) => String(r.ring) === k)?.name ?? '?'})`,
      ),
    },
    rings: run.rings.map((r) => {
      const members = input.members.get(r.ring) ?? [];
      const answered = members.map((c) => results.get(c)).filter((x): x is RingClusterResult => x !== undefined && x.ring === r.ring);
      const gate = run.gates[String(r.ring)];
      return {
        ring: r.ring,
        name: r.name,
        gate: r.gate,
        clusters: members.length,
        ok: answered.filter((a) => a.ok).length,
        failed: answered.filter((a) => !a.ok).length,
        ...(gate ? { gateVerdict: gate.verdict, gateReason: gate.reason } : {}),
      };
    }),
    timeline: timeline(run, input.reconciles, new Set(ringOf.keys())),
    clusters,
    attention,
  };
}

/** The parts of a ring's failed gate that name this cluster (the gate joins its findings with " | "). */
function gateFailures(run: RunRecord, cluster: string, ring: number | undefined): string[] {
  if (ring === undefined) return [];
  const gate = run.gates[String(ring)];
  if (!gate || gate.verdict !== 'fail') return [];
  const parts = gate.reason.split(' | ');
  const mine = parts.filter((p) => p.includes(`${cluster}:`));
  const prefix = `ring ${ring} gate failed`;
  if (mine.length > 0) return mine.map((p) => `${prefix}: ${p.replace(`${cluster}: `, '')}`);
  // a reason that names no cluster (e.g. the Qualys check-in deadline) concerns the whole ring
  return parts.some((p) => /^[a-z]+-[a-z]+:[^ ]+:/.test(p)) ? [] : [`${prefix}: ${gate.reason}`];
}

function timeline(run: RunRecord, reconciles: ReconcileRecord[], clusters: Set<string>): TimelineEntry[] {
  const end = run.finishedAt ?? '\uffff';
  const entries: TimelineEntry[] = run.history.map((h) => ({ at: h.at, kind: 'run', event: h.event }));
  for (const r of reconciles) {
    if (!clusters.has(r.cluster) || r.outcome === 'applying') continue;
    if (r.finishedAt < run.startedAt || r.startedAt > end) continue;
    const version = r.version ? ` at ${r.version.desired}${r.version.source !== 'released' ? ` (${r.version.reason})` : ''}` : '';
    const writes = r.changed.writes > 0 ? `, ${r.changed.writes} write(s)` : '';
    entries.push({ at: r.finishedAt, kind: 'reconcile', cluster: r.cluster, event: `${r.trigger.kind}${r.run ? ` (ring ${r.run.ring})` : ''}: ${r.outcome}${version}${writes}: ${r.message}` });
  }
  return entries.sort((a, b) => a.at.localeCompare(b.at) || (a.kind === b.kind ? 0 : a.kind === 'run' ? -1 : 1));
}

function bars(clusters: ReportCluster[], keyOf: (c: ReportCluster) => string, labelOf: (key: string) => string): CoverageBar[] {
  const groups = new Map<string, ReportCluster[]>();
  for (const c of clusters) groups.set(keyOf(c), [...(groups.get(keyOf(c)) ?? []), c]);
  return [...groups.entries()]
    .sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }))
    .map(([key, cs]) => {
      const covered = sum(cs.map((c) => c.nodes.covered));
      const total = sum(cs.map((c) => c.nodes.total));
      return { key, label: labelOf(key), clusters: cs.length, covered, total, percent: percent(covered, total) };
    });
}

function percent(covered: number, total: number): number {
  return total === 0 ? 100 : Math.round((covered / total) * 1000) / 10;
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}
