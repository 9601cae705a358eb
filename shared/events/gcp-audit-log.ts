import * as z from 'zod';
import type { ClusterEventKind } from '../domain/cluster-event';
import { MalformedEventError } from './errors';
import { clusterEvent, isoTime, NOTHING, oneLine, only, type Normalized, type NormalizeOptions } from './types';

/**
 * Cloud Audit Log LogEntry (Admin Activity) for GKE, as a log sink publishes it to Pub/Sub:
 * protoPayload.serviceName container.googleapis.com, methodName
 * google.container.v1[beta1].ClusterManager.<Method>, resourceName
 * projects/<project>/(zones|locations)/<location>/clusters/<name>[/nodePools/<pool>].
 * https://cloud.google.com/kubernetes-engine/docs/how-to/audit-logging
 */
const METHODS: Record<string, ClusterEventKind> = {
  CreateCluster: 'cluster-created',
  DeleteCluster: 'cluster-deleted',
  CreateNodePool: 'nodes-changed',
  SetNodePoolSize: 'nodes-changed',
  UpdateNodePool: 'nodes-changed',
  SetNodePoolAutoscaling: 'nodes-changed',
  // node locations, autoscaling profiles, node auto-provisioning: the nodes may have changed
  UpdateCluster: 'nodes-changed',
};
const METHOD = /^google\.container\.v1(?:beta1)?\.ClusterManager\.(\w+)$/;
const RESOURCE = /^projects\/([^/]+)\/(?:zones|locations)\/([^/]+)\/clusters\/([^/]+)(?:\/nodePools\/([^/]+))?$/;

const logEntrySchema = z.object({
  insertId: z.string().min(1),
  timestamp: z.string().optional(),
  protoPayload: z
    .object({
      serviceName: z.string().min(1),
      methodName: z.string().min(1),
      resourceName: z.string().optional(),
      status: z.object({ code: z.number().optional() }).loose().optional(),
    })
    .loose(),
  operation: z.object({ first: z.boolean().optional(), last: z.boolean().optional() }).loose().optional(),
});

export function looksLikeLogEntry(v: Record<string, unknown>): boolean {
  return typeof v.protoPayload === 'object' && v.protoPayload !== null;
}

/** `eventId` is the id of the delivery (Pub/Sub messageId) when there is one, else the entry's insertId. */
export function normalizeAuditLogEntry(raw: unknown, opts: NormalizeOptions, delivery?: { id: string }): Normalized {
  const parsed = logEntrySchema.safeParse(raw);
  const recordId = delivery?.id ?? 'unknown';
  if (!parsed.success) throw new MalformedEventError(`Cloud Audit LogEntry: ${oneLine(parsed.error.issues)}`, recordId);
  const entry = parsed.data;
  const p = entry.protoPayload;
  if (p.serviceName !== 'container.googleapis.com') return NOTHING;
  const method = METHOD.exec(p.methodName)?.[1];
  const kind = method ? METHODS[method] : undefined;
  if (!kind) return NOTHING;
  // A failed call changed nothing; a long-running operation logs a first and a last entry:
  // by default act on the first (the worker waits for the cluster to be ready) and skip the
  // completion entry; with auditLogOperations 'done', the other way round.
  if (p.status?.code) return NOTHING;
  const op = entry.operation;
  if (opts.auditLogOperations === 'done' ? op && !op.last : op?.last && !op.first) return NOTHING;
  const m = RESOURCE.exec(p.resourceName ?? '');
  if (!m) throw new MalformedEventError(`GKE ${method}: resourceName ${JSON.stringify(p.resourceName)} is not projects/P/(zones|locations)/L/clusters/N`, recordId);
  const [, project, location, name, nodePool] = m as unknown as [string, string, string, string, string | undefined];
  return only(
    clusterEvent(recordId, {
      id: delivery ? `gcp-pubsub:${delivery.id}` : `gcp-audit:${entry.insertId}`,
      time: isoTime([entry.timestamp], opts),
      kind,
      // a caller may name the project by number in the request: the ref wants the id where it is known
      cluster: { platform: 'gcp-gke', scope: opts.gcpProjectIds?.[project] ?? project, location, name },
      source: `container.${method}`,
      detail: { methodName: p.methodName, nodePool, insertId: entry.insertId },
    }),
  );
}
