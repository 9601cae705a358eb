/** The small slice of Kubernetes object shapes sensorfleet touches. Objects are plain JSON. */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  generation?: number;
  resourceVersion?: string;
  uid?: string;
  managedFields?: unknown[];
  [key: string]: unknown;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [key: string]: any;
}

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

export function refOf(obj: KubeObject): ObjectRef {
  return { apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata.name, ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}) };
}

/** The object to write, valid only against `live`'s revision: the API server answers 409 Conflict if it moved (optimistic concurrency). */
export function withResourceVersion(obj: KubeObject, live: KubeObject): KubeObject {
  const rv = live.metadata.resourceVersion;
  return rv ? { ...obj, metadata: { ...obj.metadata, resourceVersion: rv } } : obj;
}

/** "DaemonSet qualys-sensor/qualys-container-sensor", "ClusterRole sensorfleet-qualys-reader". */
export function describeRef(ref: ObjectRef): string {
  return `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;
}

export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'sensorfleet';
export const FIELD_MANAGER = 'sensorfleet';
export const RESTARTED_AT_ANNOTATION = 'sensorfleet.io/restartedAt';

export function isManaged(obj: KubeObject | undefined): boolean {
  return obj?.metadata?.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE;
}

/** The label GKE Autopilot reads to match a workload's pods to a WorkloadAllowlist by name. */
export const MATCHING_ALLOWLIST_LABEL = 'cloud.google.com/matching-allowlist';

/**
 * What a cloud adapter knows about a cluster that changes the sensor's object shape. GKE Autopilot with a
 * configured partner allowlist: the pods carry `cloud.google.com/matching-allowlist: <matchingAllowlist>`.
 */
export interface ClusterProfile {
  autopilot?: { matchingAllowlist: string };
}
