import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { SensorfleetConfig } from '../config/schema';
import { configFromObject, loadConfig } from '../config/load';
import { ConfigError } from '../runtime/errors';

/** CLI configuration: --config FILE or SENSORFLEET_CONFIG_FILE (YAML or JSON), else SENSORFLEET_CONFIG. */
export function loadCliConfig(path: string | undefined, env: NodeJS.ProcessEnv = process.env): SensorfleetConfig {
  const file = path ?? env.SENSORFLEET_CONFIG_FILE;
  if (!file) return loadConfig(env);
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`cannot read configuration ${file}: ${(err as Error).message}`);
  }
  return configFromObject(raw, env);
}
