/**
 * Which AKS cluster a node resource group belongs to, from the tags AKS puts on it
 * (`aks-managed-cluster-name`, `aks-managed-cluster-rg`): a VM scale set write in that group
 * (an agent pool scaling, a node image upgrade) is then a nodes-changed event of the cluster.
 * One ARM call, Resource Groups - Get (https://learn.microsoft.com/rest/api/resources/resource-groups/get),
 * with the target's Entra credential, the shared retry policy, and the answer kept for an hour (the
 * tags of a node resource group do not change during a cluster's life).
 */
import { recordApiCall } from '../../runtime/call-log';
import { parseRetryAfter, withRetry } from '../../runtime/retry';
import type { AzureTarget } from './config';
import { armScope, azureCredential } from './credential';

export type NodeResourceGroupOwner = { ok: true; resourceGroup: string; name: string } | { ok: false; reason: string; retryable: boolean };

const API_VERSION = '2021-04-01';
const TIMEOUT_MS = 10_000;
const CACHE_MS = 3_600_000;
const cache = new Map<string, { owner: NodeResourceGroupOwner; at: number }>();

class ArmStatusError extends Error {
  constructor(
    readonly status: number,
    readonly retryAfterMs: number | undefined,
  ) {
    super(`ARM answered ${status}`);
  }
}

export async function nodeResourceGroupOwner(target: AzureTarget, subscriptionId: string, resourceGroup: string): Promise<NodeResourceGroupOwner> {
  const key = `${subscriptionId}/${resourceGroup}`.toLowerCase();
  const hit = cache.get(key);
  if (hit && Date.now() - hit.at < CACHE_MS) return hit.owner;
  let body: { tags?: Record<string, string>; managedBy?: string };
  try {
    body = await withRetry(() => readResourceGroup(target, subscriptionId, resourceGroup), (err) =>
      err instanceof ArmStatusError ? { retry: err.status === 429 || err.status >= 500, ...(err.retryAfterMs !== undefined ? { waitMs: err.retryAfterMs } : {}) } : { retry: true },
    );
  } catch (err) {
    if (err instanceof ArmStatusError && err.status === 404) return remember(key, { ok: false, reason: `resource group ${resourceGroup} does not exist (any more)`, retryable: false });
    if (err instanceof ArmStatusError && (err.status === 401 || err.status === 403)) {
      return { ok: false, reason: `ARM refused to read resource group ${resourceGroup} (${err.status}): give the Entra application Microsoft.Resources/subscriptions/resourceGroups/read`, retryable: false };
    }
    return { ok: false, reason: `resource group ${resourceGroup} could not be read: ${err instanceof Error ? err.message : String(err)}`, retryable: true };
  }
  const name = body.tags?.['aks-managed-cluster-name'];
  const rg = body.tags?.['aks-managed-cluster-rg'];
  if (!name || !rg) return remember(key, { ok: false, reason: `resource group ${resourceGroup} has no aks-managed-cluster-name/-rg tags: not an AKS node resource group`, retryable: false });
  return remember(key, { ok: true, resourceGroup: rg, name });
}

/** Tests: forget the cached answers. */
export function resetNodeResourceGroups(): void {
  cache.clear();
}

function remember(key: string, owner: NodeResourceGroupOwner): NodeResourceGroupOwner {
  cache.set(key, { owner, at: Date.now() });
  return owner;
}

async function readResourceGroup(target: AzureTarget, subscriptionId: string, resourceGroup: string): Promise<{ tags?: Record<string, string>; managedBy?: string }> {
  const token = await azureCredential(target).getToken(armScope(target));
  if (!token) throw new Error('Entra ID issued no token');
  const base = target.endpoints.resourceManager.replace(/\/+$/, '');
  const url = `${base}/subscriptions/${encodeURIComponent(subscriptionId)}/resourcegroups/${encodeURIComponent(resourceGroup)}?api-version=${API_VERSION}`;
  recordApiCall({ service: 'ARM', operation: 'resourceGroups.get', mutating: false });
  const res = await fetch(url, { headers: { authorization: `Bearer ${token.token}`, accept: 'application/json' }, signal: AbortSignal.timeout(TIMEOUT_MS) });
  if (!res.ok) {
    await res.body?.cancel();
    throw new ArmStatusError(res.status, parseRetryAfter(res.headers.get('retry-after')));
  }
  return (await res.json()) as { tags?: Record<string, string>; managedBy?: string };
}
