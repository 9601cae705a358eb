import type { SensorfleetConfig } from '../config/schema';
import { CallCounter, countCalls } from '../runtime/call-log';
import { errorMessage } from '../runtime/errors';
import { QualysApi } from './api';
import { sensorCheckIn, type ClusterCheckIn, type ClusterNodes } from './checkin';
import { QualysClient } from './client';
import { loadQualysCredentials, readJsonSecret } from './credentials';
import type { PageListener } from './paging';
import { RateBudget } from './rate-limit';
import { applySchedulePlan } from './schedules/apply';
import { desiredRegistries } from './schedules/desired';
import { describeAction, planSchedules, type ObservedSchedules } from './schedules/plan';
import type { Schedule } from './schemas';
import { deleteStaleSensors, planStaleSensors, type LiveHosts } from './stale-sensors';

export interface QualysSyncOptions {
  config: SensorfleetConfig;
  dryRun?: boolean;
  /** Live nodes of the fleet inventory. Without it the stale purge is skipped: liveness cannot be shown. */
  liveHosts?: LiveHosts;
  now?: Date;
  /** Each page of a Qualys list as it is read (CLI progress). */
  onPage?: PageListener;
}

export interface QualysSyncReport {
  dryRun: boolean;
  plan: string[];
  registriesCreated: number;
  schedulesCreated: number;
  schedulesUpdated: number;
  schedulesDeleted: number;
  schedulesDeferred: number;
  schedulesInSync: number;
  staleCandidates: number;
  staleDeleted: number;
  /** Sensors that were no longer UNKNOWN when a DELETE naming them reached Qualys (refused by the API, then left out). */
  nonUnknownDeleteAttempts: number;
  deletionJobIds: string[];
  /** CS API attempts (every try, token requests included). */
  calls: number;
  /** Attempts that change the tenant (POST/PUT/DELETE, token requests excluded). */
  writes: number;
  authCalls: number;
  /** 409/429 answers. */
  rateLimited: number;
  errors: string[];
  durationMs: number;
}

/** Builds the client for a run: credentials from Secrets Manager, one rate budget shared by all calls. */
export async function qualysApiFor(config: SensorfleetConfig, onPage?: PageListener): Promise<QualysApi> {
  const q = config.qualys;
  const client = new QualysClient({
    ...(q.baseUrl ? { baseUrl: q.baseUrl } : { platform: q.platform }),
    credentials: await loadQualysCredentials(q.auth),
    timeoutMs: q.timeoutMs,
    retry: q.retry,
    budget: new RateBudget(q.maxConcurrency, q.maxRateLimitWaitSeconds * 1000),
  });
  return new QualysApi(client, q.pageSize, onPage);
}

/** Qualys hygiene: registry scan schedules as declared, stale UNKNOWN sensors purged. Dry run plans only. */
export async function runQualysSync(opts: QualysSyncOptions): Promise<QualysSyncReport> {
  const started = Date.now();
  const { config } = opts;
  const dryRun = opts.dryRun ?? false;
  const now = opts.now ?? new Date();
  const counter = new CallCounter();
  const report: QualysSyncReport = {
    dryRun, plan: [], registriesCreated: 0, schedulesCreated: 0, schedulesUpdated: 0, schedulesDeleted: 0, schedulesDeferred: 0, schedulesInSync: 0,
    staleCandidates: 0, staleDeleted: 0, nonUnknownDeleteAttempts: 0, deletionJobIds: [], calls: 0, writes: 0, authCalls: 0, rateLimited: 0, errors: [], durationMs: 0,
  };
  let api: QualysApi | undefined;
  await countCalls(counter, async () => {
    api = await qualysApiFor(config, opts.onPage);
    // The two parts are independent: one failing does not stop the other.
    await Promise.all([
      syncSchedules(api, config, dryRun, now, report).catch((err) => report.errors.push(`registry schedules: ${errorMessage(err)}`)),
      purgeStaleSensors(api, config, dryRun, opts.liveHosts, now, report).catch((err) => report.errors.push(`stale sensors: ${errorMessage(err)}`)),
    ]);
  }).catch((err) => report.errors.push(errorMessage(err)));
  const qualysCalls = counter.calls.filter((c) => c.service === 'qualys');
  report.calls = qualysCalls.length;
  report.writes = qualysCalls.filter((c) => c.mutating && !c.operation.startsWith('auth')).length;
  report.authCalls = api?.client.authCalls ?? 0;
  report.rateLimited = api?.client.budget.stats.refused ?? 0;
  report.durationMs = Date.now() - started;
  return report;
}

async function syncSchedules(api: QualysApi, config: SensorfleetConfig, dryRun: boolean, now: Date, report: QualysSyncReport): Promise<void> {
  const desired = desiredRegistries(config, now);
  if (desired.length === 0) {
    report.plan.push('registry schedules: none declared');
    return;
  }
  const registries = await api.listRegistries();
  const ids = new Map(registries.map((r) => [r.registryUri.trim().toLowerCase().replace(/\/+$/, ''), r.registryUuid]));
  const schedulesByRegistry = new Map<string, Schedule[]>();
  await Promise.all(
    desired.map(async (d) => {
      const id = ids.get(d.key);
      if (id) schedulesByRegistry.set(id, await api.listSchedules(id));
    }),
  );
  const observed: ObservedSchedules = { registries, schedulesByRegistry };
  const plan = planSchedules(desired, observed, config.qualys.schedules.namePrefix);
  report.schedulesInSync = plan.inSync;
  report.plan.push(`registry schedules: ${plan.actions.length} action(s), ${plan.inSync} in sync`, ...plan.actions.map(describeAction));
  if (dryRun) {
    report.schedulesDeferred = plan.actions.filter((a) => a.kind === 'defer').length;
    return;
  }
  const result = await applySchedulePlan(api, plan.actions, (id) => readJsonSecret(id, config.qualys.auth.secretRegion));
  report.registriesCreated = result.registriesCreated;
  report.schedulesCreated = result.schedulesCreated;
  report.schedulesUpdated = result.schedulesUpdated;
  report.schedulesDeleted = result.schedulesDeleted;
  report.schedulesDeferred = result.schedulesDeferred;
  report.errors.push(...result.errors);
}

async function purgeStaleSensors(api: QualysApi, config: SensorfleetConfig, dryRun: boolean, liveHosts: LiveHosts | undefined, now: Date, report: QualysSyncReport): Promise<void> {
  const s = config.qualys.staleSensors;
  if (!s.enabled) {
    report.plan.push('stale sensors: disabled');
    return;
  }
  if (!liveHosts) {
    report.plan.push('stale sensors: skipped, no live-host inventory was given');
    return;
  }
  // The QQL token is not documented for sensors [I]: the planner filters client-side again.
  const sensors = await api.listSensors('status:UNKNOWN');
  const plan = planStaleSensors(sensors, { olderThanDays: s.olderThanDays, maxDeletesPerRun: s.maxDeletesPerRun, liveHosts, now: now.getTime() });
  report.staleCandidates = plan.toDelete.length + plan.deferred;
  report.plan.push(...plan.lines);
  if (dryRun || plan.toDelete.length === 0) return;
  const result = await deleteStaleSensors(api, plan, sensors, { batchSize: s.batchSize, olderThanDays: s.olderThanDays, now: now.getTime() });
  if (result.noLongerStale > 0) report.plan.push(`stale sensors: ${result.noLongerStale} no longer stale at the re-check right before the DELETE; kept`);
  report.staleDeleted = result.deleted;
  report.deletionJobIds.push(...result.deletionJobIds);
  report.nonUnknownDeleteAttempts += result.nonUnknownDeleteAttempts;
  report.errors.push(...result.errors);
}

/** Check-in per cluster with the run's client (for status, reports and the ring health gate). */
export async function runQualysCheckIn(config: SensorfleetConfig, clusters: ClusterNodes[], onPage?: PageListener): Promise<ClusterCheckIn[]> {
  return sensorCheckIn(await qualysApiFor(config, onPage), clusters);
}
