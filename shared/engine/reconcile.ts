import { randomUUID } from 'node:crypto';
import { formatClusterRef, type ClusterRef } from '../domain/cluster-ref';
import { driftOf } from '../domain/drift';
import type { ClusterPlan, Coverage, DesiredSensor, PlanOptions } from '../platforms/types';
import { CallCounter, countCalls } from '../runtime/call-log';
import { ClusterNotFoundError, ClusterNotReadyError, ClusterSkippedError, errorMessage, isTerminalError, SensorfleetError } from '../runtime/errors';
import type { ClusterInventoryItem, ReconcileOutcome, ReconcileRecord, ReconcileTrigger } from '../state/records';
import type { FleetStore } from '../state/store';
import type { AdapterRegistry } from './adapters';
import { assessCluster, changesOf, type Assessment } from './assess';
import type { ProgressListener } from './progress';
import type { VersionChoice } from './desired-version';

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
  /** The version this cluster may run (its ring's release); absent: the configuration's version. */
  version?: VersionChoice;
  /**
   * The worker's mode: verify looks once; a rollout still under way is recorded as 'progressing' and the
   * item comes back later (its deadline counts from the first 'progressing' record). Never a wait.
   */
  verifyOnce?: boolean;
  /** The rollout run and ring this reconcile belongs to (recorded). */
  run?: { id: string; ring: number };
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

export async function assessCounted(ref: ClusterRef, deps: ReconcileDeps, options: PlanOptions & { version?: VersionChoice }): Promise<AssessedCluster> {
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
  const id = randomUUID();
  const result = await countCalls(x.counter, async () => {
    if (x.error || !x.assessment) return x.error ?? { outcome: 'failed' as const, message: 'not assessed' };
    try {
      return await executeAssessment(x.assessment, deps, options, (changes) => recordIntent(x, id, changes, deps, options));
    } catch (err) {
      return outcomeOfError(err);
    }
  });
  const plan = x.assessment?.kind === 'planned' ? x.assessment.plan : undefined;
  const version = x.assessment?.kind === 'planned' ? x.assessment.version : undefined;
  const record: ReconcileRecord = {
    ...recordHead(x, id, deps, options),
    outcome: result.outcome,
    message: result.message,
    observed: { status: result.status, sensorVersion: plan?.sensorVersion.current },
    planned: plan?.actions ?? [],
    changed: { writes: fleetWrites(x.counter), reads: x.counter.reads },
    verified: result.coverage,
    dryRun: options.dryRun ?? false,
    ...(result.terminal ? { terminal: true } : {}),
    ...(version ? { version } : {}),
    ...(options.run ? { run: options.run } : {}),
  };
  if (deps.store && !options.dryRun) {
    try {
      const store = deps.store;
      let previous: Promise<ClusterInventoryItem | undefined> | undefined;
      const previousItem = () => (previous ??= store.getCluster(record.cluster));
      const nodes = await countCalls(x.counter, () => knownNodes(x, result.coverage, previousItem));
      // the last change is this reconcile's, or (it wrote nothing) the one the inventory already names
      const lastChangedAt = record.changed.writes > 0 ? record.finishedAt : (await countCalls(x.counter, previousItem))?.lastChangedAt;
      const desired = x.assessment?.kind === 'planned' ? (x.assessment.desired ?? deps.desired) : deps.desired;
      const item = inventoryItem(record, desired, nodes);
      await store.recordReconcile(record, { ...item, drift: driftOf(item, record), ...(lastChangedAt ? { lastChangedAt } : {}), ...rolloutFields(record, result) });
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
async function knownNodes(x: AssessedCluster, coverage: Coverage | undefined, previousItem: () => Promise<ClusterInventoryItem | undefined>): Promise<NodeNames | undefined> {
  if (!coverage) return undefined;
  if (coverage.nodeNames) return { nodeNames: coverage.nodeNames, hostnames: coverage.hostnames };
  const previous = await previousItem();
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
  /** 'progressing': since when (ISO time); the deadline counts from here. */
  progressingSince?: string;
}

/** The intent could not be written: nothing was changed (no write is made without its intent on record). */
export class IntentNotRecordedError extends SensorfleetError {
  override name = 'IntentNotRecordedError';
  constructor(cluster: string, changes: number, cause: unknown) {
    super(`nothing was changed on ${cluster}: the intent to make ${changes} change(s) could not be recorded in the fleet table first (${errorMessage(cause)})`, { cause });
  }
}

/** What the intent and the outcome record of one reconcile share: which cluster, when, and why it ran. */
function recordHead(x: AssessedCluster, id: string, deps: ReconcileDeps, options: ReconcileOptions): Pick<ReconcileRecord, 'id' | 'cluster' | 'platform' | 'startedAt' | 'finishedAt' | 'trigger'> {
  return { id, cluster: formatClusterRef(x.ref), platform: x.ref.platform, startedAt: x.started.toISOString(), finishedAt: clock(deps)().toISOString(), trigger: options.trigger };
}

/** Audit: the intent (what is about to change, and why) goes on record before the first write; the outcome replaces it after. */
async function recordIntent(x: AssessedCluster, id: string, changes: ClusterPlan['actions'], deps: ReconcileDeps, options: ReconcileOptions): Promise<void> {
  if (!deps.store?.recordIntent || options.dryRun) return;
  const a = x.assessment?.kind === 'planned' ? x.assessment : undefined;
  const intent: ReconcileRecord = {
    ...recordHead(x, id, deps, options),
    outcome: 'applying',
    message: `intent: about to make ${changes.length} change(s): ${summarise(changes)}; the outcome replaces this record`,
    observed: { status: a?.connected.status, sensorVersion: a?.plan.sensorVersion.current },
    planned: a?.plan.actions ?? [],
    changed: { writes: 0, reads: x.counter.reads },
    dryRun: false,
    ...(a?.version ? { version: a.version } : {}),
    ...(options.run ? { run: options.run } : {}),
  };
  try {
    await deps.store.recordIntent(intent);
  } catch (err) {
    throw new IntentNotRecordedError(intent.cluster, changes.length, err);
  }
}

async function executeAssessment(a: Assessment, deps: ReconcileDeps, options: ReconcileOptions, intent: (changes: ClusterPlan['actions']) => Promise<void> = async () => {}): Promise<ExecutionResult> {
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
  if (changes.length > 0) {
    await intent(changes);
    await a.adapter.apply(a.connected, a.plan);
  }
  const rollout = deps.desired.config.rollout;
  const listener = options.onProgress;
  const coverage = await a.adapter.verify(a.connected, a.desired ?? deps.desired, {
    deadlineMs: rollout.deadlineSeconds * 1000,
    pollMs: rollout.pollSeconds * 1000,
    ...(listener ? { onProgress: (p: { updated: number; total: number; message: string }) => listener({ kind: 'rollout', cluster: formatClusterRef(a.ref), ...p }) } : {}),
    ...(options.verifyOnce ? { once: true } : {}),
  });
  if (coverage.rollout.state === 'progressing') return { ...(await progressing(a.ref, coverage, deps)), coverage, status };
  const outcome = outcomeOfCoverage(coverage, changes.length);
  if (options.verifyOnce && outcome.outcome === 'in-sync' && (await deps.store?.getCluster(formatClusterRef(a.ref)))?.outcome === 'progressing') {
    // the rollout an earlier attempt started (and left 'progressing') has finished: that change converged
    return { outcome: 'converged', message: `rollout finished: ${outcome.message.replace(/^in sync; /, '')}`, coverage, status };
  }
  return { ...outcome, coverage, status };
}

/**
 * A rollout still under way after one look (the worker's mode): 'progressing' until the rollout
 * deadline, counted from the first 'progressing' record of the cluster; 'stuck' after it, or at once
 * when a sensor container of the new revision restarted more than rings.maxRestarts times.
 */
async function progressing(ref: ClusterRef, coverage: Coverage, deps: ReconcileDeps): Promise<Pick<ExecutionResult, 'outcome' | 'message' | 'progressingSince'>> {
  const now = clock(deps)();
  const { deadlineSeconds, rings } = deps.desired.config.rollout;
  const nodes = `${coverage.covered}/${coverage.total} nodes updated`;
  const previous = await deps.store?.getCluster(formatClusterRef(ref));
  const since = previous?.outcome === 'progressing' && previous.progressingSince ? previous.progressingSince : now.toISOString();
  const waited = Math.round((now.getTime() - Date.parse(since)) / 1000);
  if (coverage.restarts && coverage.restarts.max > rings.maxRestarts) {
    return { outcome: 'stuck', message: `rollout stuck: sensor pod ${coverage.restarts.pod} restarted ${coverage.restarts.max} times (more than ${rings.maxRestarts}); ${nodes}` };
  }
  if (waited >= deadlineSeconds) {
    const why = coverage.uncovered.slice(0, 3).map((u) => `${u.node}: ${u.reason}`).join('; ');
    return { outcome: 'stuck', message: `rollout stuck: not finished within ${deadlineSeconds} s; ${nodes}${why ? `; ${why}` : ''}` };
  }
  return { outcome: 'progressing', message: `rolling out: ${nodes} (${coverage.rollout.message})`, progressingSince: since };
}

/** Inventory fields the rollout needs: the target when the cluster is kept at an older version, the rollout clock, restarts seen. */
function rolloutFields(record: ReconcileRecord, result: ExecutionResult): Partial<ClusterInventoryItem> {
  const v = record.version;
  return {
    ...(v && v.desired !== v.target ? { targetVersion: v.target } : {}),
    ...(result.progressingSince ? { progressingSince: result.progressingSince } : {}),
    ...(result.coverage?.restarts ? { restarts: result.coverage.restarts.max } : {}),
  };
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
