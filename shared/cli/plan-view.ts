/**
 * `plan` as a diff people already know how to read (kubectl diff, terraform plan): per cluster, per
 * object, `+` create, `~` update, `-` delete (and `!` a finding, never applied), each update with its
 * field paths and old → new values, then one summary line. Built from the planner's own actions
 * (PlannedAction.changes), so what is shown is what a reconcile would do. Secret values never appear.
 */
import { describeScope, parseClusterRef } from '../domain/cluster-ref';
import type { BlastRadiusVerdict } from '../engine/blast-radius';
import type { FieldChange, PlannedAction } from '../platforms/types';
import type { ReconcileRecord } from '../state/records';
import type { Palette } from './colour';
import { withoutCluster } from './fleet-view';

export type ObjectOp = 'create' | 'update' | 'delete' | 'finding';

export interface ObjectDiff {
  op: ObjectOp;
  type: string;
  target: string;
  reason: string;
  changes: FieldChange[];
}

export type ClusterState = 'change' | 'in-sync' | 'failed' | 'not-found' | 'skipped' | 'not-ready' | 'held';

export interface ClusterDiff {
  cluster: string;
  state: ClusterState;
  outcome: string;
  message: string;
  sensorVersion: { current?: string; desired: string };
  objects: ObjectDiff[];
}

export interface PlanSummary {
  clusters: number;
  clustersToChange: number;
  create: number;
  update: number;
  delete: number;
  findings: number;
  inSync: number;
  failed: number;
  notFound: number;
  skipped: number;
  notReady: number;
}

export interface PlanView {
  dryRun: true;
  clusters: ClusterDiff[];
  summary: PlanSummary;
  /** Scopes discovery could not list: the plan does not cover them. */
  discoveryErrors: { scope: string; message: string }[];
  /** API calls the plan made (a plan writes nothing). */
  calls: { reads: number; writes: number };
  /** The blast-radius guard's verdict on these plans: `held` means a reconcile without --force would stop before changing anything. */
  blastRadius?: BlastRadiusVerdict;
}

const SYMBOL: Record<ObjectOp, string> = { create: '+', update: '~', delete: '-', finding: '!' };

/**
 * Whether an action creates, updates or deletes its object. Kubernetes applies say `create`; an ECS
 * service is created by create-service, and the task definition registered with it is new too,
 * while one registered for an existing service is a new revision: an update, with its field changes.
 */
export function opOf(action: PlannedAction, plan: readonly PlannedAction[]): ObjectOp {
  if (action.type === 'finding') return 'finding';
  if (action.type.startsWith('delete')) return 'delete';
  if ((action as { create?: unknown }).create === true || action.type.startsWith('create')) return 'create';
  if (action.type === 'register-task-definition' && plan.some((a) => a.type === 'create-service')) return 'create';
  return 'update';
}

export function stateOf(r: ReconcileRecord): ClusterState {
  if (r.observed.status === 'NOT_FOUND') return 'not-found';
  switch (r.outcome) {
    case 'planned':
      return 'change';
    case 'failed':
    case 'stuck':
      return 'failed';
    case 'skipped':
      return 'skipped';
    case 'not-ready':
      return 'not-ready';
    case 'held':
      return 'held';
    default:
      return 'in-sync';
  }
}

export function planView(
  records: ReconcileRecord[],
  desiredVersion: string,
  discoveryErrors: PlanView['discoveryErrors'] = [],
  calls: PlanView['calls'] = { reads: 0, writes: 0 },
  blastRadius?: BlastRadiusVerdict,
): PlanView {
  const clusters = records.map((r): ClusterDiff => ({
    cluster: r.cluster,
    state: stateOf(r),
    outcome: r.outcome,
    message: r.message,
    sensorVersion: { ...(r.observed.sensorVersion ? { current: r.observed.sensorVersion } : {}), desired: desiredVersion },
    objects: r.planned.map((a) => ({ op: opOf(a, r.planned), type: a.type, target: a.target, reason: withoutTarget(a), changes: a.changes ?? [] })),
  }));
  const objects = clusters.flatMap((c) => (c.state === 'change' ? c.objects : []));
  const count = (op: ObjectOp) => objects.filter((o) => o.op === op).length;
  const inState = (s: ClusterState) => clusters.filter((c) => c.state === s).length;
  return {
    dryRun: true,
    clusters,
    summary: {
      clusters: clusters.length,
      clustersToChange: inState('change'),
      create: count('create'),
      update: count('update'),
      delete: count('delete'),
      findings: clusters.flatMap((c) => c.objects).filter((o) => o.op === 'finding').length,
      inSync: inState('in-sync'),
      failed: inState('failed'),
      notFound: inState('not-found'),
      skipped: inState('skipped'),
      notReady: inState('not-ready'),
    },
    discoveryErrors,
    calls,
    ...(blastRadius ? { blastRadius } : {}),
  };
}

/** The warning a plan prints when a reconcile of the same clusters would be held by the blast-radius guard. */
export function blastRadiusWarning(view: PlanView): string | undefined {
  const g = view.blastRadius;
  return g?.held ? `warning: reconcile would stop at the blast-radius guard and change nothing: it ${g.reason}; reconcile --force overrides it` : undefined;
}

/** Nothing failed, nothing was missed: every named cluster exists and every scope was listed. */
export function planFailed(view: PlanView): boolean {
  return view.summary.failed > 0 || view.summary.notFound > 0 || view.discoveryErrors.length > 0 || view.clusters.length === 0;
}

/** "2 clusters to change: 1 object to create, 3 to update; 14 in sync; 1 failed". */
export function summaryLine(s: PlanSummary): string {
  const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
  const ops = [
    ['create', s.create],
    ['update', s.update],
    ['delete', s.delete],
  ].filter(([, n]) => (n as number) > 0) as [string, number][];
  const head =
    s.clustersToChange > 0
      ? `${plural(s.clustersToChange, 'cluster')} to change: ${ops.map(([op, n], i) => (i === 0 ? `${plural(n, 'object')} to ${op}` : `${n} to ${op}`)).join(', ')}; ${s.inSync} in sync`
      : s.clusters === 0
        ? 'no cluster to plan'
        : `no changes: ${plural(s.inSync, 'cluster')} in sync`;
  const tail = [
    s.notFound ? `${s.notFound} not found` : '',
    s.failed ? `${s.failed} failed` : '',
    s.notReady ? `${s.notReady} not ready` : '',
    s.skipped ? `${s.skipped} skipped` : '',
    s.findings ? plural(s.findings, 'finding') : '',
  ].filter(Boolean);
  return [head, ...tail].join('; ');
}

/** The diff as text: clusters with something to show (in-sync clusters are only counted), then the summary. */
export function renderPlan(view: PlanView, c: Palette): string {
  const lines: string[] = [];
  const colourOf: Record<ObjectOp, (s: string) => string> = { create: c.green, update: c.yellow, delete: c.red, finding: c.cyan };
  for (const cluster of view.clusters) {
    const shown = cluster.objects.filter((o) => cluster.state === 'change' || o.op === 'finding');
    if (cluster.state === 'in-sync' && shown.length === 0) continue;
    const v = cluster.sensorVersion;
    const version = v.current && v.current !== v.desired && cluster.state === 'change' ? c.dim(`  (sensor ${v.current} → ${v.desired})`) : '';
    const status =
      cluster.state === 'change' || cluster.state === 'in-sync'
        ? ''
        : `  ${(cluster.state === 'failed' || cluster.state === 'not-found' ? c.red : c.dim)(cluster.state === 'not-found' ? `not found in ${describeScope(parseClusterRef(cluster.cluster))}` : `${cluster.state.replace('-', ' ')}: ${withoutCluster(cluster.cluster, cluster.message)}`)}`;
    lines.push(`${c.bold(cluster.cluster)}${version}${status}`);
    for (const o of shown) {
      const paint = colourOf[o.op];
      const showReason = o.op === 'finding' || o.changes.length === 0 || o.type === 'restart';
      lines.push(paint(`  ${SYMBOL[o.op]} ${o.target}`) + (showReason ? c.dim(`  ${o.reason}`) : ''));
      for (const ch of o.changes) lines.push(paint(`      ${ch.path}: ${ch.secret ? '(secret value changed)' : `${show(ch.from)} → ${show(ch.to)}`}`));
    }
  }
  for (const e of view.discoveryErrors) lines.push(c.red(`could not list ${e.scope}: ${e.message}`));
  const held = blastRadiusWarning(view);
  if (held) lines.push(c.yellow(held));
  if (lines.length > 0) lines.push('');
  lines.push(c.bold(summaryLine(view.summary)));
  return lines.join('\n');
}

function withoutTarget(a: PlannedAction): string {
  return a.reason.startsWith(`${a.target}: `) ? a.reason.slice(a.target.length + 2) : a.reason;
}

function show(v: unknown): string {
  if (v === undefined) return '(none)';
  const text = typeof v === 'string' ? v : JSON.stringify(v);
  return text.length > 100 ? `${text.slice(0, 99)}…` : text;
}
