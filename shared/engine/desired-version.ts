import type { DesiredSensor } from '../platforms/types';
import type { BaselineRecord, ReleaseRecord } from '../state/rollout-records';
import type { VersionDecision } from '../state/records';

/**
 * Which sensor version a cluster may run (DESIGN §10): the configuration's version is the rollout's
 * target, not an order to every cluster at once. Every path (events, nightly, redeploy) asks this.
 * - `fixed`: install or keep exactly `decision.desired`;
 * - `keep-running`: no rollout has released anything for this cluster or the fleet yet: whatever
 *   version runs now stays; a cluster without a sensor gets the target (a first install cannot break
 *   a running sensor).
 */
export type VersionChoice = { kind: 'fixed'; decision: VersionDecision } | { kind: 'keep-running'; target: string };

export interface VersionFacts {
  target: string;
  release?: ReleaseRecord;
  baseline?: BaselineRecord;
  /** An explicit forced action (on-call redeploy with forceVersion): the target, past the rings. */
  forced?: { by: string; reason: string };
}

/** Pure. */
export function chooseSensorVersion(f: VersionFacts): VersionChoice {
  const { target } = f;
  if (f.forced) {
    return fixed(target, target, 'forced', `forced by ${f.forced.by} (${f.forced.reason}): ${target} installed ahead of the rollout's rings`);
  }
  if (f.release) {
    const r = f.release;
    const where = r.forced ? `forced by ${r.forced.by} (${r.forced.reason})` : r.runId !== undefined ? `released in ring ${r.ring} of run ${r.runId}` : 'released';
    if (r.version === target) return fixed(r.version, target, 'released', `${where}`);
    return fixed(r.version, target, 'released', `the rollout to ${target} has not released this cluster's ring yet: kept at ${r.version} (${where})`);
  }
  if (f.baseline) {
    const b = f.baseline;
    if (b.version === target) return fixed(b.version, target, 'baseline', `the fleet baseline (run ${b.runId} released ${b.version} to every ring)`);
    return fixed(b.version, target, 'baseline', `the rollout to ${target} has not released this cluster's ring yet: kept at the fleet baseline ${b.version}`);
  }
  return { kind: 'keep-running', target };
}

/** The decision once the running version is known (keep-running resolves here). Pure. */
export function decideVersion(choice: VersionChoice, running: string | undefined): VersionDecision {
  if (choice.kind === 'fixed') return choice.decision;
  const { target } = choice;
  if (running === undefined) return { desired: target, target, source: 'first-install', reason: `first install: no sensor runs here yet, ${target} is installed` };
  if (running === target) return { desired: target, target, source: 'running', reason: `runs the target ${target}` };
  return { desired: running, target, source: 'running', reason: `no rollout has released ${target} to this cluster yet: the running ${running} is kept (a rollout run releases it ring by ring)` };
}

/** The desired sensor with another version (everything else as configured). */
export function withSensorVersion(desired: DesiredSensor, version: string): DesiredSensor {
  if (desired.config.sensor.version === version) return desired;
  return { ...desired, config: { ...desired.config, sensor: { ...desired.config.sensor, version } } };
}

function fixed(desired: string, target: string, source: VersionDecision['source'], reason: string): VersionChoice {
  return { kind: 'fixed', decision: { desired, target, source, reason } };
}
