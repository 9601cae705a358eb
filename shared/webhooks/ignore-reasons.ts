import { isObject, str } from '../events/types';
import type { GridEvent } from '../events/event-grid';

/**
 * Why a well-formed delivery names no cluster event: the sentence that is logged (and returned in the
 * 200 reply) when it is acknowledged and ignored. The normalisers decide what is an event; these only
 * explain their "nothing".
 */
const INFORMATIONAL_AKS = new Set(['NewKubernetesVersionAvailable', 'ClusterSupportEnding', 'ClusterSupportEnded']);
const RESOURCE_ID = /^\/subscriptions\/[^/]+\/resourcegroups\/[^/]+\/providers\/([^/]+)\/([^/]+)\/[^/]+(?:\/([^/]+)\/[^/]+)?/i;

export function whyGridEventIgnored(e: GridEvent): string {
  if (/^Microsoft\.Resources\.Resource(Write|Delete)Success$/.test(e.eventType)) {
    const uri = str(e.data.resourceUri) ?? str(e.subject) ?? '';
    const m = RESOURCE_ID.exec(uri);
    if (!m) return `${e.eventType} of ${uri || 'an unnamed resource'}: not an AKS resource`;
    const type = `${m[1]}/${m[2]}${m[3] ? `/${m[3]}` : ''}`;
    if (/^microsoft\.containerservice\/managedclusters\//i.test(type)) return `${e.eventType} of a managed cluster's ${m[3]}: neither the cluster nor an agent pool`;
    return `${e.eventType} of ${type}: not an AKS resource`;
  }
  const aks = /^Microsoft\.ContainerService\.(\w+)$/.exec(e.eventType)?.[1];
  if (aks && INFORMATIONAL_AKS.has(aks)) return `AKS ${aks} is informational: the sensor needs no change`;
  if (e.eventType === 'Microsoft.EventGrid.SubscriptionDeletedEvent') return 'the event subscription was deleted (notice only)';
  return `event type ${e.eventType} is not handled`;
}

/** A Pub/Sub push body that yielded no event: a GKE notification, an audit entry, or something else. */
export function whyPubSubIgnored(body: unknown): string {
  const message = isObject(body) && isObject(body.message) ? body.message : isObject(body) ? body : {};
  const attributes = isObject(message.attributes) ? message.attributes : {};
  const typeUrl = str(attributes.type_url);
  if (typeUrl?.includes('google.container.')) {
    const type = typeUrl.split('.').at(-1);
    if (type === 'UpgradeEvent') return 'GKE UpgradeEvent of the control plane: the nodes are unchanged';
    return `GKE ${type} notification is informational: the sensor needs no change`;
  }
  let entry: unknown;
  try {
    entry = JSON.parse(Buffer.from(String(message.data ?? ''), 'base64').toString('utf8'));
  } catch {
    return 'message data is not a Cloud Audit LogEntry (plain text)';
  }
  if (!isObject(entry) || !isObject(entry.protoPayload)) return 'message data is not a Cloud Audit LogEntry';
  const p = entry.protoPayload;
  if (p.serviceName !== 'container.googleapis.com') return `audit entry of ${String(p.serviceName)}, not container.googleapis.com`;
  const method = String(p.methodName ?? '');
  const op = isObject(entry.operation) ? entry.operation : undefined;
  const code = isObject(p.status) ? p.status.code : undefined;
  if (typeof code === 'number' && code !== 0) return `${method} failed (status code ${code}): nothing changed`;
  if (op && op.last !== true) return `${method}: long-running operation ${String(op.id ?? '')} started; acting on its last entry`;
  return `${method || 'the method'} is not handled`;
}
