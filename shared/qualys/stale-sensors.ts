import { errorMessage } from '../runtime/errors';
import type { QualysApi } from './api';
import { NonUnknownSensorDeleteError, QualysApiError } from './errors';
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
  /**
   * Sensors that were no longer UNKNOWN when a DELETE naming them reached Qualys (the API refuses
   * such a batch whole). Counted from what the API refused, so it shows the rule holding, not a constant.
   */
  nonUnknownDeleteAttempts: number;
  /** Ids the executor's own guard held back (not UNKNOWN in the observation). */
  guardBlocked: number;
  /** Planned sensors the re-check right before the DELETE found no longer stale (back, checked in, or gone). */
  noLongerStale: number;
  errors: string[];
}

export interface StaleDeleteOptions {
  batchSize: number;
  /** The plan's rule, applied again to a fresh read right before each DELETE. */
  olderThanDays: number;
  now: number;
}

/**
 * Deletes in batches by id. Guard: every id must belong to an observed sensor whose status is
 * UNKNOWN, whatever the plan says; a batch with anything else is never sent. Right before each
 * DELETE the UNKNOWN sensors are read again and a sensor that came back since the list (or checked
 * in since the cutoff) is dropped: the API refuses a whole batch that names one (DOCS-SENSOR-DEL).
 * If one still comes back between that read and the DELETE, the refusal is counted in
 * nonUnknownDeleteAttempts and the batch is sent again without it.
 */
export async function deleteStaleSensors(api: QualysApi, plan: StalePlan, observed: Sensor[], options: StaleDeleteOptions): Promise<StaleDeleteResult> {
  const result: StaleDeleteResult = { deleted: 0, deletionJobIds: [], nonUnknownDeleteAttempts: 0, guardBlocked: 0, noLongerStale: 0, errors: [] };
  const byId = new Map(observed.flatMap((s) => (sensorDeleteId(s) ? [[sensorDeleteId(s)!, s] as const] : [])));
  const ids = plan.toDelete.map((c) => c.id);
  const safe = ids.filter((id) => {
    const s = byId.get(id);
    const ok = s !== undefined && isUnknown(s);
    if (!ok) result.guardBlocked++;
    return ok;
  });
  if (result.guardBlocked > 0) result.errors.push(new NonUnknownSensorDeleteError(`${result.guardBlocked} planned sensor(s) are not UNKNOWN in the observation and were not sent for deletion`).message);
  const cutoff = options.now - options.olderThanDays * 86_400_000;
  for (let i = 0; i < safe.length; i += options.batchSize) {
    const planned = safe.slice(i, i + options.batchSize);
    let batch: string[];
    try {
      batch = await stillStale(api, planned, cutoff);
    } catch (err) {
      result.errors.push(`re-check before deleting ${planned.length} stale sensor(s) FAILED, none deleted: ${errorMessage(err)}`);
      continue;
    }
    result.noLongerStale += planned.length - batch.length;
    if (batch.length === 0) continue;
    try {
      await deleteBatch(api, batch, result);
    } catch (err) {
      if (!(err instanceof QualysApiError && err.status === 400)) {
        result.errors.push(`delete of ${batch.length} stale sensor(s) FAILED: ${errorMessage(err)}`);
        continue;
      }
      await retryWithoutRevived(api, batch, cutoff, err, result);
    }
  }
  return result;
}

async function deleteBatch(api: QualysApi, batch: string[], result: StaleDeleteResult): Promise<void> {
  result.deletionJobIds.push(await api.deleteSensors(batch));
  result.deleted += batch.length;
}

/** The API refused the batch: read again; the sensors no longer stale are the ones it objected to. */
async function retryWithoutRevived(api: QualysApi, batch: string[], cutoff: number, refusal: QualysApiError, result: StaleDeleteResult): Promise<void> {
  let fresh: string[];
  try {
    fresh = await stillStale(api, batch, cutoff);
  } catch (err) {
    result.errors.push(`delete of ${batch.length} stale sensor(s) FAILED: ${errorMessage(refusal)}; the re-check after it failed too: ${errorMessage(err)}`);
    return;
  }
  const revived = batch.length - fresh.length;
  if (revived === 0) {
    result.errors.push(`delete of ${batch.length} stale sensor(s) FAILED: ${errorMessage(refusal)}`);
    return;
  }
  result.nonUnknownDeleteAttempts += revived;
  result.noLongerStale += revived;
  result.errors.push(`${revived} sensor(s) were no longer UNKNOWN when the DELETE reached Qualys (the API refused the batch of ${batch.length}); sent again without them`);
  if (fresh.length === 0) return;
  try {
    await deleteBatch(api, fresh, result);
  } catch (err) {
    result.errors.push(`delete of ${fresh.length} stale sensor(s) FAILED: ${errorMessage(err)}`);
  }
}

/** The ids that are still UNKNOWN and silent since before the cutoff, read from the API now. */
async function stillStale(api: QualysApi, ids: string[], cutoff: number): Promise<string[]> {
  const current = new Map<string, Sensor>();
  for (const s of await api.listSensors('status:UNKNOWN')) {
    const id = sensorDeleteId(s);
    if (id) current.set(id, s);
  }
  return ids.filter((id) => {
    const s = current.get(id);
    if (!s || !isUnknown(s)) return false;
    const seen = parseTimestamp(s.lastCheckedIn) ?? parseTimestamp(s.created);
    return seen !== undefined && seen < cutoff;
  });
}
