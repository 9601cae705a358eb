import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../shared/config/load';
import { planRings } from '../../shared/rollout/rings';
import { planRun } from '../../shared/rollout/start-run';

/**
 * Issue 7, blast radius inside ring runs: no ring is released whole when it would replace more running
 * sensors than rollout.blastRadius allows for the run (percent of its clusters, never fewer than
 * minClusters). The planner splits such a ring into consecutive gated rings, each within the guard;
 * clusters that replace no running sensor (first installs) do not count.
 */
const refs = (n: number) => Array.from({ length: n }, (_, i) => `aws-eks:111122223333:eu-west-1:c${String(i).padStart(3, '0')}`);
const at = (version: string, clusters: string[]) => new Map(clusters.map((c) => [c, version]));
const run = (clusters: string[], running: Map<string, string>, rollout: Record<string, unknown> = {}) =>
  planRun({ runId: 'run-1', config: parseConfig({ sensor: { version: '2.0.0-0' }, rollout }), clusters, trigger: { source: 'test' }, now: new Date(0), released: new Map(), running }).run;

describe('ring runs keep to the blast-radius guard', () => {
  it('a ring above the guard is split into gated rings, none replacing more running sensors than it allows', () => {
    const all = refs(40);
    // 25% of 40 = 10 per ring; shares [25, 100]: canary 1, 25% 10, 100% 29 -> 10 + 10 + 9
    const r = run(all, at('1.0.0-0', all), { blastRadius: { percent: 25, minClusters: 5 } });
    expect(r.rings.map((g) => [g.name, g.size, g.gate])).toEqual([
      ['canary', 1, true],
      ['25%', 10, true],
      ['100% (1/3)', 10, true],
      ['100% (2/3)', 10, true],
      ['100% (3/3)', 9, true],
    ]);
    expect(r.history.map((h) => h.event)).toContain('blast-radius guard (25%, never fewer than 5): at most 10 running sensor(s) replaced per ring; ring "100%" split in 3');
  });

  it('the floor applies to small fleets: 4 clusters, floor 1 -> one replaced sensor per ring', () => {
    const all = refs(4);
    const r = run(all, at('1.0.0-0', all), { rings: { shares: [100] } });
    expect(r.rings.map((g) => [g.name, g.size])).toEqual([
      ['canary', 1],
      ['100% (1/3)', 1],
      ['100% (2/3)', 1],
      ['100% (3/3)', 1],
    ]);
    const roomy = run(all, at('1.0.0-0', all), { rings: { shares: [100] }, blastRadius: { percent: 25, minClusters: 3 } });
    expect(roomy.rings.map((g) => [g.name, g.size])).toEqual([
      ['canary', 1],
      ['100%', 3],
    ]);
  });

  it('only clusters whose running sensor would be replaced count: first installs and clusters already at the target ride along', () => {
    const all = refs(20);
    const running = new Map([...at('1.0.0-0', all.slice(0, 4)), ...at('2.0.0-0', all.slice(4, 8))]);
    // 25% of 20 = 5: a ring with at most 4 replaced sensors is never split, however many new clusters it holds
    expect(run(all, running).rings.map((g) => g.name)).toEqual(['canary', '25%', '100%']);
    expect(run(all, new Map()).history).toHaveLength(1);
  });

  it('the released ring (drift only, no version change) is never split', () => {
    const all = refs(12);
    const rings = planRings(all, () => '2.0.0-0', '2.0.0-0', { canary: [], shares: [100] }, { allowed: 1, replaces: () => true });
    expect(rings).toEqual([{ ring: 0, name: 'released', gate: false, clusters: [...all].sort() }]);
  });

  it('every cluster stays in exactly one ring, in the planner order', () => {
    const all = refs(57);
    const guarded = planRings(all, () => undefined, 'v', { canary: [], shares: [25, 100] }, { allowed: 7, replaces: () => true });
    const plain = planRings(all, () => undefined, 'v', { canary: [], shares: [25, 100] });
    expect(guarded.flatMap((g) => g.clusters)).toEqual(plain.flatMap((g) => g.clusters));
    expect(Math.max(...guarded.map((g) => g.clusters.length))).toBeLessThanOrEqual(7);
    expect(guarded.map((g) => g.ring)).toEqual(guarded.map((_, i) => i));
  });
});
