import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

/** One logger and one metrics instance per function container, named after the function. */
export function powertools(functionName: string): { logger: Logger; metrics: Metrics } {
  const serviceName = process.env.POWERTOOLS_SERVICE_NAME ?? 'sensorfleet';
  return {
    logger: new Logger({ serviceName, persistentLogAttributes: { function: functionName } }),
    metrics: new Metrics({ serviceName, namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'sensorfleet' }),
  };
}
