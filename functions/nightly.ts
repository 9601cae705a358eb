import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { loadConfig } from '../shared/config/load';
import { buildAdapters, buildEngine } from '../shared/engine/build';
import { discoverFleet } from '../shared/engine/discover';
import { runFleet } from '../shared/engine/run-fleet';
import { powertools } from '../shared/lambda/powertools';
import { qualysCheckInGate } from '../shared/qualys/wave-gate';

const { logger, metrics } = powertools('nightly');
const config = loadConfig();

/** Nightly: find every cluster in every configured scope, detect drift, fix it in waves, report. */
async function baseHandler() {
  const adapters = buildAdapters(config);
  const discovery = await discoverFleet(config, adapters);
  for (const e of discovery.errors) logger.error('discovery failed for a scope', e);
  const deps = await buildEngine(config, discovery.clusters, { adapters });
  const report = await runFleet(deps, {
    clusters: discovery.clusters,
    trigger: { kind: 'reconcile-requested', source: 'nightly' },
    ...(config.rollout.checkInGate.enabled ? { waveGate: qualysCheckInGate(config) } : {}),
  });
  const counts: Record<string, number> = {};
  for (const c of report.clusters) counts[c.outcome] = (counts[c.outcome] ?? 0) + 1;
  for (const [outcome, n] of Object.entries(counts)) metrics.addMetric(`clusters_${outcome}`, MetricUnit.Count, n);
  logger.info('nightly run', { runId: report.runId, clusters: report.clusters.length, counts, writes: report.writes, waves: report.waves, halted: report.halted, gates: report.gates, discoveryErrors: discovery.errors.length });
  return { runId: report.runId, counts, writes: report.writes, halted: report.halted ?? null, discoveryErrors: discovery.errors };
}

export const handler = middy(baseHandler).use(injectLambdaContext(logger)).use(logMetrics(metrics));
