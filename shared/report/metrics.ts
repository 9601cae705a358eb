import type { ClusterInventoryItem, ReconcileRecord } from '../state/records';
import type { RunReport } from './model';

/**
 * The fleet's figures as CloudWatch metrics (pure: records in, values out); shared/lambda/powertools.ts
 * emits them through Powertools (EMF). Names are the alarms' (serverless.yml): fleet_coverage_percent
 * (fleet-wide, service dimension only), dlq_depth.
 */
export type MetricUnitName = 'Count' | 'Percent';

export interface MetricValue {
  name: string;
  unit: MetricUnitName;
  value: number;
}

const FAILED = new Set(['failed']);

/** After one reconcile (worker): that cluster's coverage, drift, remediation, failure, stuck rollout. */
export function reconcileMetrics(r: ReconcileRecord): MetricValue[] {
  if (r.outcome === 'applying' || r.outcome === 'not-ready' || r.dryRun) return [];
  const applied = r.planned.filter((a) => a.type !== 'finding');
  // drift: our sensor was there at the version it should run, yet objects differed (not an install, not an upgrade)
  const drifted = applied.length > 0 && r.observed.sensorVersion !== undefined && (r.version?.desired === undefined || r.observed.sensorVersion === r.version.desired);
  const out: MetricValue[] = [
    { name: 'drifted_clusters', unit: 'Count', value: drifted ? 1 : 0 },
    { name: 'remediations', unit: 'Count', value: drifted && r.changed.writes > 0 ? 1 : 0 },
    { name: 'reconcile_failures', unit: 'Count', value: FAILED.has(r.outcome) ? 1 : 0 },
    { name: 'stuck_rollouts', unit: 'Count', value: r.outcome === 'stuck' ? 1 : 0 },
  ];
  // while a rollout is under way the coverage is the rollout's progress: the item comes back and reports it when done
  if (r.verified && r.outcome !== 'progressing') {
    out.push({ name: 'uncovered_nodes', unit: 'Count', value: r.verified.total - r.verified.covered });
    out.push({ name: 'cluster_coverage_percent', unit: 'Percent', value: percent(r.verified.covered, r.verified.total) });
  }
  return out;
}

/** The whole inventory (nightly): fleet coverage, uncovered nodes, clusters stuck or failed. */
export function fleetMetrics(items: ClusterInventoryItem[]): MetricValue[] {
  const covered = items.reduce((n, i) => n + i.nodes.covered, 0);
  const total = items.reduce((n, i) => n + i.nodes.total, 0);
  return [
    { name: 'fleet_coverage_percent', unit: 'Percent', value: percent(covered, total) },
    { name: 'fleet_uncovered_nodes', unit: 'Count', value: total - covered },
    { name: 'fleet_stuck_rollouts', unit: 'Count', value: items.filter((i) => i.outcome === 'stuck').length },
    { name: 'fleet_failed_clusters', unit: 'Count', value: items.filter((i) => FAILED.has(i.outcome)).length },
  ];
}

/** Where a run halts or finishes (worker): its clusters' coverage and what needs attention. */
export function runMetrics(report: RunReport): MetricValue[] {
  return [
    { name: 'run_coverage_percent', unit: 'Percent', value: report.totals.coveragePercent },
    { name: 'run_uncovered_nodes', unit: 'Count', value: report.totals.nodes.total - report.totals.nodes.covered },
    { name: 'run_attention_clusters', unit: 'Count', value: report.totals.attention },
    { name: 'rollout_halted', unit: 'Count', value: report.run.status === 'halted' ? 1 : 0 },
    { name: 'stuck_rollouts', unit: 'Count', value: report.clusters.filter((c) => c.outcome === 'stuck').length },
  ];
}

function percent(covered: number, total: number): number {
  return total === 0 ? 100 : Math.round((covered / total) * 1000) / 10;
}
