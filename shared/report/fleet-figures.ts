import { queueDepth } from '../queue/queue-depth';
import { errorMessage } from '../runtime/errors';
import type { FleetStore } from '../state/store';
import { fleetMetrics, type MetricValue } from './metrics';

/**
 * The nightly's look at the whole fleet: coverage and stuck/failed clusters from the inventory, and
 * each dead-letter queue's depth. A figure that cannot be read is left out with its reason (the
 * nightly run goes on).
 */
export async function fleetFigures(store: FleetStore, deadLetterQueues: Record<string, string | undefined>): Promise<{ values: MetricValue[]; dlq: { queue: string; depth: number }[]; errors: string[] }> {
  const values: MetricValue[] = [];
  const dlq: { queue: string; depth: number }[] = [];
  const errors: string[] = [];
  try {
    values.push(...fleetMetrics(await store.listClusters()));
  } catch (err) {
    errors.push(`fleet inventory: ${errorMessage(err)}`);
  }
  for (const [queue, url] of Object.entries(deadLetterQueues)) {
    if (!url) continue;
    try {
      dlq.push({ queue, depth: await queueDepth(url) });
    } catch (err) {
      errors.push(`${queue} depth: ${errorMessage(err)}`);
    }
  }
  return { values, dlq, errors };
}
