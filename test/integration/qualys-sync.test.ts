import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { resetAwsClients } from '../../shared/platforms/aws/clients';
import { QualysAuthError } from '../../shared/qualys/errors';
import { liveHostsFrom } from '../../shared/qualys/stale-sensors';
import { qualysApiFor, runQualysSync } from '../../shared/qualys/sync';
import { qualysSyncCommand } from '../../shared/cli/commands/qualys';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { startQualysSandbox, type QualysSandbox } from '../sandbox/qualys/fixture';

/**
 * The real client over HTTP against the fake CS API, credentials from Secrets Manager (moto).
 * Every test starts its own fake: tests never share or reset a server.
 */
const saved = { ...process.env };
const sandboxes: QualysSandbox[] = [];

beforeAll(() => {
  Object.assign(process.env, { AWS_ENDPOINT_URL: inject('motoUrl'), AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'eu-west-1' });
  resetAwsClients();
});

afterAll(async () => {
  await Promise.all(sandboxes.map((s) => s.stop()));
  process.env = saved;
  resetAwsClients();
});

async function sandbox(opts: Parameters<typeof startQualysSandbox>[1] = {}): Promise<QualysSandbox> {
  const s = await startQualysSandbox(inject('motoUrl'), opts);
  sandboxes.push(s);
  return s;
}

const REGISTRY = 'https://registry.example.com';
const declared = (registries: unknown[] = defaultRegistries()) => ({ schedules: { registries } });
function defaultRegistries() {
  return [
    {
      uri: REGISTRY,
      type: 'V2',
      schedules: [
        { name: 'nightly', at: '02:00', timeZone: 'Europe/Paris', repositories: [{ repo: 'team/app' }] },
        { name: 'weekly', every: 'weekly', weekDay: 'SUNDAY', at: '23:30', timeZone: 'America/New_York', repositories: [{ repo: 'team/api' }, { repo: 'team/web', tag: 'release-.*' }] },
      ],
    },
    { uri: 'https://new.example.com', type: 'V2', schedules: [{ name: 'daily', at: '04:00', repositories: [{ repo: 'base/os' }] }] },
  ];
}

/** A tenant with stale and live sensors and schedules in every state the planner cares about. */
function seedTenant(s: QualysSandbox) {
  const f = s.fake;
  const stale = f.seedSensors(30, { status: 'UNKNOWN', lastCheckedInDaysAgo: 45, hostnamePrefix: 'gone' });
  const recent = f.seedSensors(5, { status: 'UNKNOWN', lastCheckedInDaysAgo: 3, hostnamePrefix: 'recent' });
  const liveUnknown = f.seedSensors(4, { status: 'UNKNOWN', lastCheckedInDaysAgo: 60, hostnamePrefix: 'live' });
  const running = f.seedSensors(20, { status: 'RUNNING', lastCheckedInDaysAgo: 90, hostnamePrefix: 'running' });
  const reg = f.seedRegistry({ uri: REGISTRY });
  const foreign = f.seedSchedule(reg.registryUuid, { name: 'security-team-weekly', schedule: '09:00' });
  const drifted = f.seedSchedule(reg.registryUuid, { name: 'sensorfleet-nightly', schedule: '05:00' });
  const retired = f.seedSchedule(reg.registryUuid, { name: 'sensorfleet-retired' });
  const runningRetired = f.seedSchedule(reg.registryUuid, { name: 'sensorfleet-busy', status: 'Running' });
  return { stale, recent, liveUnknown, running, reg, foreign, drifted, retired, runningRetired, liveHosts: liveHostsFrom(liveUnknown.map((x) => `${x.hostname}.eu-west-1.compute.internal`)) };
}

function assertNothingWrong(s: QualysSandbox, t: ReturnType<typeof seedTenant>) {
  const f = s.fake;
  expect(f.refusedSensorDeletes).toEqual([]);
  for (const x of [...t.recent, ...t.liveUnknown, ...t.running]) expect(f.sensors.has(x.uuid)).toBe(true);
  const names = f.allSchedules().map((x) => x.name);
  expect(new Set(names).size).toBe(names.length); // nothing created twice
  expect(f.allSchedules().find((x) => x.scheduleUuid === t.foreign.scheduleUuid)).toMatchObject({ name: 'security-team-weekly', schedule: '09:00' });
  expect(f.allSchedules().find((x) => x.scheduleUuid === t.runningRetired.scheduleUuid)).toBeDefined();
  expect(f.registries.size).toBe(2);
}

describe('Qualys client over HTTP', () => {
  it('pages with pageNumber/pageSize to the end and treats 204 as an empty page', async () => {
    const s = await sandbox();
    s.fake.seedSensors(120, { status: 'RUNNING' });
    const api = await qualysApiFor(s.config({ pageSize: 50 }));
    expect(await api.listSensors()).toHaveLength(120); // 50 + 50 + 20 (short page ends it)
    expect(s.fake.requests.filter((r) => r.path === '/csapi/v1.3/sensors').map((r) => r.status)).toEqual([200, 200, 200]);
    s.fake.seedSensors(30, { status: 'RUNNING' }); // exactly 150: `count` is reached after page 3, no fourth call
    expect(await api.listSensors()).toHaveLength(150);
    expect(s.fake.requests.filter((r) => r.path === '/csapi/v1.3/sensors').slice(3).map((r) => r.status)).toEqual([200, 200, 200]);
    expect(await api.listSensors('status:UNKNOWN')).toEqual([]); // nothing matches: 204 No Content
    expect(await api.listRegistries()).toEqual([]);
    expect(s.fake.requests.slice(-2).map((r) => r.status)).toEqual([204, 204]);
  });

  it('refreshes a JWT that expired mid-run (once) and refreshes ahead of a short token life', async () => {
    const s = await sandbox({ tokenLifetimeSec: 2 });
    s.fake.seedSensors(10, { status: 'RUNNING' });
    const api = await qualysApiFor(s.config({ pageSize: 5 }));
    await api.listSensors();
    s.fake.faults.expireTokensAfterCalls = 1;
    expect(await api.listSensors()).toHaveLength(10);
    expect(s.fake.requests.filter((r) => r.status === 401)).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 2100));
    expect(await api.listSensors()).toHaveLength(10);
    expect(s.fake.tokensIssued).toBeGreaterThanOrEqual(3);
  });

  it('fails with a named error that carries no secret when the credentials are wrong', async () => {
    const s = await sandbox();
    const api = await qualysApiFor(s.config());
    (s.fake as unknown as { users: Array<{ password: string }> }).users[0]!.password = 'rotated';
    const err = await api.listSensors().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QualysAuthError);
    expect(String((err as Error).message)).not.toMatch(/pw-/);
  });

  it('pauses when Remaining reaches 0 and the window allows again (real limit, tiny window)', async () => {
    const s = await sandbox({ rateLimit: { limit: 4, windowSec: 1, concurrency: 2 } });
    s.fake.seedSensors(45, { status: 'RUNNING' });
    const api = await qualysApiFor(s.config({ pageSize: 5 }));
    const started = Date.now();
    expect(await api.listSensors()).toHaveLength(45); // 9 pages through a 4-per-second window
    expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
    expect(s.fake.apiCalls).toBe(9);
  });
});

describe('qualys sync', () => {
  it('dry run plans and writes nothing; the sync converges; a second sync writes 0', async () => {
    const s = await sandbox();
    const t = seedTenant(s);
    const config = s.config(declared());
    const before = JSON.stringify([...s.fake.sensors.values(), s.fake.allSchedules(), [...s.fake.registries.values()]]);
    const dry = await runQualysSync({ config, dryRun: true, liveHosts: t.liveHosts });
    expect(dry).toMatchObject({ writes: 0, staleCandidates: 30, staleDeleted: 0, schedulesCreated: 0, schedulesDeferred: 1, errors: [] });
    expect(dry.plan.join('\n')).toMatch(/create registry https:\/\/new\.example\.com/);
    expect(dry.plan.join('\n')).toMatch(/update schedule sensorfleet-nightly .*time drifted/);
    expect(JSON.stringify([...s.fake.sensors.values(), s.fake.allSchedules(), [...s.fake.registries.values()]])).toBe(before);

    const first = await runQualysSync({ config, liveHosts: t.liveHosts });
    expect(first).toMatchObject({
      errors: [], staleDeleted: 30, nonUnknownDeleteAttempts: 0, registriesCreated: 1,
      schedulesCreated: 2, schedulesUpdated: 1, schedulesDeleted: 1, schedulesDeferred: 1,
    });
    expect(first.deletionJobIds).toHaveLength(1);
    expect(s.fake.deletionJobs.map((j) => j.deletionJobId)).toEqual(first.deletionJobIds);
    for (const x of t.stale) expect(s.fake.sensors.has(x.uuid)).toBe(false);
    assertNothingWrong(s, t);
    const nightly = s.fake.allSchedules().find((x) => x.name === 'sensorfleet-nightly')!;
    expect(nightly).toMatchObject({ scheduleUuid: t.drifted.scheduleUuid, onDemand: false, scheduleScanIntervalInDays: 1 });
    expect(['00:00', '01:00']).toContain(nightly.schedule); // 02:00 Paris, CEST or CET
    expect(s.fake.allSchedules().find((x) => x.name === 'sensorfleet-weekly')).toMatchObject({ scheduleScanIntervalInDays: 7, weekDay: 'MONDAY' });

    const second = await runQualysSync({ config, liveHosts: t.liveHosts });
    expect(second).toMatchObject({ writes: 0, staleDeleted: 0, schedulesCreated: 0, schedulesDeferred: 1, errors: [] });
    expect(JSON.stringify(second)).not.toContain('pw-');

    // The Running schedule finishes: the next run deletes it.
    s.fake.allSchedules().find((x) => x.name === 'sensorfleet-busy')!.status = 'Finished';
    expect(await runQualysSync({ config, liveHosts: t.liveHosts })).toMatchObject({ schedulesDeleted: 1, schedulesDeferred: 0, errors: [] });
  });

  it('re-creates a schedule whose repositories changed (the API cannot update them) and caps deletions per run', async () => {
    const s = await sandbox();
    const t = seedTenant(s);
    const registries = defaultRegistries();
    (registries[0] as any).schedules[0].repositories = [{ repo: 'team/app2' }];
    const config = s.config({ ...declared(registries), staleSensors: { maxDeletesPerRun: 12, batchSize: 5 } });
    const r = await runQualysSync({ config, liveHosts: t.liveHosts });
    expect(r.errors).toEqual([]);
    expect(r).toMatchObject({ staleDeleted: 12, staleCandidates: 30, schedulesCreated: 3, schedulesDeleted: 2 });
    expect(r.deletionJobIds).toHaveLength(3); // 5 + 5 + 2
    const nightly = s.fake.allSchedules().filter((x) => x.name === 'sensorfleet-nightly');
    expect(nightly).toHaveLength(1);
    expect(nightly[0]!.scheduleUuid).not.toBe(t.drifted.scheduleUuid);
    expect(nightly[0]!.filters[0]!.repoTags).toEqual([{ repo: 'team/app2', tag: '.*' }]);
  });

  it('skips the stale purge when no live-host inventory is given', async () => {
    const s = await sandbox();
    s.fake.seedSensors(3, { status: 'UNKNOWN', lastCheckedInDaysAgo: 90 });
    const r = await runQualysSync({ config: s.config() });
    expect(r).toMatchObject({ staleDeleted: 0, writes: 0, errors: [] });
    expect(r.plan).toContain('stale sensors: skipped, no live-host inventory was given');
    expect(s.fake.sensors.size).toBe(3);
  });

  it('under a 429 storm, a token expiring mid-run and 5xx after commit: nothing wrong, nothing twice, and the next run converges', async () => {
    const s = await sandbox({ rateLimit: { limit: 300, windowSec: 3600, concurrency: 2 } });
    const t = seedTenant(s);
    const config = s.config(declared());
    Object.assign(s.fake.faults, { rateLimitStorm: 6, stormToWaitSec: 1, expireTokensAfterCalls: 4, serverErrors: 2, serverErrorMethod: 'POST', serverErrorAfterCommit: true, slowMs: 5 });
    const first = await runQualysSync({ config, liveHosts: t.liveHosts });
    expect(first.rateLimited).toBeGreaterThanOrEqual(6);
    expect(first.authCalls).toBeGreaterThanOrEqual(2);
    expect(s.fake.requests.filter((r) => r.method === 'POST' && r.status === 503)).toHaveLength(2); // the creates happened, their answers were lost
    assertNothingWrong(s, t);
    expect(first.nonUnknownDeleteAttempts).toBe(0);
    const second = await runQualysSync({ config, liveHosts: t.liveHosts });
    expect(second.errors).toEqual([]);
    assertNothingWrong(s, t);
    expect(first.staleDeleted + second.staleDeleted).toBe(30);
    expect(s.fake.allSchedules().map((x) => x.name).sort()).toEqual(['security-team-weekly', 'sensorfleet-busy', 'sensorfleet-daily', 'sensorfleet-nightly', 'sensorfleet-weekly']);
    expect((await runQualysSync({ config, liveHosts: t.liveHosts })).writes).toBe(0);
  });

  it('5xx beyond the retries fails that step only; the next run resumes', async () => {
    const s = await sandbox();
    const t = seedTenant(s);
    const config = s.config(declared());
    Object.assign(s.fake.faults, { serverErrors: 40, serverErrorMethod: 'DELETE' });
    const first = await runQualysSync({ config, liveHosts: t.liveHosts });
    expect(first.errors.length).toBeGreaterThan(0);
    expect(first.errors.join('\n')).toMatch(/HTTP 503/);
    expect(first.schedulesCreated).toBe(2); // creates were not blocked by the failing deletes
    assertNothingWrong(s, t);
    s.fake.faults.serverErrors = 0;
    const second = await runQualysSync({ config, liveHosts: t.liveHosts });
    expect(second).toMatchObject({ errors: [], staleDeleted: 30, schedulesCreated: 0 });
    assertNothingWrong(s, t);
  });
});

describe('sensorfleet qualys sync (CLI)', () => {
  it('--dry-run --json prints the plan and changes nothing; without --dry-run it syncs', async () => {
    const s = await sandbox();
    s.fake.seedSensors(2, { status: 'UNKNOWN', lastCheckedInDaysAgo: 90, hostnamePrefix: 'gone' });
    const dir = mkdtempSync(join(tmpdir(), 'qualys-cli-'));
    const configFile = join(dir, 'config.json');
    const hostsFile = join(dir, 'live-hosts.txt');
    writeFileSync(configFile, JSON.stringify({ qualys: { baseUrl: s.fake.url, auth: { secretId: s.secretId, secretRegion: 'eu-west-1' }, ...declared() } }));
    writeFileSync(hostsFile, 'node-a\nnode-b\n');
    const run = async (args: string[]) => {
      const out = new PassThrough();
      const err = new PassThrough();
      let text = '';
      out.on('data', (d) => (text += String(d)));
      const code = await qualysSyncCommand([...args, '--config', configFile, '--live-hosts', hostsFile], { stdout: out, stderr: err });
      return { code, text };
    };
    const dry = await run(['--dry-run', '--json']);
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.text)).toMatchObject({ dryRun: true, writes: 0, staleCandidates: 2 });
    expect(s.fake.sensors.size).toBe(2);
    const real = await run([]);
    expect(real.code).toBe(0);
    expect(real.text).toMatch(/schedules created 3/);
    expect(s.fake.sensors.size).toBe(0);
  });
});
