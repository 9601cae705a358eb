/**
 * Qualys hygiene benchmark (issue 3): a sync of a fleet with 1,000 sensors and 50 declared
 * schedules against the fake CS API, credentials from moto's Secrets Manager. Prints the API calls
 * per sync and the time they take under the documented default limit of 300 calls per 3600 s
 * (DOCS-RATE), computed from the call count, plus the wall time measured with a fast fake limit.
 * Run: node bin/run-ts.mjs scripts/bench-qualys.ts
 */
import { resetAwsClients } from '../shared/platforms/aws/clients';
import { CallCounter, countCalls } from '../shared/runtime/call-log';
import { liveHostsFrom } from '../shared/qualys/stale-sensors';
import { runQualysCheckIn, runQualysSync, type QualysSyncReport } from '../shared/qualys/sync';
import { startMoto } from '../test/sandbox/aws/moto';
import { startQualysSandbox } from '../test/sandbox/qualys/fixture';

const SENSORS = { running: 750, staleUnknown: 200, recentUnknown: 50 };
const REGISTRIES = 5;
const SCHEDULES_PER_REGISTRY = 10;
const DOC_LIMIT = 300;
const DOC_WINDOW_SEC = 3600;

function registries() {
  return Array.from({ length: REGISTRIES }, (_, r) => ({
    uri: `https://registry-${r}.example.com`,
    type: 'V2',
    schedules: Array.from({ length: SCHEDULES_PER_REGISTRY }, (_, i) => ({
      name: `r${r}-s${i}`,
      every: i % 2 ? 'weekly' : 'daily',
      ...(i % 2 ? { weekDay: 'SATURDAY' } : {}),
      at: `0${i % 6}:15`,
      timeZone: ['Europe/Paris', 'America/New_York', 'Asia/Tokyo', 'UTC', 'Australia/Sydney'][r],
      repositories: [{ repo: `team-${r}/app-${i}` }],
    })),
  }));
}

/** Time a sync needs under a fixed window of `limit` calls per `windowSec` that starts unused. */
function timeUnderLimit(calls: number, limit = DOC_LIMIT, windowSec = DOC_WINDOW_SEC): string {
  const waits = Math.max(0, Math.ceil(calls / limit) - 1);
  return waits === 0 ? `fits in one window (${calls} ≤ ${limit}): no pause, runs at network speed` : `${waits} full window wait(s): about ${((waits * windowSec) / 3600).toFixed(1)} h`;
}

async function fleet(motoUrl: string, rateLimit: { limit: number; windowSec: number; concurrency: number }) {
  const s = await startQualysSandbox(motoUrl, { rateLimit });
  s.fake.seedSensors(SENSORS.running, { status: 'RUNNING', hostnamePrefix: 'live', lastCheckedInDaysAgo: 0, kubernetesNode: true });
  s.fake.seedSensors(SENSORS.staleUnknown, { status: 'UNKNOWN', hostnamePrefix: 'gone', lastCheckedInDaysAgo: 45 });
  s.fake.seedSensors(SENSORS.recentUnknown, { status: 'UNKNOWN', hostnamePrefix: 'recent', lastCheckedInDaysAgo: 2 });
  for (let r = 0; r < REGISTRIES; r++) s.fake.seedRegistry({ uri: `https://registry-${r}.example.com` });
  const config = s.config({ schedules: { registries: registries() }, maxRateLimitWaitSeconds: 600 });
  const liveHosts = liveHostsFrom(Array.from({ length: SENSORS.running }, (_, i) => `live-${i}`));
  return { s, config, liveHosts };
}

function line(label: string, r: QualysSyncReport, wallMs: number): string {
  return `${label.padEnd(26)} calls ${String(r.calls).padStart(4)} (writes ${String(r.writes).padStart(3)}, auth ${r.authCalls}, refused ${r.rateLimited})  wall ${String(wallMs).padStart(6)} ms  ` +
    `created ${r.schedulesCreated}, stale deleted ${r.staleDeleted}, errors ${r.errors.length}\n${' '.repeat(28)}under ${DOC_LIMIT}/${DOC_WINDOW_SEC}s: ${timeUnderLimit(r.calls)}`;
}

async function main(): Promise<void> {
  const moto = await startMoto();
  Object.assign(process.env, { AWS_ENDPOINT_URL: moto.url, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'eu-west-1' });
  resetAwsClients();
  try {
    console.log(`fleet: ${SENSORS.running + SENSORS.staleUnknown + SENSORS.recentUnknown} sensors (${SENSORS.staleUnknown} stale UNKNOWN), ${REGISTRIES * SCHEDULES_PER_REGISTRY} declared schedules on ${REGISTRIES} registries; page size 250, delete batch 100\n`);

    // 1) The documented default limit on the fake: the call counts, and wall time without pauses.
    const a = await fleet(moto.url, { limit: DOC_LIMIT, windowSec: DOC_WINDOW_SEC, concurrency: 2 });
    for (const label of ['first sync (converges)', 'second sync (in sync)']) {
      const t0 = Date.now();
      const r = await runQualysSync({ config: a.config, liveHosts: a.liveHosts });
      console.log(line(label, r, Date.now() - t0));
    }
    const t0 = Date.now();
    const counter = new CallCounter();
    const checkIn = await countCalls(counter, () => runQualysCheckIn(a.config, [{ cluster: 'aws-eks:111122223333:eu-west-1:bench', desiredVersion: '1.34.1-0', nodes: Array.from({ length: 750 }, (_, i) => ({ name: `live-${i}` })) }]));
    const qualysCalls = counter.calls.filter((c) => c.service === 'qualys').length;
    console.log(`${'check-in (all sensors)'.padEnd(26)} calls ${String(qualysCalls).padStart(4)} (auth included) for ${checkIn[0]!.nodes} nodes, ${checkIn[0]!.checkedIn} checked in, wall ${Date.now() - t0} ms`);
    await a.s.stop();

    // 2) A fast fake limit (10 calls per 1 s window) so the pacing is visible: the wall time is
    // the pauses the shared budget takes, and it matches the window arithmetic used above.
    const fast = { limit: 10, windowSec: 1, concurrency: 2 };
    const b = await fleet(moto.url, fast);
    const t1 = Date.now();
    const r = await runQualysSync({ config: b.config, liveHosts: b.liveHosts });
    const wall = Date.now() - t1;
    const counted = r.calls - r.rateLimited - r.authCalls; // /auth is exempt, refusals do not count
    console.log(`\nfast fake limit ${fast.limit} calls / ${fast.windowSec} s: first sync ${counted} counted calls (+${r.rateLimited} refused, ${r.authCalls} auth) in ${wall} ms; ` +
      `window arithmetic: ${(Math.ceil(counted / fast.limit) - 1) * fast.windowSec * 1000} to ${Math.ceil(counted / fast.limit) * fast.windowSec * 1000} ms; errors ${r.errors.length}`);
    await b.s.stop();
  } finally {
    await moto.stop();
  }
}

await main();
