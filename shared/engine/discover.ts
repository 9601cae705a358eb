import type { SensorfleetConfig } from '../config/schema';
import { formatClusterRef, type ClusterRef } from '../domain/cluster-ref';
import { awsScopes } from '../platforms/aws/config';
import { azureScopes } from '../platforms/aks/config';
import { gcpScopes } from '../platforms/gke/config';
import type { DiscoveryScope } from '../platforms/types';
import { errorMessage, PartialDiscoveryError } from '../runtime/errors';
import type { AdapterRegistry } from './adapters';

export interface DiscoveryResult {
  clusters: ClusterRef[];
  /** Scopes that could not be listed; the run goes on without them and reports them. */
  errors: { scope: string; message: string }[];
}

/** Every configured scope of every platform: AWS account+region, Azure subscription (+resource group), GCP project+location. */
export function discoveryScopes(config: SensorfleetConfig): DiscoveryScope[] {
  return [...awsScopes(config.targets.aws), ...azureScopes(config.targets.azure), ...gcpScopes(config.targets.gcp)];
}

export function scopeLabel(s: DiscoveryScope): string {
  return `${s.platform}:${s.scope}:${s.location}`;
}

/** Every cluster in every configured scope, for every enabled platform. */
export async function discoverFleet(config: SensorfleetConfig, adapters: AdapterRegistry): Promise<DiscoveryResult> {
  const jobs = discoveryScopes(config).flatMap((scope) => {
    const adapter = adapters[scope.platform];
    if (!adapter) return [];
    return [
      adapter
        .discover(scope)
        .then((refs) => ({ refs, error: undefined as { scope: string; message: string } | undefined }))
        .catch((err) => ({ refs: err instanceof PartialDiscoveryError ? err.found : ([] as ClusterRef[]), error: { scope: scopeLabel(scope), message: errorMessage(err) } })),
    ];
  });
  const results = await Promise.all(jobs);
  const seen = new Map<string, ClusterRef>();
  for (const r of results) for (const ref of r.refs) seen.set(formatClusterRef(ref), ref);
  return {
    clusters: [...seen.values()].sort((a, b) => formatClusterRef(a).localeCompare(formatClusterRef(b))),
    errors: results.flatMap((r) => (r.error ? [r.error] : [])),
  };
}
