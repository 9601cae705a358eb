import { parseClusterRef, type ClusterRef } from '../domain/cluster-ref';
import type { AdapterRegistry } from '../engine/adapters';
import { discoverFleet, discoveryScopes, scopeLabel } from '../engine/discover';
import { ConfigError } from '../runtime/errors';
import type { CliConfig } from './load-config';

export interface Targets {
  clusters: ClusterRef[];
  /** Scopes discovery could not list (the run goes on without them, and exits non-zero). */
  discoveryErrors: { scope: string; message: string }[];
  /** Scopes that were listed, for "no cluster found in …". */
  scopes: string[];
}

/**
 * The clusters a command works on: the --cluster references (checked against their platform's
 * naming rules), else every cluster discovered in the configured scopes. A configuration without
 * targets has nothing to discover: that is an error, not an empty success.
 */
export async function resolveTargets(cli: CliConfig, adapters: AdapterRegistry, refs: readonly string[], verb: string): Promise<Targets> {
  if (refs.length > 0) return { clusters: refs.map(parseClusterRef), discoveryErrors: [], scopes: [] };
  const scopes = discoveryScopes(cli.config);
  if (scopes.length === 0) {
    throw new ConfigError(
      `nothing to ${verb}: no targets are configured (targets.aws, targets.azure and targets.gcp are empty${cli.source ? ` in ${cli.source}` : '; no configuration was given: --config FILE, $SENSORFLEET_CONFIG_FILE or $SENSORFLEET_CONFIG'}); add accounts, subscriptions or projects, or name clusters with --cluster`,
    );
  }
  const found = await discoverFleet(cli.config, adapters);
  return { clusters: found.clusters, discoveryErrors: found.errors, scopes: scopes.map(scopeLabel) };
}
