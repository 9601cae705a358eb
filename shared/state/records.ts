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
  | 'failed';

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
}
