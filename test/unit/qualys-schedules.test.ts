import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../shared/config/load';
import { desiredRegistries } from '../../shared/qualys/schedules/desired';
import { diffSchedule, planSchedules, type ObservedSchedules } from '../../shared/qualys/schedules/plan';
import { toUtcSchedule, zonedTimeToUtc } from '../../shared/qualys/schedules/time';
import type { Schedule } from '../../shared/qualys/schemas';

describe('local schedule → UTC (the API takes UTC only)', () => {
  const cases: Array<[string, Parameters<typeof toUtcSchedule>[0], string, { schedule: string; weekDay?: string }]> = [
    ['UTC stays', { every: 'daily', at: '02:30', timeZone: 'UTC' }, '2026-01-10T12:00:00Z', { schedule: '02:30' }],
    ['Paris winter (+1)', { every: 'daily', at: '02:30', timeZone: 'Europe/Paris' }, '2026-01-10T12:00:00Z', { schedule: '01:30' }],
    ['Paris summer (+2)', { every: 'daily', at: '02:30', timeZone: 'Europe/Paris' }, '2026-07-10T12:00:00Z', { schedule: '00:30' }],
    ['weekly Paris Monday 00:30 in summer is Sunday 22:30 UTC', { every: 'weekly', weekDay: 'MONDAY', at: '00:30', timeZone: 'Europe/Paris' }, '2026-07-10T12:00:00Z', { schedule: '22:30', weekDay: 'SUNDAY' }],
    ['weekly Los Angeles Friday 20:00 winter is Saturday 04:00 UTC', { every: 'weekly', weekDay: 'FRIDAY', at: '20:00', timeZone: 'America/Los_Angeles' }, '2026-01-05T00:00:00Z', { schedule: '04:00', weekDay: 'SATURDAY' }],
    ['weekly Los Angeles Friday 20:00 summer is Saturday 03:00 UTC', { every: 'weekly', weekDay: 'FRIDAY', at: '20:00', timeZone: 'America/Los_Angeles' }, '2026-07-05T00:00:00Z', { schedule: '03:00', weekDay: 'SATURDAY' }],
    ['weekly Tokyo Monday 03:00 is Sunday 18:00 UTC', { every: 'weekly', weekDay: 'MONDAY', at: '03:00', timeZone: 'Asia/Tokyo' }, '2026-03-01T00:00:00Z', { schedule: '18:00', weekDay: 'SUNDAY' }],
    ['half-hour zone (Kolkata +5:30)', { every: 'daily', at: '01:00', timeZone: 'Asia/Kolkata' }, '2026-03-01T00:00:00Z', { schedule: '19:30' }],
  ];
  it.each(cases)('%s', (_name, local, now, want) => {
    const got = toUtcSchedule(local, new Date(now));
    expect(got.schedule).toBe(want.schedule);
    expect(got.weekDay).toBe(want.weekDay);
    expect(got.scheduleScanIntervalInDays).toBe(local.every === 'weekly' ? 7 : 1);
  });

  it('converts for the next occurrence: the evening before a DST change uses the new offset', () => {
    // Europe/Paris springs forward on 2026-03-29 at 02:00. At 2026-03-28 23:00 UTC the next 03:00 local is after the change.
    expect(toUtcSchedule({ every: 'daily', at: '03:00', timeZone: 'Europe/Paris' }, new Date('2026-03-28T23:00:00Z')).schedule).toBe('01:00');
    // The day before, the next 03:00 local is still in winter time.
    expect(toUtcSchedule({ every: 'daily', at: '03:00', timeZone: 'Europe/Paris' }, new Date('2026-03-27T23:00:00Z')).schedule).toBe('02:00');
  });

  it('moves a wall time skipped by DST forward by the jump, and handles a repeated hour', () => {
    expect(zonedTimeToUtc(2026, 3, 29, 2, 30, 'Europe/Paris').toISOString()).toBe('2026-03-29T01:30:00.000Z'); // 03:30 CEST
    expect(['2026-10-25T00:30:00.000Z', '2026-10-25T01:30:00.000Z']).toContain(zonedTimeToUtc(2026, 10, 25, 2, 30, 'Europe/Paris').toISOString());
  });

  it('rejects a time zone that does not exist and a weekly schedule without a day', () => {
    const base = { uri: 'https://r.example.com', type: 'V2' };
    expect(() => parseConfig({ qualys: { schedules: { registries: [{ ...base, schedules: [{ name: 'x', at: '02:00', timeZone: 'Mars/Olympus', repositories: [{ repo: 'a' }] }] }] } } })).toThrow(/IANA/);
    expect(() => parseConfig({ qualys: { schedules: { registries: [{ ...base, schedules: [{ name: 'x', every: 'weekly', at: '02:00', repositories: [{ repo: 'a' }] }] }] } } })).toThrow(/weekDay/);
  });
});

const NOW = new Date('2026-01-10T12:00:00Z');
const config = parseConfig({
  targets: { aws: [{ accountId: '111122223333', regions: ['eu-west-1'] }] },
  qualys: {
    schedules: {
      registries: [
        {
          uri: 'https://registry.example.com/',
          type: 'V2',
          schedules: [
            { name: 'nightly', at: '03:00', timeZone: 'Europe/Paris', repositories: [{ repo: 'team/app' }] },
            { name: 'weekly', every: 'weekly', weekDay: 'MONDAY', at: '00:30', timeZone: 'Europe/Paris', repositories: [{ repo: 'team/api', tag: 'v.*' }], forceScan: true },
          ],
        },
      ],
      ecrFromTargets: { enabled: true, schedules: [{ name: 'ecr-daily', at: '01:00', repositories: [{ repo: 'base' }] }] },
    },
  },
});
const desired = desiredRegistries(config, NOW);
const reg = { registryUuid: 'reg-1', registryUri: 'https://REGISTRY.example.com', registryName: 'r' };
const nightly = desired[0]!.schedules[0]!;

function sched(over: Partial<Schedule> & { name: string }): Schedule {
  return { scheduleUuid: `s-${over.name}-${Math.random()}`, onDemand: false, schedule: '02:00', status: 'Finished', scheduleScanIntervalInDays: 1, forceScan: false, filters: [{ repoTags: [{ repo: 'team/app', tag: '.*' }], days: null }], ...over };
}

function observed(schedules: Schedule[]): ObservedSchedules {
  return { registries: [reg], schedulesByRegistry: new Map([['reg-1', schedules]]) };
}

describe('desired registries', () => {
  it('prefixes names, converts times, adds the fleet ECR registries', () => {
    expect(desired.map((d) => d.key)).toEqual(['https://registry.example.com', 'https://111122223333.dkr.ecr.eu-west-1.amazonaws.com']);
    expect(nightly.body).toEqual({ name: 'sensorfleet-nightly', onDemand: false, scheduleScanIntervalInDays: 1, schedule: '02:00', forceScan: false, filters: [{ repoTags: [{ repo: 'team/app', tag: '.*' }], days: null }] });
    expect(desired[0]!.schedules[1]!.body).toMatchObject({ scheduleScanIntervalInDays: 7, weekDay: 'SUNDAY', schedule: '23:30', forceScan: true });
    expect(desired[1]!.createBody).toEqual({
      registryType: 'AWS', registryUri: 'https://111122223333.dkr.ecr.eu-west-1.amazonaws.com', registryName: 'ecr-111122223333-eu-west-1', credentialType: 'AWS',
      aws: { accountId: '111122223333', arn: 'arn:aws:iam::111122223333:role/sensorfleet-qualys-registry-scan', region: 'eu-west-1', accountType: 'Global' },
    });
  });
});

describe('schedule planner', () => {
  const prefix = 'sensorfleet-';
  const onlyFirst = [{ ...desired[0]!, schedules: [nightly] }];

  it('creates a registry that is missing and its schedules', () => {
    const plan = planSchedules(desired, { registries: [], schedulesByRegistry: new Map() }, prefix);
    expect(plan.actions.map((a) => a.kind)).toEqual(['create-registry', 'create-schedule', 'create-schedule', 'create-registry', 'create-schedule']);
  });

  it('is a no-op when everything matches (registry URI case and trailing slash ignored)', () => {
    const plan = planSchedules(onlyFirst, observed([sched({ name: 'sensorfleet-nightly' })]), prefix);
    expect(plan).toEqual({ actions: [], inSync: 1 });
  });

  it('leaves schedules without our prefix alone', () => {
    const plan = planSchedules(onlyFirst, observed([sched({ name: 'sensorfleet-nightly' }), sched({ name: 'team-owned', schedule: '09:00' })]), prefix);
    expect(plan.actions).toEqual([]);
  });

  const table: Array<[string, Schedule[], string[]]> = [
    ['time drift → update', [sched({ name: 'sensorfleet-nightly', schedule: '05:00' })], ['update-schedule']],
    ['forceScan drift → update', [sched({ name: 'sensorfleet-nightly', forceScan: true })], ['update-schedule']],
    ['repo drift → re-create', [sched({ name: 'sensorfleet-nightly', filters: [{ repoTags: [{ repo: 'team/other', tag: '.*' }], days: null }] })], ['recreate-schedule']],
    ['days set → re-create', [sched({ name: 'sensorfleet-nightly', filters: [{ repoTags: [{ repo: 'team/app', tag: '.*' }], days: 7 }] })], ['recreate-schedule']],
    ['on-demand copy → re-create', [sched({ name: 'sensorfleet-nightly', onDemand: true })], ['recreate-schedule']],
    ['drifted but Running → deferred', [sched({ name: 'sensorfleet-nightly', schedule: '05:00', status: 'Running' })], ['defer']],
    ['undeclared managed → delete', [sched({ name: 'sensorfleet-nightly' }), sched({ name: 'sensorfleet-old' })], ['delete-schedule']],
    ['undeclared managed Running → deferred', [sched({ name: 'sensorfleet-nightly' }), sched({ name: 'sensorfleet-old', status: 'Running' })], ['defer']],
    ['duplicate → keep the matching one, delete the other', [sched({ name: 'sensorfleet-nightly', schedule: '07:00' }), sched({ name: 'sensorfleet-nightly' })], ['delete-schedule']],
    ['missing → create', [], ['create-schedule']],
  ];
  it.each(table)('%s', (_n, have, kinds) => {
    const plan = planSchedules(onlyFirst, observed(have), prefix);
    expect(plan.actions.map((a) => a.kind)).toEqual(kinds);
    for (const a of plan.actions) expect(a.reason.length).toBeGreaterThan(3);
  });

  it('does not call absent echo fields drift (their presence in v1.3 is not documented)', () => {
    const bare: Schedule = { scheduleUuid: 'x', name: 'sensorfleet-nightly', schedule: '02:00', filters: [{ repoTags: [{ repo: 'team/app', tag: '.*' }], days: null }] };
    expect(diffSchedule(nightly, bare)).toEqual({ kind: 'none' });
  });
});
