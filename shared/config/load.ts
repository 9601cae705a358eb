import * as z from 'zod';
import { ConfigError } from '../runtime/errors';
import { configSchema, type SensorfleetConfig } from './schema';

/**
 * Configuration for the functions: inline JSON in SENSORFLEET_CONFIG (serverless.yml wires it from
 * a deploy parameter), then environment overrides for what deployment wires in: SENSORFLEET_TABLE,
 * SENSORFLEET_QUEUE_URL, SENSORFLEET_DLQ_URL, SENSORFLEET_SENSOR_VERSION. Config files (YAML or
 * JSON) are a CLI feature (shared/cli/config-file.ts), which keeps a YAML parser out of every bundle.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): SensorfleetConfig {
  let raw: Record<string, unknown> = {};
  if (env.SENSORFLEET_CONFIG) {
    try {
      raw = JSON.parse(env.SENSORFLEET_CONFIG) as Record<string, unknown>;
    } catch (err) {
      throw new ConfigError(`SENSORFLEET_CONFIG is not valid JSON: ${(err as Error).message}`);
    }
  }
  return configFromObject(raw, env);
}

/** Validates a raw configuration object after applying the environment overrides. */
export function configFromObject(raw: unknown, env: NodeJS.ProcessEnv = process.env): SensorfleetConfig {
  return parseConfig(applyEnv((raw ?? {}) as Record<string, unknown>, env));
}

export function parseConfig(input: unknown): SensorfleetConfig {
  const result = configSchema.safeParse(input ?? {});
  if (!result.success) throw new ConfigError(`invalid configuration:\n${formatIssues(result.error)}`);
  return result.data;
}

export function formatIssues(error: z.ZodError): string {
  return error.issues.map((i) => `  - ${i.path.join('.') || '(root)'}: ${i.message}`).join('\n');
}

function applyEnv(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, any> = structuredClone(raw);
  if (env.SENSORFLEET_TABLE) out.state = { ...(out.state ?? {}), tableName: env.SENSORFLEET_TABLE };
  if (env.SENSORFLEET_QUEUE_URL) out.queue = { ...(out.queue ?? {}), url: env.SENSORFLEET_QUEUE_URL };
  if (env.SENSORFLEET_DLQ_URL) out.queue = { ...(out.queue ?? {}), dlqUrl: env.SENSORFLEET_DLQ_URL };
  if (env.SENSORFLEET_SENSOR_VERSION) out.sensor = { ...(out.sensor ?? {}), version: env.SENSORFLEET_SENSOR_VERSION };
  return out;
}
