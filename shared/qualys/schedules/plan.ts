import type { Registry, Schedule } from '../schemas';
import type { DesiredRegistry, DesiredSchedule } from './desired';
import { registryKey } from './desired';

/** What the reconciler saw: the tenant's registries and the schedules of the declared ones. */
export interface ObservedSchedules {
  registries: Registry[];
  schedulesByRegistry: Map<string, Schedule[]>;
}

/** `registryId` is undefined when the registry is created earlier in the same plan. */
export type ScheduleAction =
  | { kind: 'create-registry'; registry: DesiredRegistry; reason: string }
  | { kind: 'create-schedule'; registry: DesiredRegistry; registryId?: string; schedule: DesiredSchedule; reason: string }
  | { kind: 'update-schedule'; registry: DesiredRegistry; registryId: string; scheduleId: string; schedule: DesiredSchedule; reason: string }
  | { kind: 'recreate-schedule'; registry: DesiredRegistry; registryId: string; scheduleId: string; schedule: DesiredSchedule; reason: string }
  | { kind: 'delete-schedule'; registry: DesiredRegistry; registryId: string; scheduleId: string; name: string; reason: string }
  | { kind: 'defer'; registry: DesiredRegistry; registryId: string; scheduleId: string; name: string; reason: string };

export interface SchedulePlan {
  actions: ScheduleAction[];
  inSync: number;
}

/** Statuses in which a schedule is neither updated nor deleted (DOCS-SCHED-UPDATE, bulk delete [C]). */
const BUSY = new Set(['running', 'baselinerunning']);

/**
 * Pure: desired + observed → actions with reasons. Only schedules whose name starts with `prefix`
 * are ours; everything else is left alone. A Running schedule is deferred to the next run.
 */
export function planSchedules(desired: DesiredRegistry[], observed: ObservedSchedules, prefix: string): SchedulePlan {
  const actions: ScheduleAction[] = [];
  let inSync = 0;
  const registryByKey = new Map(observed.registries.map((r) => [registryKey(r.registryUri), r]));
  for (const reg of desired) {
    const existing = registryByKey.get(reg.key);
    if (!existing) {
      actions.push({ kind: 'create-registry', registry: reg, reason: 'declared, not in Qualys' });
      for (const s of reg.schedules) actions.push({ kind: 'create-schedule', registry: reg, schedule: s, reason: 'declared, registry is new' });
      continue;
    }
    const registryId = existing.registryUuid;
    const ours = (observed.schedulesByRegistry.get(registryId) ?? []).filter((s) => s.name.startsWith(prefix));
    const byName = new Map<string, Schedule[]>();
    for (const s of ours) byName.set(s.name, [...(byName.get(s.name) ?? []), s]);
    for (const want of reg.schedules) {
      const found = byName.get(want.name) ?? [];
      byName.delete(want.name);
      if (found.length === 0) {
        actions.push({ kind: 'create-schedule', registry: reg, registryId, schedule: want, reason: 'declared, missing' });
        continue;
      }
      // Keep the copy that needs least change; extra copies (e.g. left by an earlier failure) go.
      const ranked = [...found].sort((a, b) => driftRank(want, a) - driftRank(want, b));
      const [keep, ...extras] = ranked as [Schedule, ...Schedule[]];
      for (const extra of extras) actions.push(removal(reg, registryId, extra, 'duplicate of a declared schedule'));
      const drift = diffSchedule(want, keep);
      if (drift.kind === 'none') {
        inSync++;
        continue;
      }
      if (isBusy(keep)) {
        actions.push({ kind: 'defer', registry: reg, registryId, scheduleId: keep.scheduleUuid, name: keep.name, reason: `deferred: ${keep.status} (${drift.fields.join(', ')} drifted)` });
        continue;
      }
      actions.push({
        kind: drift.kind === 'update' ? 'update-schedule' : 'recreate-schedule',
        registry: reg,
        registryId,
        scheduleId: keep.scheduleUuid,
        schedule: want,
        reason: `${drift.fields.join(', ')} drifted${drift.kind === 'recreate' ? ' (the API cannot update these: delete and re-create)' : ''}`,
      });
    }
    for (const leftovers of byName.values()) for (const s of leftovers) actions.push(removal(reg, registryId, s, 'managed, no longer declared'));
  }
  return { actions, inSync };
}

function removal(reg: DesiredRegistry, registryId: string, s: Schedule, why: string): ScheduleAction {
  return isBusy(s)
    ? { kind: 'defer', registry: reg, registryId, scheduleId: s.scheduleUuid, name: s.name, reason: `deferred: ${s.status} (${why})` }
    : { kind: 'delete-schedule', registry: reg, registryId, scheduleId: s.scheduleUuid, name: s.name, reason: why };
}

function isBusy(s: Schedule): boolean {
  return BUSY.has(String(s.status ?? '').toLowerCase());
}

export type ScheduleDrift = { kind: 'none' } | { kind: 'update' | 'recreate'; fields: string[] };

/**
 * onDemand, repo, tag and days cannot be updated (DOCS-SCHED-UPDATE [C]): those need a re-create.
 * Time, interval, week day and forceScan can. Echo fields the API leaves out are not treated as
 * drift, since whether v1.3 lists them is [I]; otherwise every run would rewrite every schedule.
 */
export function diffSchedule(want: DesiredSchedule, have: Schedule): ScheduleDrift {
  const b = want.body;
  const recreate: string[] = [];
  const update: string[] = [];
  if (have.onDemand === true) recreate.push('onDemand');
  if (have.filters) {
    if (repoTagKey(have.filters.flatMap((f) => f.repoTags ?? [])) !== repoTagKey(b.filters.flatMap((f) => f.repoTags))) recreate.push('repositories/tags');
    if (have.filters.some((f) => f.days !== undefined && f.days !== null)) recreate.push('days');
  }
  if (have.schedule && normTime(have.schedule) !== b.schedule) update.push('time');
  if (have.scheduleScanIntervalInDays != null && have.scheduleScanIntervalInDays !== b.scheduleScanIntervalInDays) update.push('interval');
  if (b.weekDay && have.weekDay != null && have.weekDay.toUpperCase() !== b.weekDay) update.push('weekDay');
  if (have.forceScan != null && have.forceScan !== b.forceScan) update.push('forceScan');
  if (recreate.length > 0) return { kind: 'recreate', fields: [...recreate, ...update] };
  if (update.length > 0) return { kind: 'update', fields: update };
  return { kind: 'none' };
}

function driftRank(want: DesiredSchedule, have: Schedule): number {
  const d = diffSchedule(want, have);
  return d.kind === 'none' ? 0 : d.kind === 'update' ? 1 : 2;
}

function repoTagKey(list: Array<{ repo: string; tag?: string | null }>): string {
  return list
    .map((r) => `${r.repo}\u0000${r.tag ?? ''}`)
    .sort()
    .join('\u0001');
}

function normTime(t: string): string {
  const m = /^(\d{1,2}):(\d{2})/.exec(t.trim());
  return m ? `${m[1]!.padStart(2, '0')}:${m[2]}` : t;
}

export function describeAction(a: ScheduleAction): string {
  const where = a.registry.uri;
  switch (a.kind) {
    case 'create-registry':
      return `create registry ${where}: ${a.reason}`;
    case 'create-schedule':
      return `create schedule ${a.schedule.name} on ${where} (${a.schedule.declared} = ${a.schedule.body.weekDay ? `${a.schedule.body.weekDay} ` : ''}${a.schedule.body.schedule} UTC): ${a.reason}`;
    case 'update-schedule':
      return `update schedule ${a.schedule.name} on ${where}: ${a.reason}`;
    case 'recreate-schedule':
      return `re-create schedule ${a.schedule.name} on ${where}: ${a.reason}`;
    case 'delete-schedule':
      return `delete schedule ${a.name} on ${where}: ${a.reason}`;
    case 'defer':
      return `leave schedule ${a.name} on ${where}: ${a.reason}; retried next run`;
  }
}
