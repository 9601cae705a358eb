import type { GcpSandbox } from '../gcp/index';
import { connectLogSink, type LogEntry } from './audit-log';
import { SandboxGoogleKeys } from './google-keys';
import { SandboxPubSub } from './pubsub';

/**
 * Pub/Sub for the GCP sandbox: Google's signing keys (a JWKS on 127.0.0.1), a Pub/Sub with push
 * subscriptions, and — as infra/gcp sets up — a log sink routing the GKE API's audit entries for
 * cluster and node pool calls to `auditTopic`, plus a topic for GKE cluster notifications.
 */
export interface PubSubSandbox {
  keys: SandboxGoogleKeys;
  pubsub: SandboxPubSub;
  auditTopic: string;
  notificationTopic: string;
  /** The push subscription's service account (oidcToken.serviceAccountEmail). */
  pushServiceAccount: string;
  stop(): Promise<void>;
}

/** infra/gcp's sink filter: container.googleapis.com cluster and node pool methods. */
export const SINK_METHODS = /^google\.container\.v1(beta1)?\.ClusterManager\.(CreateCluster|DeleteCluster|UpdateCluster|CreateNodePool|SetNodePoolSize|SetNodePoolAutoscaling|UpdateNodePool)$/;

export async function startPubSubSandbox(gcp?: GcpSandbox, o: { project?: string } = {}): Promise<PubSubSandbox> {
  const project = o.project ?? 'sensorfleet-host';
  const keys = await SandboxGoogleKeys.start();
  const pubsub = new SandboxPubSub(keys);
  const auditTopic = `projects/${project}/topics/sensorfleet-gke-audit`;
  const notificationTopic = `projects/${project}/topics/sensorfleet-gke-notifications`;
  pubsub.createTopic(auditTopic);
  pubsub.createTopic(notificationTopic);
  pubsub.createTopic(`projects/${project}/topics/sensorfleet-dead-letter`);
  const stopSink = gcp
    ? connectLogSink(gcp.gke, pubsub, { topic: auditTopic, filter: (e: LogEntry) => e.protoPayload.serviceName === 'container.googleapis.com' && SINK_METHODS.test(String(e.protoPayload.methodName)) })
    : () => undefined;
  return {
    keys,
    pubsub,
    auditTopic,
    notificationTopic,
    pushServiceAccount: `sensorfleet-push@${project}.iam.gserviceaccount.com`,
    async stop() {
      stopSink();
      pubsub.stop();
      await keys.stop();
    },
  };
}

export { SandboxPubSub, type PushSubscriptionSpec } from './pubsub';
export { SandboxGoogleKeys } from './google-keys';
export { gkeAuditEntry } from './audit-log';
