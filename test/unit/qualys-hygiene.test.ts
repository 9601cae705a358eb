import { describe, expect, it } from 'vitest';
import { checkInGate, matchCheckIns } from '../../shared/qualys/checkin';
import { jwtExpiry, isJwtExpired } from '../../shared/qualys/auth';
import { readRateLimitHeaders, RateBudget } from '../../shared/qualys/rate-limit';
import { listEnvelope, scheduleSchema, sensorSchema, type Sensor } from '../../shared/qualys/schemas';
import { liveHostsFrom, planStaleSensors } from '../../shared/qualys/stale-sensors';
import { sameSensorVersion } from '../../shared/qualys/versions';
import { QualysRateLimitWaitError } from '../../shared/qualys/errors';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const daysAgo = (d: number) => String(NOW - d * 86_400_000);
let n = 0;
const sensor = (o: Partial<Sensor>): Sensor => ({ uuid: `u-${++n}`, sensorId: String(n), hostname: `h-${n}`, status: 'UNKNOWN', lastCheckedIn: daysAgo(40), ...o });

describe('stale sensor selection', () => {
  const opts = { olderThanDays: 30, maxDeletesPerRun: 100, liveHosts: liveHostsFrom(['ip-10-0-0-9.eu-west-1.compute.internal', 'node-live']), now: NOW };
  const table: Array<[string, Partial<Sensor>, boolean]> = [
    ['UNKNOWN, 40 days, host gone', {}, true],
    ['UNKNOWN, 10 days', { lastCheckedIn: daysAgo(10) }, false],
    ['RUNNING, 400 days (never: only UNKNOWN is deletable)', { status: 'RUNNING', lastCheckedIn: daysAgo(400) }, false],
    ['lower-case unknown status', { status: 'unknown' }, true],
    ['UNKNOWN, old, host live (short name matches FQDN)', { hostname: 'ip-10-0-0-9' }, false],
    ['UNKNOWN, old, Kubernetes node live', { hostname: 'x', cluster: { type: 'kubernetes', k8s: { node: { name: 'NODE-LIVE' } } } }, false],
    ['UNKNOWN, no timestamps at all', { lastCheckedIn: null, created: null }, false],
    ['UNKNOWN, no check-in but created 50 days ago', { lastCheckedIn: undefined, created: daysAgo(50) }, true],
    ['UNKNOWN, exactly at the cutoff', { lastCheckedIn: daysAgo(30) }, false],
  ];
  it.each(table)('%s', (_name, o, selected) => {
    const s = sensor(o);
    const plan = planStaleSensors([s], opts);
    expect(plan.toDelete.map((c) => c.id)).toEqual(selected ? [s.uuid] : []);
  });

  it('caps deletions per run, oldest first, and says how many wait', () => {
    const list = [sensor({ lastCheckedIn: daysAgo(31) }), sensor({ lastCheckedIn: daysAgo(90) }), sensor({ lastCheckedIn: daysAgo(60) })];
    const plan = planStaleSensors(list, { ...opts, maxDeletesPerRun: 2 });
    expect(plan.toDelete.map((c) => c.id)).toEqual([list[1]!.uuid, list[2]!.uuid]);
    expect(plan.deferred).toBe(1);
    expect(plan.lines[0]).toMatch(/1 left for later runs/);
  });
});

describe('check-in matching', () => {
  const sensors: Sensor[] = [
    sensor({ hostname: 'ip-1', status: 'RUNNING', sensorVersion: '1.34.1', lastCheckedIn: daysAgo(0), cluster: { type: 'kubernetes', k8s: { node: { name: 'node-a' } } } }),
    sensor({ hostname: 'ip-2', status: 'RUNNING', sensorVersion: '1.33.2-0', lastCheckedIn: daysAgo(0), cluster: { type: 'kubernetes', k8s: { node: { name: 'node-b' } } } }),
    // node-c re-registered: an old UNKNOWN record and a newer live one
    sensor({ hostname: 'ip-3', status: 'UNKNOWN', sensorVersion: '1.30.0', lastCheckedIn: daysAgo(20), cluster: { type: 'kubernetes', k8s: { node: { name: 'node-c' } } } }),
    sensor({ hostname: 'ip-3', status: 'RUNNING', sensorVersion: '1.34.1-0', lastCheckedIn: daysAgo(0), cluster: { type: 'kubernetes', k8s: { node: { name: 'node-c' } } } }),
    sensor({ hostname: 'ip-4', status: 'UNKNOWN', sensorVersion: '1.34.1', lastCheckedIn: daysAgo(2), cluster: { type: 'kubernetes', k8s: { node: { name: 'node-d' } } } }),
    // an ECS host sensor with the same host name as node-e must not count for a Kubernetes cluster
    sensor({ hostname: 'node-e', status: 'RUNNING', sensorVersion: '1.34.1', lastCheckedIn: daysAgo(0) }),
  ];
  const input = { cluster: 'aws-eks:111122223333:eu-west-1:prod', desiredVersion: '1.34.1-0', nodes: ['a', 'b', 'c', 'd', 'e'].map((x) => ({ name: `node-${x}` })) };

  it('reports never checked in, silent and version mismatches per cluster', () => {
    const r = matchCheckIns(sensors, input);
    expect(r).toMatchObject({ nodes: 5, checkedIn: 3, neverCheckedIn: ['node-e'], silent: ['node-d'], versionMismatch: [{ node: 'node-b', sensorVersion: '1.33.2-0' }] });
    const gate = checkInGate(r);
    expect(gate.pass).toBe(false);
    expect(gate.reason).toMatch(/1 of 5 node\(s\) never checked in \(node-e\)/);
    expect(gate.reason).toMatch(/node-b: 1\.33\.2-0/);
  });

  it('matches ECS hosts by host name and passes the gate when all is well', () => {
    const r = matchCheckIns(sensors, { cluster: 'aws-ecs:111122223333:eu-west-1:c', desiredVersion: '1.34.1-0', nodes: [{ name: 'i-0abc', hostname: 'node-e.eu-west-1.compute.internal' }] });
    expect(r).toMatchObject({ checkedIn: 1, neverCheckedIn: [], silent: [], versionMismatch: [] });
    expect(checkInGate([r])).toEqual({ pass: true, reason: expect.stringMatching(/1 node\(s\) in 1 cluster/) });
  });

  it.each([
    ['1.34.1', '1.34.1-0', true],
    ['1.34.1-2', '1.34.1-0', false],
    ['1.34.10', '1.34.1', false],
    ['v1.34.1', '1.34.1', true],
    ['latest', 'latest', true],
  ])('version %s vs %s → %s', (a, b, same) => expect(sameSensorVersion(a, b)).toBe(same));
});

describe('responses are validated but tolerant', () => {
  it('keeps unknown fields and accepts numbers for epoch strings', () => {
    const parsed = listEnvelope(sensorSchema).parse({ count: 1, data: [{ uuid: 'u', status: 'UNKNOWN', lastCheckedIn: 1700000000000, brandNew: { x: 1 } }], extra: true });
    expect(parsed.data?.[0]).toMatchObject({ uuid: 'u', brandNew: { x: 1 } });
  });
  it('refuses a shape that breaks what we rely on', () => {
    expect(scheduleSchema.safeParse({ name: 'x' }).success).toBe(false); // no scheduleUuid
    expect(listEnvelope(sensorSchema).safeParse({ data: 'nope' }).success).toBe(false);
  });
});

describe('auth and rate-limit helpers', () => {
  it('reads exp from a JWT and recognises the expired answer', () => {
    const jwt = ['e30', Buffer.from(JSON.stringify({ exp: 2_000_000_000 })).toString('base64url'), 'sig'].join('.');
    expect(jwtExpiry(jwt)).toBe(2_000_000_000_000);
    expect(jwtExpiry('a.b.c')).toBeUndefined();
    expect(isJwtExpired(401, { message: 'JWT expired' })).toBe(true);
    expect(isJwtExpired(401, { message: 'Unauthorized' })).toBe(false);
  });

  it('parses the documented headers', () => {
    expect(readRateLimitHeaders({ 'x-ratelimit-limit': '300', 'x-ratelimit-window-sec': '3600', 'x-ratelimit-remaining': '0', 'x-ratelimit-towait-sec': '12', 'x-concurrency-limit-limit': '2', 'x-concurrency-limit-running': '1' })).toEqual({
      limit: 300, windowSec: 3600, remaining: 0, toWaitSec: 12, concurrencyLimit: 2, concurrencyRunning: 1,
    });
  });

  it('caps concurrency at the advertised limit and refuses a wait longer than the run allows', async () => {
    const budget = new RateBudget(5, 1000);
    budget.observe({ concurrencyLimit: 1 });
    const first = await budget.acquire();
    let second = false;
    const pending = budget.acquire().then((r) => ((second = true), r));
    await new Promise((r) => setTimeout(r, 20));
    expect(second).toBe(false);
    first();
    (await pending)();
    budget.refused({ toWaitSec: 5 }, 10);
    await expect(budget.acquire()).rejects.toBeInstanceOf(QualysRateLimitWaitError);
  });
});
