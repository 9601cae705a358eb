import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { loadConfig } from '../shared/config/load';
import { powertools } from '../shared/lambda/powertools';
import { liveHostsFrom } from '../shared/qualys/stale-sensors';
import { runQualysSync } from '../shared/qualys/sync';
import { DynamoDbFleetStore } from '../shared/state/dynamodb-store';
import { liveHostsFromInventory } from '../shared/state/live-hosts';

const { logger, metrics } = powertools('qualys-hygiene');
const config = loadConfig();

/**
 * Scheduled Qualys hygiene: registry scan schedules as declared, stale sensors purged.
 * Input (optional): {dryRun?: boolean, liveHosts?: string[]}; by default the live hosts come from the
 * fleet inventory; when it cannot vouch for every cluster the stale purge is skipped and says why.
 */
async function baseHandler(event: { dryRun?: boolean; liveHosts?: string[] } | undefined) {
  const liveHosts = Array.isArray(event?.liveHosts) ? liveHostsFrom(event.liveHosts.filter((h): h is string => typeof h === 'string')) : await inventoryHosts();
  const report = await runQualysSync({ config, dryRun: event?.dryRun === true, ...(liveHosts ? { liveHosts } : {}) });
  metrics.addMetric('qualys_stale_deleted', MetricUnit.Count, report.staleDeleted);
  metrics.addMetric('qualys_schedules_changed', MetricUnit.Count, report.schedulesCreated + report.schedulesUpdated + report.schedulesDeleted);
  metrics.addMetric('qualys_api_calls', MetricUnit.Count, report.calls);
  metrics.addMetric('qualys_errors', MetricUnit.Count, report.errors.length);
  const { plan, ...summary } = report;
  logger.info('qualys hygiene run', { ...summary, planLines: plan.length });
  for (const e of report.errors) logger.error('qualys hygiene step failed', { error: e });
  return summary;
}

async function inventoryHosts() {
  const inventory = await liveHostsFromInventory(new DynamoDbFleetStore(config.state.tableName));
  if (inventory.ok) return inventory.hosts;
  logger.warn('stale sensor purge skipped: live hosts unknown', { reason: inventory.reason });
  return undefined;
}

export const handler = middy(baseHandler).use(injectLambdaContext(logger)).use(logMetrics(metrics));
