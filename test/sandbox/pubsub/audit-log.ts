import { randomBytes } from 'node:crypto';
import type { FakeGkeApi, GkeOperationLog } from '../gcp/gke-api';
import type { SandboxPubSub } from './pubsub';

/**
 * Cloud Audit Logs for the sandbox GKE API and a log sink routing them to a Pub/Sub topic
 * (https://cloud.google.com/logging/docs/export/configure_export_v2): each call becomes an Admin
 * Activity LogEntry shaped like ../shared/reference/events/gcp-auditlog-gke-createcluster-logentry.json
 * (protoPayload AuditLog, serviceName container.googleapis.com, methodName
 * google.container.v1.ClusterManager.<Method>, resourceName projects/P/locations/L/clusters/C,
 * resource gke_cluster or gke_nodepool, operation {id, producer, first|last}); the sink publishes the
 * entry as JSON in the message data, as a Pub/Sub sink does.
 */
export type LogEntry = Record<string, unknown> & { insertId: string; protoPayload: Record<string, unknown> };

export function gkeAuditEntry(o: GkeOperationLog, principal = 'platform-admin@example.com'): LogEntry {
  const c = o.cluster;
  const resourceName = `projects/${c.projectId}/locations/${c.location}/clusters/${c.name}${o.nodePool ? `/nodePools/${o.nodePool}` : ''}`;
  const now = new Date().toISOString();
  const operationLink = `https://container.googleapis.com/v1/projects/${c.projectNumber}/locations/${c.location}/operations/${o.operation}`;
  return {
    protoPayload: {
      '@type': 'type.googleapis.com/google.cloud.audit.AuditLog',
      authenticationInfo: { principalEmail: principal },
      requestMetadata: { callerIp: '198.51.100.7', callerSuppliedUserAgent: 'google-api-go-client/0.5 Terraform/1.11.4', requestAttributes: { time: now, auth: {} }, destinationAttributes: {} },
      serviceName: 'container.googleapis.com',
      methodName: `google.container.v1.ClusterManager.${o.method}`,
      authorizationInfo: [{ permission: permissionOf(o.method), granted: true, resourceAttributes: {} }],
      resourceName,
      ...(o.phase === 'first'
        ? { response: { '@type': 'type.googleapis.com/google.container.v1.Operation', name: o.operation, operationType: o.operationType, status: 'RUNNING', selfLink: operationLink, targetLink: `https://container.googleapis.com/v1/${resourceName}`, startTime: now } }
        : {}),
      resourceLocation: { currentLocations: [c.location] },
    },
    insertId: randomBytes(6).toString('hex'),
    resource: o.nodePool
      ? { type: 'gke_nodepool', labels: { project_id: c.projectId, cluster_name: c.name, nodepool_name: o.nodePool, location: c.location } }
      : { type: 'gke_cluster', labels: { project_id: c.projectId, cluster_name: c.name, location: c.location } },
    timestamp: now,
    severity: 'NOTICE',
    logName: `projects/${c.projectId}/logs/cloudaudit.googleapis.com%2Factivity`,
    operation: { id: o.operation, producer: 'container.googleapis.com', ...(o.phase === 'first' ? { first: true } : { last: true }) },
    receiveTimestamp: now,
  };
}

/** Routes the GKE API's audit entries that match `filter` to `topic`; returns stop(). */
export function connectLogSink(gke: FakeGkeApi, pubsub: SandboxPubSub, o: { topic: string; filter?: (e: LogEntry) => boolean }): () => void {
  return gke.onOperation((op) => {
    const entry = gkeAuditEntry(op);
    if (!o.filter || o.filter(entry)) pubsub.publish(o.topic, { data: JSON.stringify(entry), attributes: { 'logging.googleapis.com/timestamp': String(entry.timestamp) } });
  });
}

function permissionOf(method: GkeOperationLog['method']): string {
  return method === 'CreateCluster' ? 'container.clusters.create' : method === 'DeleteCluster' ? 'container.clusters.delete' : 'container.clusters.update';
}
