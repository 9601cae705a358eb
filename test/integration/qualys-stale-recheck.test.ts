import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { resetAwsClients } from '../../shared/platforms/aws/clients';
import { liveHostsFrom } from '../../shared/qualys/stale-sensors';
import { runQualysSync } from '../../shared/qualys/sync';
import { startQualysSandbox, type QualysSandbox } from '../sandbox/qualys/fixture';
import type { FakeSensor } from '../sandbox/qualys/server';

/**
 * Issue 7: a stale sensor that comes back between the list and the DELETE must not be named in the
 * delete request (the CS API refuses the whole batch: DOCS-SENSOR-DEL "You can only delete sensors
 * with UNKNOWN status", the fake's rule), and `nonUnknownDeleteAttempts` counts what really reached
 * the API. The real client over HTTP against the fake CS API; a small proxy in front of it lets a
 * sensor come back at an exact moment of the run.
 */
const saved = { ...process.env };
const cleanup: Array<() => Promise<void>> = [];

beforeAll(() => {
  Object.assign(process.env, { AWS_ENDPOINT_URL: inject('motoUrl'), AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'eu-west-1' });
  resetAwsClients();
});

afterAll(async () => {
  for (const c of cleanup) await c();
  process.env = saved;
  resetAwsClients();
});

type Hook = (req: { method: string; path: string; search: string }) => void;

/** Forwards everything to the fake; `before` runs when a request arrives, `after` once its answer is in (before the client sees it). */
async function proxy(target: string, hooks: { before?: Hook; after?: Hook }): Promise<string> {
  const server: Server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'http://proxy');
      const info = { method: req.method ?? 'GET', path: u.pathname, search: u.search };
      hooks.before?.(info);
      const t = new URL(target);
      const up = request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
        const body: Buffer[] = [];
        r.on('data', (c: Buffer) => body.push(c));
        r.on('end', () => {
          hooks.after?.(info);
          res.writeHead(r.statusCode ?? 502, r.headers);
          res.end(Buffer.concat(body));
        });
      });
      up.on('error', (e) => res.writeHead(502).end(e.message));
      up.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function tenant(): Promise<{ s: QualysSandbox; stale: FakeSensor[] }> {
  const s = await startQualysSandbox(inject('motoUrl'));
  cleanup.push(() => s.stop());
  const stale = s.fake.seedSensors(10, { status: 'UNKNOWN', lastCheckedInDaysAgo: 45, hostnamePrefix: 'gone' });
  s.fake.seedSensors(3, { status: 'RUNNING', lastCheckedInDaysAgo: 0, hostnamePrefix: 'alive' });
  return { s, stale };
}

const comeBack = (sensor: FakeSensor) => Object.assign(sensor, { status: 'RUNNING', lastCheckedIn: String(Date.now()) });
const isSensorList = (r: { method: string; path: string }) => r.method === 'GET' && r.path === '/csapi/v1.3/sensors';
const liveHosts = liveHostsFrom(['some-other-node']);

describe('stale sensor purge re-checks before the DELETE', () => {
  it('a sensor that comes back right after the list is dropped from the delete request; the others are purged', async () => {
    const { s, stale } = await tenant();
    let lists = 0;
    const url = await proxy(s.fake.url, { after: (r) => { if (isSensorList(r) && ++lists === 1) comeBack(stale[3]!); } });
    const report = await runQualysSync({ config: s.config({ baseUrl: url }), liveHosts });
    expect(s.fake.refusedSensorDeletes).toEqual([]);
    expect(report.errors).toEqual([]);
    expect(report).toMatchObject({ staleCandidates: 10, staleDeleted: 9, nonUnknownDeleteAttempts: 0 });
    expect(s.fake.sensors.get(stale[3]!.uuid)?.status).toBe('RUNNING');
    for (const x of stale.filter((_, i) => i !== 3)) expect(s.fake.sensors.has(x.uuid)).toBe(false);
    expect(report.plan.join('\n')).toMatch(/1 no longer stale at the re-check/);
  });

  it('a sensor that comes back between the re-check and the DELETE is counted as a non-UNKNOWN delete attempt; the rest is purged', async () => {
    const { s, stale } = await tenant();
    let deletes = 0;
    const url = await proxy(s.fake.url, { before: (r) => { if (r.method === 'DELETE' && r.path === '/csapi/v1.3/sensors' && ++deletes === 1) comeBack(stale[5]!); } });
    const report = await runQualysSync({ config: s.config({ baseUrl: url }), liveHosts });
    const refusedNotUnknown = s.fake.refusedSensorDeletes.flatMap((r) => r.notUnknown);
    expect(refusedNotUnknown).toEqual([stale[5]!.uuid]);
    expect(report.nonUnknownDeleteAttempts).toBe(refusedNotUnknown.length);
    expect(report.staleDeleted).toBe(9);
    expect(s.fake.sensors.has(stale[5]!.uuid)).toBe(true);
    for (const x of stale.filter((_, i) => i !== 5)) expect(s.fake.sensors.has(x.uuid)).toBe(false);
    expect(report.errors.join('\n')).toMatch(/1 sensor\(s\) were no longer UNKNOWN when the DELETE reached Qualys/);
  });
});
