/**
 * Blast-radius guard (DESIGN §8), pure: a run may replace the running sensor on at most
 * max(percent % of the clusters in the run, rounded down, minClusters) clusters; a run above that stops
 * before changing anything and asks for a forced run. The floor lets a small fleet (one cluster, a
 * handful) be upgraded at all, while the share bounds a large one.
 *
 * Only clusters whose running sensor would change count: a first install (no sensor yet) cannot break
 * one, and a change that leaves the sensor's pods or tasks running (a label, an RBAC rule, a deployment
 * setting) does not replace it. Planners mark the actions that do (PlannedAction.rollout).
 */
import type { ClusterPlan, PlannedAction } from '../platforms/types';

export interface BlastRadiusLimit {
  percent: number;
  minClusters: number;
}

export interface BlastRadiusVerdict {
  /** Clusters in the run. */
  clusters: number;
  /** Clusters on which the run would replace the running sensor. */
  changing: number;
  /** The most the guard lets a run change without --force. */
  allowed: number;
  limit: BlastRadiusLimit;
  /** A run (not forced) would stop before changing anything. */
  held: boolean;
  /** "would change the running sensor on 3 of 4 clusters (75%), above the 25% limit and the floor of 1 cluster" */
  reason: string;
}

export function blastRadius(plans: (ClusterPlan | undefined)[], limit: BlastRadiusLimit): BlastRadiusVerdict {
  const clusters = plans.length;
  const changing = plans.filter((p) => p !== undefined && changesRunningSensor(p)).length;
  const allowed = allowedChanges(clusters, limit);
  const held = changing > allowed;
  const share = clusters === 0 ? 0 : Math.round((changing / clusters) * 100);
  const floor = `${limit.minClusters} cluster${limit.minClusters === 1 ? '' : 's'}`;
  const reason = `would change the running sensor on ${changing} of ${clusters} clusters (${share}%), ${held ? 'above' : 'within'} the ${limit.percent}% limit ${held ? 'and' : 'or'} the floor of ${floor}`;
  return { clusters, changing, allowed, limit, held, reason };
}

/** The most running sensors a run (or a ring of a ring run) of `clusters` clusters may replace without --force. */
export function allowedChanges(clusters: number, limit: BlastRadiusLimit): number {
  return Math.max(Math.floor((clusters * limit.percent) / 100), limit.minClusters);
}

/** The plan replaces a sensor that runs now: pods of a new template, tasks of a new revision, a restart. */
export function changesRunningSensor(plan: ClusterPlan): boolean {
  return plan.sensorVersion.current !== undefined && plan.actions.some(rollsSensor);
}

function rollsSensor(action: PlannedAction): boolean {
  return action.type !== 'finding' && action.rollout === true;
}
