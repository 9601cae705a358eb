import type { SensorfleetConfig } from '../config/schema';
import { formatClusterRef, type ClusterRef } from '../domain/cluster-ref';
import { errorMessage } from '../runtime/errors';
import type { AdapterRegistry } from './adapters';

export interface DiscoveryResult {
  clusters: ClusterRef[];
  /** Scopes that could not be listed; the run goes on without them and reports them. */
  errors: { scope: string; message: string }[];
}

/** Every cluster in every configured account and region, for every enabled platform. */
export async function discoverFleet(config: SensorfleetConfig, adapters: AdapterRegistry): Promise<DiscoveryResult> {
  const jobs: Promise<{ refs: ClusterRef[]; error?: { scope: string; message: string } }>[] = [];
  for (const target of config.targets.aws) {
    for (const region of target.regions) {
      for (const platform of target.platforms) {
        const adapter = adapters[platform];
        if (!adapter) continue;
        const scope = `${platform}:${target.accountId}:${region}`;
        jobs.push(
          adapter
            .discover({ scope: target.accountId, location: region })
            .then((refs) => ({ refs }))
            .catch((err) => ({ refs: [], error: { scope, message: errorMessage(err) } })),
        );
      }
    }
  }
  const results = await Promise.all(jobs);
  const seen = new Map<string, ClusterRef>();
  for (const r of results) for (const ref of r.refs) seen.set(formatClusterRef(ref), ref);
  return {
    clusters: [...seen.values()].sort((a, b) => formatClusterRef(a).localeCompare(formatClusterRef(b))),
    errors: results.flatMap((r) => (r.error ? [r.error] : [])),
  };
}
