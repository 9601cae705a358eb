/**
 * The nightly plan alone, in its own process (started by scripts/bench.ts), so its time and memory
 * are the product's, not the sandbox's. Input: a file of cluster references; AWS_* env and
 * SENSORFLEET_CONFIG point at the running sandbox. Output: one JSON line.
 */
import { readFileSync } from 'node:fs';
import { loadConfig } from '../shared/config/load';
import { parseClusterRef } from '../shared/domain/cluster-ref';
import { buildEngine } from '../shared/engine/build';
import { runFleet } from '../shared/engine/run-fleet';
import { CallCounter, countCalls } from '../shared/runtime/call-log';

const clusters = readFileSync(process.argv[2]!, 'utf8').trim().split('\n').map(parseClusterRef);
const config = loadConfig();
if (process.env.BENCH_CONCURRENCY) config.rollout.concurrency = Number(process.env.BENCH_CONCURRENCY);
global.gc?.();
const rssStart = process.memoryUsage().rss;
let peak = rssStart;
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 25);
const counter = new CallCounter();
const t0 = performance.now();
const cpu0 = process.cpuUsage();
const report = await countCalls(counter, async () => {
  const deps = await buildEngine(config, clusters, { store: false });
  return runFleet(deps, { clusters, dryRun: true, trigger: { kind: 'reconcile-requested', source: 'bench' } });
});
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
clearInterval(sampler);
peak = Math.max(peak, process.memoryUsage().rss);
const outcomes: Record<string, number> = {};
for (const c of report.clusters) outcomes[c.outcome] = (outcomes[c.outcome] ?? 0) + 1;
const changedClusters = report.clusters.filter((c) => c.outcome === 'planned').map((c) => c.cluster);
console.log(JSON.stringify({ clusters: clusters.length, seconds, cpuSeconds, requests: counter.calls.length, writes: counter.writes, outcomes, changedClusters, rssStartMB: rssStart / 2 ** 20, rssPeakMB: peak / 2 ** 20 }));
