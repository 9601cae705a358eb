import { liveHostsFrom, type LiveHosts } from '../qualys/stale-sensors';
import type { FleetStore } from './store';

export type InventoryLiveHosts = { ok: true; hosts: LiveHosts; count: number } | { ok: false; reason: string };

/**
 * Live nodes of the fleet, from the inventory, for the Qualys stale-sensor purge. A purge must never
 * run on a partial picture (it would delete sensors of nodes we simply did not list), so any enrolled
 * cluster without a node list makes the answer "unknown" with the reason.
 */
export async function liveHostsFromInventory(store: FleetStore): Promise<InventoryLiveHosts> {
  const clusters = await store.listClusters();
  if (clusters.length === 0) return { ok: false, reason: 'the fleet inventory is empty' };
  const counted = clusters.filter((c) => c.outcome !== 'skipped');
  const missing = counted.filter((c) => !c.nodeNames);
  if (missing.length > 0) {
    return { ok: false, reason: `${missing.length} cluster(s) have no node list yet (e.g. ${missing[0]!.cluster}: ${missing[0]!.outcome})` };
  }
  const names = counted.flatMap((c) => [...(c.nodeNames ?? []), ...Object.values(c.hostnames ?? {})]);
  return { ok: true, hosts: liveHostsFrom(names), count: names.length };
}
