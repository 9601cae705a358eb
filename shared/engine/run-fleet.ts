import { randomUUID } from 'node:crypto';
import pLimit from 'p-limit';
import { formatClusterRef, type ClusterRef } from '../domain/cluster-ref';
import type { ClusterPlan, PlanOptions } from '../platforms/types';
import { CallCounter, countCalls } from '../runtime/call-log';
import type { ReconcileRecord, ReconcileTrigger } from '../state/records';
import { changesOf } from './assess';
import { blastRadius, type BlastRadiusVerdict } from './blast-radius';
import { assessCounted, finishCluster, fleetWrites, type AssessedCluster, type ReconcileDeps } from './reconcile';
import type { ProgressListener } from './progress';
import { planWaves } from './waves';
import { activeWindow } from './windows';

/** Decides whether the next wave may start, from the records of the wave that just finished. */
export type WaveGate = (wave: ReconcileRecord[]) => Promise<{ pass: boolean; reason: string }>;

export interface FleetRunOptions extends PlanOptions {
  clusters: ClusterRef[];
  trigger: ReconcileTrigger;
  dryRun?: boolean;
  /** Overrides the blast-radius guard and maintenance windows (the record's trigger says so). */
  forceRun?: boolean;
  /** e.g. the Qualys check-in gate: sensors of the wave checked in at the new version. */
  waveGate?: WaveGate;
  /** Assessments, waves, rollout waits and finished clusters as they happen (CLI progress). */
  onProgress?: ProgressListener;
}

export interface FleetRunReport {
  runId: string;
  startedAt: string;
  finishedAt: string;
  dryRun: boolean;
  clusters: ReconcileRecord[];
  /** Mutating calls to the fleet (ECS, EKS, Kubernetes) made by the run. */
  writes: number;
  reads: number;
  waves: number;
  /** Result of the health gate after each wave that changed something. */
  gates: { wave: number; pass: boolean; reason: string }[];
  /** Why the run stopped before changing everything it planned to, if it did. */
  halted?: string;
  /** The blast-radius guard's verdict on this run's plans (a dry run says whether a real run would be held). */
  blastRadius: BlastRadiusVerdict;
}

/**
 * A fleet run: assess every cluster once (observe + plan), check the blast-radius guard, then apply
 * in waves of growing size; a wave with a failed or stuck cluster holds every wave after it.
 * Clusters with nothing to change are verified with what was already read.
 */
export async function runFleet(deps: ReconcileDeps, options: FleetRunOptions): Promise<FleetRunReport> {
  const now = deps.now ?? (() => new Date());
  const startedAt = now();
  const total = new CallCounter();
  const limit = pLimit(deps.desired.config.rollout.concurrency);
  const records = new Map<string, ReconcileRecord>();
  let halted: string | undefined;
  let guard: BlastRadiusVerdict | undefined;
  let waveCount = 0;
  const gates: FleetRunReport['gates'] = [];

  await countCalls(total, async () => {
    const clusterCount = options.clusters.length;
    let assessedCount = 0;
    let finished = 0;
    const assessed = await Promise.all(
      options.clusters.map((ref) =>
        limit(async () => {
          const x = await assessCounted(ref, deps, options);
          options.onProgress?.({ kind: 'assessed', cluster: formatClusterRef(ref), done: ++assessedCount, total: clusterCount });
          return x;
        }),
      ),
    );
    const needsChange = (x: AssessedCluster) => x.assessment?.kind === 'planned' && changesOf(x.assessment.plan).length > 0;
    const finish = async (x: AssessedCluster, holdReason?: string) => {
      const record = await finishCluster(x, deps, { ...options, holdReason: holdReason ?? windowReason(x.ref, deps, options) });
      records.set(record.cluster, record);
      options.onProgress?.({ kind: 'cluster', cluster: record.cluster, outcome: record.outcome, done: ++finished, total: clusterCount });
    };

    await Promise.all(assessed.filter((x) => !needsChange(x)).map((x) => limit(() => finish(x))));
    guard = blastRadius(assessed.map(planOf), deps.desired.config.rollout.blastRadius);
    halted = options.dryRun || options.forceRun || !guard.held ? undefined : `blast-radius guard: ${guard.reason}; re-run with --force to proceed`;
    const waves = planWaves(assessed.filter(needsChange));
    waveCount = waves.length;
    for (const [index, wave] of waves.entries()) {
      options.onProgress?.({ kind: 'wave', wave: index + 1, waves: waves.length, clusters: wave.map((x) => formatClusterRef(x.ref)) });
      await Promise.all(wave.map((x) => limit(() => finish(x, halted))));
      const done = wave.map((x) => records.get(formatClusterRef(x.ref))!);
      const bad = done.filter((r) => r.outcome === 'failed' || r.outcome === 'stuck');
      if (!halted && bad.length > 0) halted = `later waves held after ${bad.map((r) => `${r.cluster} ${r.outcome}`).join(', ')}`;
      const changed = done.filter((r) => r.outcome === 'converged');
      if (!halted && options.waveGate && changed.length > 0 && index < waves.length - 1) {
        const gate = await options.waveGate(changed);
        gates.push({ wave: index + 1, ...gate });
        if (!gate.pass) halted = `later waves held by the health gate after wave ${index + 1}: ${gate.reason}`;
      }
    }
  });

  return {
    runId: randomUUID(),
    startedAt: startedAt.toISOString(),
    finishedAt: now().toISOString(),
    dryRun: options.dryRun ?? false,
    clusters: options.clusters.map((ref) => records.get(formatClusterRef(ref))!),
    writes: fleetWrites(total),
    reads: total.reads,
    waves: waveCount,
    gates,
    ...(halted ? { halted } : {}),
    blastRadius: guard ?? blastRadius([], deps.desired.config.rollout.blastRadius),
  };
}

function planOf(x: AssessedCluster): ClusterPlan | undefined {
  return x.assessment?.kind === 'planned' ? x.assessment.plan : undefined;
}

function windowReason(ref: ClusterRef, deps: ReconcileDeps, options: FleetRunOptions): string | undefined {
  if (options.forceRun || options.dryRun) return undefined;
  const w = activeWindow(deps.desired.config.rollout.maintenanceWindows, formatClusterRef(ref), (deps.now ?? (() => new Date()))());
  return w ? `maintenance window ${w.start}-${w.end} ${w.timeZone}` : undefined;
}
