import * as z from 'zod';
import type { ClusterEventKind } from '../domain/cluster-event';
import { MalformedEventError } from './errors';
import { clusterEvent, isObject, isoTime, NOTHING, oneLine, only, str, type Normalized, type NormalizeOptions } from './types';

/**
 * Azure Event Grid, in the Event Grid schema (https://learn.microsoft.com/azure/event-grid/event-schema)
 * and the CloudEvents 1.0 schema (https://learn.microsoft.com/azure/event-grid/cloud-event-schema;
 * there topic -> source, eventType -> type, eventTime -> time). Cluster events:
 * - Microsoft.Resources.ResourceWriteSuccess / ResourceDeleteSuccess on
 *   Microsoft.ContainerService/managedClusters (created / deleted) and .../agentPools (nodes changed);
 * - Microsoft.ContainerService.NodePool* system events (NodePoolRollingStarted/Succeeded/Failed).
 * SubscriptionValidationEvent (the webhook handshake is on-webhook's business), other resource
 * types and other AKS system events (NewKubernetesVersionAvailable, ...) are not cluster events.
 */
export interface GridEvent {
  id: string;
  eventType: string;
  topic?: string | undefined;
  subject?: string | undefined;
  time?: string | undefined;
  data: Record<string, unknown>;
}

const eventGridSchema = z.object({
  id: z.string().min(1),
  eventType: z.string().min(1),
  topic: z.string().optional(),
  subject: z.string().optional(),
  eventTime: z.string().optional(),
  data: z.record(z.string(), z.unknown()).nullish(),
});

const cloudEventSchema = z.object({
  specversion: z.literal('1.0'),
  id: z.string().min(1),
  type: z.string().min(1),
  source: z.string().min(1),
  subject: z.string().optional(),
  time: z.string().optional(),
  data: z.unknown().optional(),
  data_base64: z.string().optional(),
});

const MANAGED_CLUSTER = /^\/subscriptions\/([^/]+)\/resourcegroups\/([^/]+)\/providers\/microsoft\.containerservice\/managedclusters\/([^/]+)(\/agentpools\/([^/]+))?(\/.*)?$/i;

export function looksLikeEventGrid(v: Record<string, unknown>): boolean {
  return typeof v.eventType === 'string' && 'id' in v && ('topic' in v || 'subject' in v || 'dataVersion' in v);
}

export function looksLikeCloudEvent(v: Record<string, unknown>): boolean {
  return 'specversion' in v;
}

export function fromEventGridSchema(raw: unknown): GridEvent {
  const recordId = isObject(raw) ? (str(raw.id) ?? 'unknown') : 'unknown';
  const parsed = eventGridSchema.safeParse(raw);
  if (!parsed.success) throw new MalformedEventError(`Event Grid event: ${oneLine(parsed.error.issues)}`, recordId);
  const e = parsed.data;
  return { id: e.id, eventType: e.eventType, topic: e.topic, subject: e.subject, time: e.eventTime, data: e.data ?? {} };
}

export function fromCloudEvent(raw: unknown): GridEvent {
  const recordId = isObject(raw) ? (str(raw.id) ?? 'unknown') : 'unknown';
  const parsed = cloudEventSchema.safeParse(raw);
  if (!parsed.success) throw new MalformedEventError(`CloudEvent: ${oneLine(parsed.error.issues)}`, recordId);
  const e = parsed.data;
  let data: unknown = e.data;
  if (e.data_base64 !== undefined) {
    try {
      data = JSON.parse(Buffer.from(e.data_base64, 'base64').toString('utf8'));
    } catch {
      throw new MalformedEventError('CloudEvent data_base64 is not base64-encoded JSON', e.id);
    }
  }
  return { id: e.id, eventType: e.type, topic: e.source, subject: e.subject, time: e.time, data: isObject(data) ? data : {} };
}

export function normalizeGridEvent(e: GridEvent, opts: NormalizeOptions): Normalized {
  const resourceEvent = /^Microsoft\.Resources\.Resource(Write|Delete)Success$/.exec(e.eventType);
  if (resourceEvent) {
    const uri = str(e.data.resourceUri) ?? str(e.subject);
    const m = MANAGED_CLUSTER.exec(uri ?? '');
    if (!m || m[6]) return NOTHING; // another resource type, or a child other than an agent pool
    const agentPool = m[5];
    const kind: ClusterEventKind = agentPool ? 'nodes-changed' : resourceEvent[1] === 'Write' ? 'cluster-created' : 'cluster-deleted';
    return only(
      build(e, kind, { subscription: m[1]!, resourceGroup: m[2]!, name: m[3]! }, opts, {
        operationName: str(e.data.operationName),
        status: str(e.data.status),
        agentPool,
      }),
    );
  }
  if (e.eventType.startsWith('Microsoft.ContainerService.NodePool')) {
    const m = MANAGED_CLUSTER.exec(e.topic ?? '');
    if (!m) throw new MalformedEventError(`${e.eventType}: topic is not a managedClusters resource id`, e.id);
    return only(build(e, 'nodes-changed', { subscription: m[1]!, resourceGroup: m[2]!, name: m[3]! }, opts, { nodePoolName: str(e.data.nodePoolName) }));
  }
  return NOTHING;
}

function build(e: GridEvent, kind: ClusterEventKind, at: { subscription: string; resourceGroup: string; name: string }, opts: NormalizeOptions, detail: Record<string, unknown>) {
  return clusterEvent(e.id, {
    id: `azure-eventgrid:${e.id}`,
    time: isoTime([e.time], opts),
    kind,
    cluster: { platform: 'azure-aks', scope: at.subscription, location: at.resourceGroup, name: at.name },
    source: e.eventType.replace(/^Microsoft\./, 'azure.'),
    detail: { eventType: e.eventType, ...detail },
  });
}
