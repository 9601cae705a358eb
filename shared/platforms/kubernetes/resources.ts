/**
 * REST paths of the kinds sensorfleet reads or writes (https://kubernetes.io/docs/reference/using-api/api-concepts/).
 * A static table instead of discovery: every kind here is GA and served at these paths by every
 * supported Kubernetes version, and discovery would cost requests on every run (DESIGN §7 budget).
 */
export interface KindInfo {
  apiVersion: string;
  kind: string;
  plural: string;
  namespaced: boolean;
}

const KINDS: KindInfo[] = [
  { apiVersion: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false },
  { apiVersion: 'v1', kind: 'Node', plural: 'nodes', namespaced: false },
  { apiVersion: 'v1', kind: 'Pod', plural: 'pods', namespaced: true },
  { apiVersion: 'v1', kind: 'Event', plural: 'events', namespaced: true },
  { apiVersion: 'v1', kind: 'Secret', plural: 'secrets', namespaced: true },
  { apiVersion: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts', namespaced: true },
  { apiVersion: 'v1', kind: 'ResourceQuota', plural: 'resourcequotas', namespaced: true },
  { apiVersion: 'v1', kind: 'LimitRange', plural: 'limitranges', namespaced: true },
  { apiVersion: 'apps/v1', kind: 'DaemonSet', plural: 'daemonsets', namespaced: true },
  { apiVersion: 'apps/v1', kind: 'ControllerRevision', plural: 'controllerrevisions', namespaced: true },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', plural: 'roles', namespaced: true },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', plural: 'rolebindings', namespaced: true },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', plural: 'clusterroles', namespaced: false },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', plural: 'clusterrolebindings', namespaced: false },
  { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', plural: 'networkpolicies', namespaced: true },
  { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', plural: 'poddisruptionbudgets', namespaced: true },
];

export class UnknownKindError extends Error {
  override name = 'UnknownKindError';
}

export function kindInfo(apiVersion: string, kind: string): KindInfo {
  const info = KINDS.find((k) => k.apiVersion === apiVersion && k.kind === kind);
  if (!info) throw new UnknownKindError(`${apiVersion} ${kind} is not a kind sensorfleet manages (shared/platforms/kubernetes/resources.ts)`);
  return info;
}

/** /api/v1/namespaces/<ns>/secrets or /apis/apps/v1/namespaces/<ns>/daemonsets (+ /<name>). */
export function collectionPath(info: KindInfo, namespace?: string): string {
  const base = info.apiVersion.includes('/') ? `/apis/${info.apiVersion}` : `/api/${info.apiVersion}`;
  if (info.namespaced && !namespace) throw new Error(`${info.kind} is namespaced: a namespace is required`);
  const ns = info.namespaced ? `/namespaces/${encodeURIComponent(namespace!)}` : '';
  return `${base}${ns}/${info.plural}`;
}

export function objectPath(info: KindInfo, name: string, namespace?: string): string {
  return `${collectionPath(info, namespace)}/${encodeURIComponent(name)}`;
}
