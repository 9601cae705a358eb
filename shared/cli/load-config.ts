import './zod-jitless';
import type { SensorfleetConfig } from '../config/schema';
import { loadConfig } from '../config/load';

export interface CliConfig {
  config: SensorfleetConfig;
  /** Where it came from, for messages: a file, $SENSORFLEET_CONFIG, or nothing (defaults only). */
  source?: string;
}

/** --config FILE or $SENSORFLEET_CONFIG_FILE (YAML or JSON; the YAML parser loads only then), else $SENSORFLEET_CONFIG. */
export async function cliConfig(path: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<CliConfig> {
  const file = path ?? env.SENSORFLEET_CONFIG_FILE;
  if (file) return { config: (await import('./config-file')).loadCliConfig(file, env), source: file };
  return { config: loadConfig(env), ...(env.SENSORFLEET_CONFIG ? { source: '$SENSORFLEET_CONFIG' } : {}) };
}
