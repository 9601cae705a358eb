import { randomUUID } from 'node:crypto';
import { formatClusterRef, type ClusterRef } from '../domain/cluster-ref';
import type { Coverage, DesiredSensor, PlanOptions } from '../platforms/types';
import { CallCounter, countCalls } from '../runtime/call-log';
import { ClusterNotFoundError, ClusterNotReadyError, ClusterSkippedError, errorMessage, isTerminalError, SensorfleetError } from '../runtime/errors';
import type { ClusterInventoryItem, ReconcileOutcome, ReconcileRecord, ReconcileTrigger } from '../state/records';
import type { FleetStore } from '../state/store';
import type { AdapterRegistry } from './adapters';
import { assessCluster, changesOf, type Assessment } from './assess';
import type { ProgressListener } from './progress';

export interface ReconcileDeps {
  adapters: AdapterRegistry;
  desired: DesiredSensor;
  store?: FleetStore;
  now?: () => Date;
}

export interface ReconcileOptions extends PlanOptions {
  trigger: ReconcileTrigger;
  dryRun?: boolean;
  /** Set when changes must wait (maintenance window, blast-radius guard): the reason is recorded. */
  holdReason?: string;
  /** Rollout waits report nodes updated/total here while they poll (CLI progress). */
  onProgress?: ProgressListener;
}

/** Services whose mutating calls count as changes to the fleet (our own queue and table do not). */
const FLEET_SERVICES = new Set(['ECS', 'EKS', 'kubernetes', 'AutoScaling']);

export function fleetWrites(counter: CallCounter): number {
  return counter.calls.filter((c) => c.mutating && FLEET_SERVICES.has(c.service)).length;
}

/** observe -> plan -> apply -> verify for one cluster, recorded. Never throws for a cluster problem. */
export async function reconcileCluster(ref: ClusterRef, deps: ReconcileDeps, options: ReconcileOptions): Promise<ReconcileRecord> {
  return finishCluster(await assessCounted(ref, deps, options), deps, options);
}

/** A cluster after connect/observe/plan, with the calls it cost so far. */
export interface AssessedCluster {
  ref: ClusterRef;
  started: Date;
  counter: CallCounter;
  assessment?: Assessment;
  error?: ExecutionResult;
}

export async function assessCounted(ref: ClusterRef, deps: ReconcileDeps, options: PlanOptions): Promise<AssessedCluster> {
  const counter = new CallCounter();
  const started = clock(deps)();
  return countCalls(counter, async () => {
    try {
      return { ref, started, counter, assessment: await assessCluster(ref, deps.adapters, deps.desired, options) };
    } catch (err) {
      return { ref, started, counter, error: outcomeOfError(err) };
    }
  });
}

/** apply + verify (unless dry run or held), then record. */
export async function finishCluster(x: AssessedCluster, deps: ReconcileDeps, options: ReconcileOptions): Promise<ReconcileRecord> {
  try {
    return await finishAndRecord(x, deps, options);
  } finally {
    releaseCluster(x);
  }
}

/** Closes what connect opened (Kubernetes keep-alive sockets); a failure to close never fails the reconcile. */
function releaseCluster(x: AssessedCluster): void {
  const a = x.assessment;
  if (a?.kind !== 'planned') return;
  try {
    a.adapter.release?.(a.connected);
  } catch {
    // nothing left to do for this cluster
  }
}

async function finishAndRecord(x: AssessedCluster, deps: ReconcileDeps, options: ReconcileOptions): Promise<ReconcileRecord> {
  const result = await countCalls(x.counter, async () => {
    if (x.error || !x.assessment) return x.error ?? { outcome: 'failed' as const, message: 'not assessed' };
    try {
      return await executeAssessment(x.assessment, deps, options);
    } catch (err) {
      return outcomeOfError(err);
    }
  });
  const plan = x.assessment?.kind === 'planned' ? x.assessment.plan : undefined;
  const record: ReconcileRecord = {
    id: randomUUID(),
    cluster: formatClusterRef(x.ref),
    platform: x.ref.platform,
    startedAt: x.started.toISOString(),
    finishedAt: clock(deps)().toISOString(),
    trigger: options.trigger,
    outcome: result.outcome,
    message: result.message,
    observed: { status: result.status, sensorVersion: plan?.sensorVersion.current },
    planned: plan?.actions ?? [],
    changed: { writes: fleetWrites(x.counter), reads: x.counter.reads },
    verified: result.coverage,
    dryRun: options.dryRun ?? false,
    ...(result.terminal ? { terminal: true } : {}),
  };
  if (deps.store && !options.dryRun) {
    try {
      const nodes = await countCalls(x.counter, () => knownNodes(x, result.coverage, deps.store!));
      await deps.store.recordReconcile(record, inventoryItem(record, deps.desired, nodes));
    } catch (err) {
      throw new RecordNotWrittenError(record, err);
    }
  }
  return record;
}

/** The reconcile ran (and may have changed the cluster) but its record could not be stored: it travels with the error, to be logged. */
export class RecordNotWrittenError extends SensorfleetError {
  override name = 'RecordNotWrittenError';
  constructor(
    readonly record: ReconcileRecord,
    cause: unknown,
  ) {
    super(`the reconcile of ${record.cluster} (${record.outcome}, ${record.changed.writes} write(s)) could not be recorded: ${errorMessage(cause)}`, { cause });
  }
}

type NodeNames = Pick<Coverage, 'nodeNames' | 'hostnames'>;

/**
 * Node names for the inventory (Qualys hygiene matches sensors to them). A fast-path verify (counts
 * only) lists no nodes: keep the names last listed while the count is unchanged, else list them.
 */
async function knownNodes(x: AssessedCluster, coverage: Coverage | undefined, store: FleetStore): Promise<NodeNames | undefined> {
  if (!coverage) return undefined;
  if (coverage.nodeNames) return { nodeNames: coverage.nodeNames, hostnames: coverage.hostnames };
  const previous = await store.getCluster(formatClusterRef(x.ref));
  if (previous?.nodeNames && previous.nodeNames.length === coverage.total) return { nodeNames: previous.nodeNames, hostnames: previous.hostnames };
  const a = x.assessment;
  if (a?.kind !== 'planned' || !a.adapter.listNodes) return undefined;
  try {
    return await a.adapter.listNodes(a.connected);
  } catch {
    return undefined; // the inventory then says the node list is unknown; the Qualys purge will not run on it
  }
}

export interface ExecutionResult {
  outcome: ReconcileOutcome;
  message: string;
  coverage?: Coverage;
  status?: string;
  /** The failure is one retrying cannot fix (isTerminalError). */
  terminal?: boolean;
}

async function executeAssessment(a: Assessment, deps: ReconcileDeps, options: ReconcileOptions): Promise<ExecutionResult> {
  if (a.kind === 'skipped') return { outcome: 'skipped', message: a.message, status: a.status };
  const changes = changesOf(a.plan);
  const status = a.connected.status;
  if (options.dryRun) {
    return changes.length === 0
      ? { outcome: 'in-sync', message: 'in sync: nothing to change', status }
      : { outcome: 'planned', message: `would make ${changes.length} change(s): ${summarise(changes)}`, status };
  }
  if (changes.length > 0 && options.holdReason) {
    return { outcome: 'held', message: `held (${options.holdReason}): ${changes.length} change(s) waiting: ${summarise(changes)}`, status };
  }
  if (changes.length > 0) await a.adapter.apply(a.connected, a.plan);
  const rollout = deps.desired.config.rollout;
  const listener = options.onProgress;
  const coverage = await a.adapter.verify(a.connected, deps.desired, {
    deadlineMs: rollout.deadlineSeconds * 1000,
    pollMs: rollout.pollSeconds * 1000,
    ...(listener ? { onProgress: (p: { updated: number; total: number; message: string }) => listener({ kind: 'rollout', cluster: formatClusterRef(a.ref), ...p }) } : {}),
  });
  return { ...outcomeOfCoverage(coverage, changes.length), coverage, status };
}

function outcomeOfCoverage(coverage: Coverage, changes: number): { outcome: ReconcileOutcome; message: string } {
  const nodes = `${coverage.covered}/${coverage.total} nodes covered${outOfScopeNote(coverage)}`;
  if (coverage.rollout.state === 'stuck') return { outcome: 'stuck', message: `rollout stuck: ${coverage.rollout.message}; ${nodes}` };
  if (coverage.uncovered.length > 0) {
    const why = coverage.uncovered.slice(0, 3).map((u) => `${u.node}: ${u.reason}`).join('; ');
    return { outcome: 'degraded', message: `${nodes}; ${why}${coverage.uncovered.length > 3 ? '; …' : ''}` };
  }
  return changes > 0
    ? { outcome: 'converged', message: `applied ${changes} change(s); ${nodes}` }
    : { outcome: 'in-sync', message: `in sync; ${nodes}` };
}

/** Nodes the sensor image cannot run on (Windows, an unsupported CPU) are named, not counted as uncovered. */
function outOfScopeNote(coverage: Coverage): string {
  const out = coverage.outOfScope ?? [];
  if (out.length === 0) return '';
  const reasons = [...new Set(out.map((o) => o.reason))].slice(0, 2).join('; ');
  return ` (${out.length} node(s) out of scope: ${reasons})`;
}

function outcomeOfError(err: unknown): ExecutionResult {
  if (err instanceof ClusterNotReadyError) return { outcome: 'not-ready', message: err.message, status: err.status };
  if (err instanceof ClusterNotFoundError) return { outcome: 'skipped', message: err.message, status: 'NOT_FOUND' };
  if (err instanceof ClusterSkippedError) return { outcome: 'skipped', message: err.message, ...(err.status ? { status: err.status } : {}) };
  return { outcome: 'failed', message: errorMessage(err), ...(isTerminalError(err) ? { terminal: true } : {}) };
}

function summarise(actions: { reason: string }[]): string {
  const shown = actions.slice(0, 3).map((a) => a.reason).join('; ');
  return actions.length > 3 ? `${shown}; and ${actions.length - 3} more` : shown;
}

function clock(deps: ReconcileDeps): () => Date {
  return deps.now ?? (() => new Date());
}

function inventoryItem(record: ReconcileRecord, desired: DesiredSensor, nodes?: NodeNames): ClusterInventoryItem {
  const cov = record.verified;
  return {
    cluster: record.cluster,
    platform: record.platform,
    outcome: record.outcome,
    message: record.message,
    sensorVersion: cov?.sensorVersion ?? record.observed.sensorVersion,
    desiredVersion: desired.config.sensor.version,
    nodes: { covered: cov?.covered ?? 0, total: cov?.total ?? 0 },
    uncovered: cov?.uncovered ?? [],
    ...(cov?.outOfScope?.length ? { outOfScope: cov.outOfScope } : {}),
    lastReconcileId: record.id,
    lastReconciledAt: record.finishedAt,
    ...(nodes?.nodeNames ? { nodeNames: nodes.nodeNames } : {}),
    ...(nodes?.hostnames && Object.keys(nodes.hostnames).length ? { hostnames: nodes.hostnames } : {}),
  };
}
