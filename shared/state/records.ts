import type { DriftSummary } from '../domain/drift';
import type { Coverage, PlannedAction } from '../platforms/types';

/** How one reconcile of one cluster ended. */
export type ReconcileOutcome =
  | 'in-sync' // nothing to change, every node covered
  | 'converged' // changes applied and verified
  | 'planned' // dry run: what would change
  | 'skipped' // opted out by tag, or unmanaged
  | 'held' // changes needed but a maintenance window or the blast-radius guard held them
  | 'not-ready' // cluster still being created; retried later
  | 'degraded' // applied/in sync but some nodes are not covered
  | 'stuck' // rollout did not finish by its deadline
  | 'progressing' // changes applied, rollout under way: the work item comes back later (it never waits)
  | 'applying' // the intent, written before the first write; replaced by the outcome
  | 'failed';

/**
 * Which sensor version a reconcile aimed at and why (DESIGN §10): the version the cluster's ring has
 * released, not the rollout's target, unless a forced action overrode it.
 */
export interface VersionDecision {
  /** The version this reconcile installs or keeps. */
  desired: string;
  /** The rollout's target (configuration's sensor.version). */
  target: string;
  source: 'released' | 'baseline' | 'running' | 'first-install' | 'forced' | 'configured';
  /** One sentence, e.g. "ring 2 of run 1a2b not released yet: kept at 1.34.1-0". */
  reason: string;
}

export interface ReconcileTrigger {
  kind: string;
  eventId?: string;
  source?: string;
  /** On-call redeploys: who asked and why. */
  requestedBy?: string;
  reason?: string;
}

/** The record of one reconcile: what was observed, planned, changed and verified. */
export interface ReconcileRecord {
  id: string;
  cluster: string;
  platform: string;
  startedAt: string;
  finishedAt: string;
  trigger: ReconcileTrigger;
  outcome: ReconcileOutcome;
  /** One sentence a human can act on. */
  message: string;
  observed: { status?: string; sensorVersion?: string };
  planned: PlannedAction[];
  changed: { writes: number; reads: number };
  verified?: Coverage;
  dryRun: boolean;
  /** Set when the reconcile failed for a reason retrying cannot fix: the work item goes to the DLQ at once. */
  terminal?: boolean;
  /** The sensor version aimed at and why (absent: the configuration's version, as before rollouts had rings). */
  version?: VersionDecision;
  /** The rollout run and ring this reconcile was part of. */
  run?: { id: string; ring: number };
}

/** Current state of one cluster in the fleet inventory. */
export interface ClusterInventoryItem {
  cluster: string;
  platform: string;
  outcome: ReconcileOutcome;
  message: string;
  sensorVersion?: string;
  desiredVersion: string;
  nodes: { covered: number; total: number };
  uncovered: Coverage['uncovered'];
  /** Nodes the sensor image does not support (Windows, other CPUs): not counted in nodes.total. */
  outOfScope?: NonNullable<Coverage['outOfScope']>;
  lastReconcileId: string;
  lastReconciledAt: string;
  /** Node names / EC2 instance ids of the cluster's nodes (Qualys check-in and stale-sensor safety). */
  nodeNames?: string[];
  /** Host name a node's sensor reports, where it differs from the node name (ECS: EC2 private DNS name). */
  hostnames?: Record<string, string>;
  /** The rollout's target version, when the cluster's desired version is still an older one. */
  targetVersion?: string;
  /** Since when the current rollout has been progressing (its deadline counts from here). */
  progressingSince?: string;
  /** Most restarts of one sensor container of the current revision, when pods were looked at. */
  restarts?: number;
  /** What the last reconcile found different from the desired state (absent on items written before it was kept). */
  drift?: DriftSummary;
  /** When a reconcile last wrote to the cluster. */
  lastChangedAt?: string;
}
