import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MetricValue } from '../report/metrics';

/**
 * One logger and one metrics instance per function container, named after the function. Metrics'
 * own warnings (e.g. "No application metrics to publish") go through the logger, so
 * POWERTOOLS_LOG_LEVEL silences them too; the EMF documents themselves always go to stdout.
 */
export function powertools(functionName: string): { logger: Logger; metrics: Metrics } {
  const serviceName = process.env.POWERTOOLS_SERVICE_NAME ?? 'sensorfleet';
  const logger = new Logger({ serviceName, persistentLogAttributes: { function: functionName } });
  return {
    logger,
    metrics: new Metrics({ serviceName, namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'sensorfleet', logger }),
  };
}

/** Adds figures (shared/report/metrics.ts) to a function's metrics; they go out with its next publish. */
export function addMetricValues(metrics: Metrics, values: MetricValue[]): void {
  for (const v of values) metrics.addMetric(v.name, MetricUnit[v.unit], v.value);
}

/**
 * Figures published at once, in a document of their own with the service dimension only (the alarms'
 * metric, e.g. fleet_coverage_percent, must not carry a function's extra dimensions).
 */
export function publishMetricValues(values: MetricValue[], dimensions: Record<string, string> = {}): void {
  if (values.length === 0) return;
  const metrics = new Metrics({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'sensorfleet', namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'sensorfleet', logger: quietLogger });
  for (const [k, v] of Object.entries(dimensions)) metrics.addDimension(k, v);
  addMetricValues(metrics, values);
  metrics.publishStoredMetrics();
}

const quietLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: (...args: unknown[]) => console.error(...args) };
