import { randomUUID } from 'node:crypto';
import type { ArmWrite, SandboxArm } from '../azure/arm';
import type { EventGridEvent, SandboxEventGrid } from './event-grid';

/**
 * What Event Grid publishes for Azure resources, built like the public samples
 * (../shared/reference/events/azure-*.json):
 *  - the subscription's system topic (topic /subscriptions/<id>, type Microsoft.Resources.Subscriptions):
 *    Microsoft.Resources.ResourceWriteSuccess / ResourceDeleteSuccess, subject = the resource id, data
 *    with authorization, claims, correlationId, operationName, resourceProvider, resourceUri, status,
 *    subscriptionId, tenantId (dataVersion 2);
 *  - a managed cluster's system topic (topic = the cluster's id, subject = its name): the AKS events
 *    (NodePoolRollingStarted/Succeeded/Failed, NewKubernetesVersionAvailable, ClusterSupportEnding/Ended).
 */
export function resourceEvent(w: ArmWrite, o: { subscriptionId: string; tenantId: string }): EventGridEvent {
  const provider = /\/providers\/([^/]+)\//i.exec(w.resourceId)?.[1] ?? 'Microsoft.Resources';
  return {
    id: randomUUID(),
    topic: `/subscriptions/${o.subscriptionId}`,
    subject: w.resourceId,
    eventType: w.kind === 'write' ? 'Microsoft.Resources.ResourceWriteSuccess' : 'Microsoft.Resources.ResourceDeleteSuccess',
    eventTime: new Date().toISOString(),
    data: {
      authorization: { scope: w.resourceId, action: w.operationName, evidence: { role: 'Contributor', principalType: 'ServicePrincipal' } },
      claims: { aud: 'https://management.core.windows.net/', iss: `https://sts.windows.net/${o.tenantId}/`, appid: randomUUID(), idtyp: 'app', ver: '1.0' },
      correlationId: randomUUID(),
      httpRequest: { clientRequestId: randomUUID(), clientIpAddress: '203.0.113.10', method: w.kind === 'write' ? 'PUT' : 'DELETE', url: `https://management.azure.com${w.resourceId}?api-version=2025-10-01` },
      resourceProvider: provider,
      resourceUri: w.resourceId,
      operationName: w.operationName,
      status: 'Succeeded',
      subscriptionId: o.subscriptionId,
      tenantId: o.tenantId,
    },
    dataVersion: '2',
    metadataVersion: '1',
  };
}

export function aksSystemEvent(clusterId: string, type: 'NodePoolRollingStarted' | 'NodePoolRollingSucceeded' | 'NodePoolRollingFailed' | 'NewKubernetesVersionAvailable' | 'ClusterSupportEnding' | 'ClusterSupportEnded', data: Record<string, unknown>): EventGridEvent {
  return { id: randomUUID().replace(/-/g, ''), topic: clusterId, subject: clusterId.split('/').at(-1)!, eventType: `Microsoft.ContainerService.${type}`, eventTime: new Date().toISOString(), data, dataVersion: '1', metadataVersion: '1' };
}

/** The node resource group's VM scale set of an agent pool: /subscriptions/S/resourceGroups/MC_…/providers/Microsoft.Compute/virtualMachineScaleSets/aks-<pool>-<id>-vmss */
export function vmssResourceId(subscriptionId: string, nodeResourceGroup: string, vmssName: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${nodeResourceGroup}/providers/Microsoft.Compute/virtualMachineScaleSets/${vmssName}`;
}

/** The subscription's system topic: every completed write/delete in the sandbox ARM is published to Event Grid. */
export function connectSubscriptionTopic(arm: SandboxArm, eventGrid: SandboxEventGrid, o: { subscriptionId: string; tenantId: string }): () => void {
  return arm.onWrite((w) => {
    if (w.resourceId.toLowerCase().startsWith(`/subscriptions/${o.subscriptionId.toLowerCase()}/`)) eventGrid.publish([resourceEvent(w, o)]);
  });
}
