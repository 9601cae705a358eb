import type { ReconcileRecord } from '../state/records';

/** What a reconcile found different from the desired state, in the fleet table's words. */
export interface DriftSummary {
  kind: 'none' | 'version' | 'to-apply' | 'corrected' | 'foreign';
  text: string;
}

/**
 * Pure: the drift of a cluster after its last reconcile. Installs and upgrades are not drift; a version
 * other than the desired one is shown as such. Kept on the inventory item when the reconcile is recorded,
 * so the fleet table needs no history read per cluster.
 */
export function driftOf(item: { sensorVersion?: string; desiredVersion?: string }, last: ReconcileRecord | undefined): DriftSummary {
  if (item.sensorVersion && item.desiredVersion && item.sensorVersion !== item.desiredVersion) return { kind: 'version', text: `runs ${item.sensorVersion}` };
  const actions = last?.planned.filter((a) => a.type !== 'finding') ?? [];
  const findings = last?.planned.filter((a) => a.type === 'finding') ?? [];
  // the reconcile wrote: what it planned was applied (converged, progressing, or degraded/stuck after the apply)
  const done = last !== undefined && last.changed.writes > 0;
  // nothing of ours was there before: an install, not drift
  if (actions.length > 0 && done && !last!.observed.sensorVersion) return { kind: 'none', text: 'none (installed)' };
  // a version change is a rollout, not drift
  if (actions.length > 0 && done && last!.observed.sensorVersion !== (last!.version?.desired ?? item.desiredVersion)) return { kind: 'none', text: `none (upgraded from ${last!.observed.sensorVersion})` };
  if (actions.length > 0 && done) return { kind: 'corrected', text: `${actions.length} corrected` };
  if (actions.length > 0) return { kind: 'to-apply', text: `${actions.length} to apply` };
  if (findings.length > 0) return { kind: 'foreign', text: `${findings.length} not ours` };
  return { kind: 'none', text: 'none' };
}
