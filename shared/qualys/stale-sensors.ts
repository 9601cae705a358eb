import { errorMessage } from '../runtime/errors';
import type { QualysApi } from './api';
import { NonUnknownSensorDeleteError } from './errors';
import type { Sensor } from './schemas';
import { hostVariants, isUnknown, parseTimestamp, sensorDeleteId, sensorHostNames } from './sensor-fields';

/** Hosts alive in the fleet inventory: node names and host names. The engine builds it from its inventory. */
export interface LiveHosts {
  has(name: string): boolean;
}

/** A LiveHosts over names, matching case-insensitively on the full and the short (first label) form. */
export function liveHostsFrom(names: Iterable<string>): LiveHosts {
  const set = new Set<string>();
  for (const n of names) for (const v of hostVariants(n)) set.add(v);
  return { has: (name) => hostVariants(name).some((v) => set.has(v)) };
}

export interface StaleCandidate {
  id: string;
  hostname: string;
  lastCheckedIn: number;
}

export interface StalePlan {
  /** Ids to delete this run, capped by maxDeletesPerRun. */
  toDelete: StaleCandidate[];
  /** Candidates left for later runs by the cap. */
  deferred: number;
  /** UNKNOWN sensors kept, with why (recent, host live, no timestamp). */
  kept: { recent: number; hostLive: number; noTimestamp: number };
  lines: string[];
}

export interface StaleOptions {
  olderThanDays: number;
  maxDeletesPerRun: number;
  liveHosts: LiveHosts;
  now: number;
}

/**
 * Pure: status UNKNOWN (the only status the API deletes, DOCS-SENSOR-DEL [C]) AND lastCheckedIn older
 * than N days AND no name of the sensor's host is live in the inventory. A sensor without a check-in
 * time (nor a creation time) is kept: its age cannot be shown.
 */
export function planStaleSensors(sensors: Sensor[], opts: StaleOptions): StalePlan {
  const cutoff = opts.now - opts.olderThanDays * 86_400_000;
  const kept = { recent: 0, hostLive: 0, noTimestamp: 0 };
  const candidates: StaleCandidate[] = [];
  for (const s of sensors) {
    const id = sensorDeleteId(s);
    if (!isUnknown(s) || !id) continue;
    const seen = parseTimestamp(s.lastCheckedIn) ?? parseTimestamp(s.created);
    if (seen === undefined) kept.noTimestamp++;
    else if (seen >= cutoff) kept.recent++;
    else if (sensorHostNames(s).some((n) => opts.liveHosts.has(n))) kept.hostLive++;
    else candidates.push({ id, hostname: s.hostname ?? s.cluster?.k8s?.node?.name ?? '?', lastCheckedIn: seen });
  }
  candidates.sort((a, b) => a.lastCheckedIn - b.lastCheckedIn); // oldest first when capped
  const toDelete = candidates.slice(0, opts.maxDeletesPerRun);
  const deferred = candidates.length - toDelete.length;
  const lines = [
    `stale sensors: ${toDelete.length} to delete (UNKNOWN, not seen for ${opts.olderThanDays} days, host not live)` +
      `${deferred ? `, ${deferred} left for later runs by the per-run cap` : ''}; kept UNKNOWN: ${kept.recent} recent, ${kept.hostLive} host live, ${kept.noTimestamp} without timestamp`,
  ];
  return { toDelete, deferred, kept, lines };
}

export interface StaleDeleteResult {
  deleted: number;
  deletionJobIds: string[];
  /** Sensors not UNKNOWN that were sent to DELETE: must stay 0. */
  nonUnknownDeleteAttempts: number;
  /** Ids the executor's own guard held back (not UNKNOWN in the observation). */
  guardBlocked: number;
  errors: string[];
}

/**
 * Deletes in batches by id. Guard: every id must belong to an observed sensor whose status is
 * UNKNOWN, whatever the plan says; a batch with anything else is never sent.
 */
export async function deleteStaleSensors(api: QualysApi, plan: StalePlan, observed: Sensor[], batchSize: number): Promise<StaleDeleteResult> {
  const result: StaleDeleteResult = { deleted: 0, deletionJobIds: [], nonUnknownDeleteAttempts: 0, guardBlocked: 0, errors: [] };
  const byId = new Map(observed.flatMap((s) => (sensorDeleteId(s) ? [[sensorDeleteId(s)!, s] as const] : [])));
  const ids = plan.toDelete.map((c) => c.id);
  const safe = ids.filter((id) => {
    const s = byId.get(id);
    const ok = s !== undefined && isUnknown(s);
    if (!ok) result.guardBlocked++;
    return ok;
  });
  if (result.guardBlocked > 0) result.errors.push(new NonUnknownSensorDeleteError(`${result.guardBlocked} planned sensor(s) are not UNKNOWN in the observation and were not sent for deletion`).message);
  for (let i = 0; i < safe.length; i += batchSize) {
    const batch = safe.slice(i, i + batchSize);
    try {
      result.deletionJobIds.push(await api.deleteSensors(batch));
      result.deleted += batch.length;
    } catch (err) {
      // e.g. a sensor came back to life between listing and deleting: the API refuses the request;
      // the next run re-lists and re-plans.
      result.errors.push(`delete of ${batch.length} stale sensor(s) FAILED: ${errorMessage(err)}`);
    }
  }
  return result;
}
