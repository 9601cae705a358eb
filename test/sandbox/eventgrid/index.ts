import type { AzureSandbox } from '../azure/index';
import { connectSubscriptionTopic } from './arm-events';
import { SandboxEventGrid } from './event-grid';

/**
 * Event Grid for the Azure sandbox: the subscription's system topic publishes every completed ARM write
 * (a cluster reaching Succeeded, a deletion, a VM scale set write) to the sandbox Event Grid, which
 * delivers to the event subscriptions a test creates (Entra tokens from the sandbox Entra).
 */
export interface EventGridSandbox {
  eventGrid: SandboxEventGrid;
  /** The webhook's Entra application: its ID URI and app id, exposed in the sandbox tenant. */
  webhookApp: { identifierUri: string; appId: string };
  stop(): void;
}

export function startEventGridSandbox(azure: AzureSandbox, o: { identifierUri?: string; appId?: string } = {}): EventGridSandbox {
  const eventGrid = new SandboxEventGrid(azure.entra);
  const webhookApp = { identifierUri: o.identifierUri ?? 'api://sensorfleet-webhook', appId: o.appId ?? '5a0b6c7d-8e9f-4a1b-8c2d-3e4f5a6b7c8d' };
  eventGrid.enableEntraDelivery(azure.tenantId, { identifiers: [webhookApp.identifierUri, webhookApp.appId] });
  const unsubscribe = connectSubscriptionTopic(azure.arm, eventGrid, { subscriptionId: azure.subscriptionId, tenantId: azure.tenantId });
  return { eventGrid, webhookApp, stop: unsubscribe };
}

export { SandboxEventGrid, EVENT_GRID_APP_ID, type EventGridEvent, type EventSubscriptionSpec } from './event-grid';
export { aksSystemEvent, resourceEvent, vmssResourceId } from './arm-events';
