import { createHash } from 'node:crypto';
import type { SensorfleetConfig } from '../config/schema';
import { globMatch } from '../engine/windows';
import type { RingPlan } from '../state/rollout-records';

type RingsConfig = SensorfleetConfig['rollout']['rings'];

/**
 * The blast-radius guard inside a ring run (shared/engine/blast-radius.ts): no ring may replace the
 * running sensor on more than `allowed` clusters. Only clusters that run a sensor of another version
 * now count (`replaces`); a first install cannot break a running sensor.
 */
export interface RingGuard {
  allowed: number;
  replaces: (cluster: string) => boolean;
}

/**
 * Pure: the rings of a run. Clusters whose ring already released the target form ring 0 ("released":
 * drift only, no gate). The others: the canary ring (clusters matching rings.canary; the first one in
 * the spread order when none matches), then rings of cumulative shares of the rest. The order inside
 * is a stable hash of the reference, so rings mix accounts, regions and platforms instead of taking
 * them alphabetically. Every ring that changes the version is gated.
 */
export function planRings(clusters: string[], releasedVersion: (cluster: string) => string | undefined, target: string, cfg: Pick<RingsConfig, 'canary' | 'shares'>, guard?: RingGuard): RingPlan[] {
  const all = [...new Set(clusters)].sort();
  const released = all.filter((c) => releasedVersion(c) === target);
  const pending = spread(all.filter((c) => releasedVersion(c) !== target));
  const rings: Omit<RingPlan, 'ring'>[] = [];
  if (released.length > 0) rings.push({ name: 'released', gate: false, clusters: released });
  if (pending.length > 0) {
    const matched = pending.filter((c) => cfg.canary.some((g) => globMatch(g, c)));
    const canary = matched.length > 0 ? matched : pending.slice(0, 1);
    rings.push({ name: 'canary', gate: true, clusters: canary });
    const rest = pending.filter((c) => !canary.includes(c));
    let from = 0;
    for (const share of cfg.shares) {
      const upTo = Math.ceil((rest.length * share) / 100);
      if (upTo > from) rings.push({ name: `${share}%`, gate: true, clusters: rest.slice(from, upTo) });
      from = Math.max(from, upTo);
    }
  }
  const guarded = guard ? rings.flatMap((r) => (r.gate ? splitRing(r, guard) : [r])) : rings;
  return guarded.map((r, ring) => ({ ring, ...r }));
}

/**
 * A ring that would replace more running sensors than the guard allows becomes consecutive rings,
 * each within it and each gated: "100% (1/3)", "100% (2/3)", … (clusters that replace nothing ride along).
 */
function splitRing(r: Omit<RingPlan, 'ring'>, guard: RingGuard): Omit<RingPlan, 'ring'>[] {
  const allowed = Math.max(1, guard.allowed);
  if (r.clusters.filter(guard.replaces).length <= allowed) return [r];
  const parts: string[][] = [[]];
  let counted = 0;
  for (const c of r.clusters) {
    const replaces = guard.replaces(c);
    if (replaces && counted === allowed) {
      parts.push([]);
      counted = 0;
    }
    parts.at(-1)!.push(c);
    if (replaces) counted++;
  }
  return parts.map((clusters, i) => ({ name: `${r.name} (${i + 1}/${parts.length})`, gate: true, clusters }));
}

function spread(clusters: string[]): string[] {
  const key = (c: string) => createHash('sha256').update(c).digest('hex');
  return [...clusters].sort((a, b) => key(a).localeCompare(key(b)));
}
