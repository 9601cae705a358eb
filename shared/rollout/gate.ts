import pLimit from 'p-limit';
import type { SensorfleetConfig } from '../config/schema';
import { parseClusterRef } from '../domain/cluster-ref';
import { adapterFor, type AdapterRegistry } from '../engine/adapters';
import { resolveDesiredSensor } from '../engine/desired';
import { withSensorVersion } from '../engine/desired-version';
import type { Coverage, DesiredSensor } from '../platforms/types';
import { checkInGate, clusterNodesOf, type ClusterCheckIn } from '../qualys/checkin';
import { ClusterNotFoundError, ClusterSkippedError, errorMessage } from '../runtime/errors';
import type { GateVerdict, RingPlan } from '../state/rollout-records';

/** What the gate saw of one cluster of the ring: a fresh look (coverage with restarts), or why there is none. */
export interface ClusterHealth {
  cluster: string;
  coverage?: Coverage;
  /** Opted out by tag, deleted, or out of reach for good: not held against the ring. */
  skipped?: string;
  /** Could not be looked at now (a transient error): the gate waits. */
  error?: string;
}

export interface GateInput {
  target: string;
  maxRestarts: number;
  health: ClusterHealth[];
  /** Qualys check-in of the ring's nodes; absent when the check-in gate is off. */
  checkIn?: { report: ClusterCheckIn[] } | { error: string };
  /** When this pass of the ring first asked its gate, and now (ms). */
  startedAt: number;
  now: number;
  deadlineSeconds: number;
  pollSeconds: number;
}

export interface GateResult {
  verdict: GateVerdict;
  reason: string;
  /** For 'wait': when the workflow asks again (its Wait state reads it). */
  waitSeconds: number;
  /** For 'pass': what was looked at (a ring's verdict sums its chunks'). */
  counts?: { clusters: number; nodes: number };
}

/**
 * Pure: the ring's gate. Fails at once when a sensor container of the new revision restarted more than
 * maxRestarts times, a rollout is stuck or a cluster runs another version; waits while nodes are still
 * being covered or sensors have not checked in to Qualys yet, until the gate deadline; passes when
 * every cluster runs the target on every node and (check-in gate on) every sensor checked in at it.
 */
export function gateVerdict(g: GateInput): GateResult {
  const failures: string[] = [];
  const pending: string[] = [];
  let nodes = 0;
  let clusters = 0;
  for (const h of g.health) {
    if (h.skipped) continue;
    if (h.error || !h.coverage) {
      pending.push(`${h.cluster}: not observed (${h.error ?? 'no answer'})`);
      continue;
    }
    const c = h.coverage;
    clusters++;
    nodes += c.total;
    if (c.restarts && c.restarts.max > g.maxRestarts) failures.push(`${h.cluster}: sensor pod ${c.restarts.pod} restarted ${c.restarts.max} times (more than ${g.maxRestarts})`);
    else if (c.rollout.state === 'stuck') failures.push(`${h.cluster}: rollout stuck: ${c.rollout.message}`);
    else if (c.covered > 0 && c.sensorVersion !== undefined && c.sensorVersion !== g.target) failures.push(`${h.cluster}: runs ${c.sensorVersion}, not ${g.target}`);
    else if (c.covered < c.total) pending.push(`${h.cluster}: ${c.covered}/${c.total} nodes covered (${c.uncovered.slice(0, 2).map((u) => `${u.node}: ${u.reason}`).join('; ')})`);
  }
  if (failures.length > 0) return { verdict: 'fail', reason: failures.join(' | '), waitSeconds: 0 };
  if (pending.length === 0 && g.checkIn) {
    if ('error' in g.checkIn) pending.push(`Qualys check-in could not be read: ${g.checkIn.error}`);
    else {
      const gate = checkInGate(g.checkIn.report);
      if (!gate.pass) pending.push(`Qualys check-in: ${gate.reason}`);
    }
  }
  if (pending.length > 0) {
    const waited = Math.max(0, Math.round((g.now - g.startedAt) / 1000));
    if (waited >= g.deadlineSeconds) return { verdict: 'fail', reason: `not healthy after ${waited} s (gate deadline ${g.deadlineSeconds} s): ${pending.join(' | ')}`, waitSeconds: 0 };
    return { verdict: 'wait', reason: pending.join(' | '), waitSeconds: Math.max(1, Math.ceil(g.pollSeconds)) };
  }
  return { verdict: 'pass', reason: passReason({ clusters, nodes }, g.target, g.maxRestarts, Boolean(g.checkIn)), waitSeconds: 0, counts: { clusters, nodes } };
}

export function passReason(counts: { clusters: number; nodes: number }, target: string, maxRestarts: number, checkIn: boolean): string {
  const checked = checkIn ? `, every sensor checked in to Qualys at ${target}` : '';
  return `${counts.clusters} cluster(s), ${counts.nodes} node(s): every node runs ${target}, no sensor restarted more than ${maxRestarts} times${checked}`;
}

/**
 * The ring's gate, asked once (the workflow's Wait + Choice ask again): one fresh look at each of the
 * ring's clusters (coverage and sensor restarts, read-only) and, with the check-in gate on, one sensor
 * listing from the Qualys CS API for all of them.
 */
export async function evaluateRingGate(o: {
  config: SensorfleetConfig;
  /** The clusters to look at (a ring, or one chunk of it). */
  ring: Pick<RingPlan, 'clusters'>;
  target: string;
  startedAt: string;
  now: Date;
  adapters: AdapterRegistry;
  checkIn?: (clusters: ReturnType<typeof clusterNodesOf>[]) => Promise<ClusterCheckIn[]>;
}): Promise<GateResult> {
  const rollout = o.config.rollout;
  const desired = withSensorVersion(await resolveDesiredSensor(o.config, { needValues: false }), o.target);
  const limit = pLimit(rollout.concurrency);
  const health = await Promise.all(o.ring.clusters.map((c) => limit(() => observeCluster(c, o.adapters, desired))));
  let checkIn: GateInput['checkIn'];
  if (rollout.checkInGate.enabled && o.checkIn) {
    const looked = health.filter((h) => h.coverage && !h.skipped);
    try {
      checkIn = { report: await o.checkIn(looked.map((h) => clusterNodesOf(h.cluster, h.coverage, o.target))) };
    } catch (err) {
      checkIn = { error: errorMessage(err) };
    }
  }
  return gateVerdict({
    target: o.target,
    maxRestarts: rollout.rings.maxRestarts,
    health,
    ...(checkIn ? { checkIn } : {}),
    startedAt: Date.parse(o.startedAt),
    now: o.now.getTime(),
    deadlineSeconds: rollout.checkInGate.deadlineSeconds,
    pollSeconds: rollout.checkInGate.pollSeconds,
  });
}

async function observeCluster(cluster: string, adapters: AdapterRegistry, desired: DesiredSensor): Promise<ClusterHealth> {
  try {
    const ref = parseClusterRef(cluster);
    const adapter = adapterFor(adapters, ref.platform);
    const connected = await adapter.connect(ref);
    try {
      const { key, value } = desired.config.skipTag;
      if (connected.tags[key] === value) return { cluster, skipped: `tagged ${key}=${value}` };
      const coverage = await adapter.verify(connected, desired, { deadlineMs: desired.config.rollout.deadlineSeconds * 1000, pollMs: 0, once: true, withRestarts: true });
      return { cluster, coverage };
    } finally {
      try {
        adapter.release?.(connected);
      } catch {
        // nothing to do
      }
    }
  } catch (err) {
    if (err instanceof ClusterNotFoundError || err instanceof ClusterSkippedError) return { cluster, skipped: errorMessage(err) };
    return { cluster, error: errorMessage(err) };
  }
}
