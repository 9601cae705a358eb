import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import * as z from 'zod';
import { ConfigError } from '../runtime/errors';
import { configSchema, type SensorfleetConfig } from './schema';

/**
 * Configuration = a YAML/JSON file (SENSORFLEET_CONFIG_FILE or the path given) or inline JSON
 * (SENSORFLEET_CONFIG), then environment overrides for what deployment wires in:
 * SENSORFLEET_TABLE, SENSORFLEET_QUEUE_URL, SENSORFLEET_DLQ_URL, SENSORFLEET_SENSOR_VERSION.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, path?: string): SensorfleetConfig {
  const raw = readRaw(env, path);
  const merged = applyEnv(raw, env);
  return parseConfig(merged);
}

export function parseConfig(input: unknown): SensorfleetConfig {
  const result = configSchema.safeParse(input ?? {});
  if (!result.success) throw new ConfigError(`invalid configuration:\n${formatIssues(result.error)}`);
  return result.data;
}

export function formatIssues(error: z.ZodError): string {
  return error.issues.map((i) => `  - ${i.path.join('.') || '(root)'}: ${i.message}`).join('\n');
}

function readRaw(env: NodeJS.ProcessEnv, path?: string): Record<string, unknown> {
  const file = path ?? env.SENSORFLEET_CONFIG_FILE;
  try {
    if (file) return (parseYaml(readFileSync(file, 'utf8')) ?? {}) as Record<string, unknown>;
    if (env.SENSORFLEET_CONFIG) return JSON.parse(env.SENSORFLEET_CONFIG) as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(`cannot read configuration ${file ?? 'SENSORFLEET_CONFIG'}: ${(err as Error).message}`);
  }
  return {};
}

function applyEnv(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, any> = structuredClone(raw);
  if (env.SENSORFLEET_TABLE) out.state = { ...(out.state ?? {}), tableName: env.SENSORFLEET_TABLE };
  if (env.SENSORFLEET_QUEUE_URL) out.queue = { ...(out.queue ?? {}), url: env.SENSORFLEET_QUEUE_URL };
  if (env.SENSORFLEET_DLQ_URL) out.queue = { ...(out.queue ?? {}), dlqUrl: env.SENSORFLEET_DLQ_URL };
  if (env.SENSORFLEET_SENSOR_VERSION) out.sensor = { ...(out.sensor ?? {}), version: env.SENSORFLEET_SENSOR_VERSION };
  return out;
}
