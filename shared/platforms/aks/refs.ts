import type { ClusterRef } from '../../domain/cluster-ref';
import { InvalidInputError } from '../../runtime/errors';

/**
 * AKS cluster refs from ARM resource ids and back. ARM ids look like
 * `/subscriptions/<sub>/resourcegroups/<rg>/providers/Microsoft.ContainerService/managedClusters/<name>`;
 * segment names are case-insensitive (AKS answers `resourcegroups`, templates write `resourceGroups`), the
 * resource group keeps the casing the id carries (ARM resolves it case-insensitively either way) and the
 * subscription id is lowercased, so one cluster is one ref.
 */
const MANAGED_CLUSTER_ID = /^\/subscriptions\/([^/]+)\/resourcegroups\/([^/]+)\/providers\/microsoft\.containerservice\/managedclusters\/([^/]+)\/?$/i;

export function aksRefFromResourceId(id: string): ClusterRef {
  const m = MANAGED_CLUSTER_ID.exec(id);
  if (!m) throw new InvalidInputError(`"${id}" is not the resource id of an AKS managed cluster (/subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.ContainerService/managedClusters/<name>)`);
  return { platform: 'azure-aks', scope: decodeURIComponent(m[1]!).toLowerCase(), location: decodeURIComponent(m[2]!), name: decodeURIComponent(m[3]!) };
}

export function aksResourceId(ref: ClusterRef): string {
  return `/subscriptions/${ref.scope}/resourceGroups/${ref.location}/providers/Microsoft.ContainerService/managedClusters/${ref.name}`;
}
