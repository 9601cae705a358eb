import type { Platform } from '../domain/cluster-ref';
import type { PlatformAdapter } from '../platforms/types';
import { ConfigError } from '../runtime/errors';

export type AdapterRegistry = Partial<Record<Platform, PlatformAdapter<any, any, any>>>;

export function adapterFor(registry: AdapterRegistry, platform: Platform): PlatformAdapter<any, any, any> {
  const adapter = registry[platform];
  if (!adapter) throw new ConfigError(`platform ${platform} is not enabled in this deployment`);
  return adapter;
}
