/**
 * The sensor's Kubernetes object set (DESIGN §5), built from config. The shape is the seeds' hardened
 * DaemonSet corrected with the vendor chart (qualys-cs-api.md §2.2, chart qcs-sensor 1.13.0):
 *   - args `--k8s-mode --container-runtime containerd` (docker: `--use-kubectl`, no runtime flag);
 *   - env QUALYS_POD_NAME / QUALYS_POD_NAMESPACE from the downward API, credentials via secretKeyRef;
 *   - only the configured runtime's socket as a hostPath: a `type: Socket` hostPath for a socket the node
 *     lacks (docker.sock on containerd-only nodes) keeps the pod in ContainerCreating forever;
 *   - the namespaced Role the sensor needs to launch scan pods/jobs, and the chart's cluster read rules;
 *   - required node affinity on kubernetes.io/os and kubernetes.io/arch (config sensor.nodeSelection).
 * Pure: no I/O. The returned list is in apply order (namespace first, DaemonSet last).
 */
import type { DesiredSensor } from '../types';
import { ConfigError } from '../../runtime/errors';
import { maxQuantity } from './quantity';
import { selectionAffinity } from './scope';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, MATCHING_ALLOWLIST_LABEL, type ClusterProfile, type KubeObject } from './types';

export const SENSOR_NAME = 'qualys-container-sensor';
export const SECRET_NAME = 'qualys-credentials';
export const SERVICE_ACCOUNT_NAME = 'qualys-service-account';
export const ROLE_NAME = 'qualys-reader-role';
export const ROLE_BINDING_NAME = 'qualys-reader-rb';
/** Cluster-scoped names carry our prefix so they never collide with a vendor Helm install. */
export const CLUSTER_ROLE_NAME = 'sensorfleet-qualys-cluster-reader';
export const CLUSTER_ROLE_BINDING_NAME = 'sensorfleet-qualys-cluster-reader';
export const NETWORK_POLICY_NAME = 'qualys-sensor-egress';
export const RESOURCE_QUOTA_NAME = 'qualys-sensor-quota';
export const LIMIT_RANGE_NAME = 'qualys-sensor-limits';
export const PDB_NAME = 'qualys-container-sensor';
export const NAME_LABEL = 'app.kubernetes.io/name';

/** Host sockets per runtime, as the vendor chart mounts them. */
export const RUNTIME_SOCKETS: Record<'containerd' | 'cri-o' | 'docker', string> = {
  containerd: '/var/run/containerd/containerd.sock',
  'cri-o': '/var/run/crio/crio.sock',
  docker: '/var/run/docker.sock',
};

/** Defaults the sensor gives its scan containers (chart values: QUALYS_SCANNING_CONTAINER_*). */
const SCAN_CONTAINER = { requests: { cpu: '100m', memory: '300Mi' }, limits: { cpu: '200m', memory: '800Mi' } };

export function managedLabels(version?: string): Record<string, string> {
  return {
    [MANAGED_BY_LABEL]: MANAGED_BY_VALUE,
    'app.kubernetes.io/part-of': 'sensorfleet',
    [NAME_LABEL]: SENSOR_NAME,
    ...(version ? { 'app.kubernetes.io/version': version } : {}),
  };
}

/** The tag of an image reference ("latest" when it has none): the sensor version. */
export function imageVersion(image: string): string {
  const at = image.lastIndexOf(':');
  return at > image.lastIndexOf('/') ? image.slice(at + 1) : 'latest';
}

export function sensorImage(desired: DesiredSensor): string {
  return `${desired.config.sensor.image}:${desired.config.sensor.version}`;
}

/** Every object, in apply order. `profile`: what the cluster's cloud requires of the shape (GKE Autopilot). */
export function buildSensorObjects(desired: DesiredSensor, profile: ClusterProfile = {}): KubeObject[] {
  const ns = desired.config.sensor.namespace;
  return [
    namespace(desired),
    serviceAccount(ns),
    credentialsSecret(desired),
    role(ns),
    roleBinding(ns),
    clusterRole(),
    clusterRoleBinding(ns),
    networkPolicy(ns),
    resourceQuota(ns),
    limitRange(desired),
    podDisruptionBudget(desired),
    daemonSet(desired, profile),
  ];
}

function meta(name: string, namespace?: string): KubeObject['metadata'] {
  return { name, ...(namespace ? { namespace } : {}), labels: managedLabels() };
}

export function namespace(desired: DesiredSensor): KubeObject {
  const m = meta(desired.config.sensor.namespace);
  // The sensor needs SYS_ADMIN and hostPath volumes, which only the privileged Pod Security level admits.
  m.labels = {
    ...m.labels,
    'pod-security.kubernetes.io/enforce': 'privileged',
    'pod-security.kubernetes.io/enforce-version': 'latest',
  };
  return { apiVersion: 'v1', kind: 'Namespace', metadata: m };
}

function serviceAccount(ns: string): KubeObject {
  return { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(SERVICE_ACCOUNT_NAME, ns) };
}

export function credentialsSecret(desired: DesiredSensor): KubeObject {
  const creds = desired.credentials;
  if (!creds) throw new ConfigError('the Kubernetes sensor needs the activation and customer ids (credentials were not resolved)');
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: meta(SECRET_NAME, desired.config.sensor.namespace),
    type: 'Opaque',
    data: { 'activation-id': b64(creds.activationId), 'customer-id': b64(creds.customerId), 'pod-url': b64(desired.podUrl) },
  };
}

/** Chart 1.13.0 Role (containerd branch): the sensor launches scan pods/jobs in its own namespace. */
function role(ns: string): KubeObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: meta(ROLE_NAME, ns),
    rules: [
      { apiGroups: ['', 'batch'], resources: ['pods', 'jobs'], verbs: ['get', 'list', 'watch', 'create', 'delete', 'deletecollection'] },
      { apiGroups: [''], resources: ['pods/attach', 'pods/exec'], verbs: ['create'] },
    ],
  };
}

function roleBinding(ns: string): KubeObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: meta(ROLE_BINDING_NAME, ns),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: ROLE_NAME },
    subjects: [{ kind: 'ServiceAccount', name: SERVICE_ACCOUNT_NAME, namespace: ns }],
  };
}

/** Chart 1.13.0 ClusterRole: read access to what the sensor reports on. */
function clusterRole(): KubeObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: meta(CLUSTER_ROLE_NAME),
    rules: [
      { apiGroups: [''], resources: ['pods/exec'], verbs: ['create'] },
      { apiGroups: [''], resources: ['nodes', 'pods', 'pods/status', 'replicationcontrollers/status', 'nodes/status', 'namespaces'], verbs: ['get'] },
      { apiGroups: ['apps'], resources: ['replicasets/status', 'daemonsets/status', 'deployments/status', 'statefulsets/status'], verbs: ['get'] },
      { apiGroups: ['batch'], resources: ['jobs/status', 'cronjobs/status'], verbs: ['get'] },
    ],
  };
}

function clusterRoleBinding(ns: string): KubeObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: meta(CLUSTER_ROLE_BINDING_NAME),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: CLUSTER_ROLE_NAME },
    subjects: [{ kind: 'ServiceAccount', name: SERVICE_ACCOUNT_NAME, namespace: ns }],
  };
}

/**
 * Every pod of the namespace (the sensor and the scan pods it launches): no ingress; egress only to
 * DNS, HTTPS (Qualys platform, registries, API servers on 443 such as EKS) and API servers on 6443.
 */
function networkPolicy(ns: string): KubeObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: meta(NETWORK_POLICY_NAME, ns),
    spec: {
      podSelector: {},
      policyTypes: ['Ingress', 'Egress'],
      ingress: [],
      egress: [
        { ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }] },
        { ports: [{ protocol: 'TCP', port: 443 }] },
        { ports: [{ protocol: 'TCP', port: 6443 }] },
      ],
    },
  };
}

/**
 * Guards the namespace against what the sensor never needs (load balancers, node ports, volumes)
 * and caps scan jobs. No pods/cpu/memory quota: the DaemonSet grows with the node count, so any fixed
 * compute quota would one day stop sensor or scan pods on a large cluster.
 */
function resourceQuota(ns: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ResourceQuota',
    metadata: meta(RESOURCE_QUOTA_NAME, ns),
    spec: { hard: { 'count/jobs.batch': '100', 'services.loadbalancers': '0', 'services.nodeports': '0', persistentvolumeclaims: '0' } },
  };
}

/** Defaults for the scan containers the sensor launches; the max leaves room for both them and the sensor. */
function limitRange(desired: DesiredSensor): KubeObject {
  const sensor = desired.config.sensor.resources;
  return {
    apiVersion: 'v1',
    kind: 'LimitRange',
    metadata: meta(LIMIT_RANGE_NAME, desired.config.sensor.namespace),
    spec: {
      limits: [
        {
          type: 'Container',
          default: { ...SCAN_CONTAINER.limits },
          defaultRequest: { ...SCAN_CONTAINER.requests },
          max: { cpu: maxQuantity(sensor.limits.cpu, SCAN_CONTAINER.limits.cpu), memory: maxQuantity(sensor.limits.memory, SCAN_CONTAINER.limits.memory) },
        },
      ],
    },
  };
}

function podDisruptionBudget(desired: DesiredSensor): KubeObject {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: meta(PDB_NAME, desired.config.sensor.namespace),
    spec: { maxUnavailable: desired.config.sensor.maxUnavailable, selector: { matchLabels: { [NAME_LABEL]: SENSOR_NAME } } },
  };
}

export function sensorArgs(desired: DesiredSensor): string[] {
  const s = desired.config.sensor;
  const runtime = s.containerRuntime === 'docker' ? ['--use-kubectl'] : ['--container-runtime', s.containerRuntime];
  return ['--k8s-mode', ...runtime, ...s.args];
}

export function daemonSet(desired: DesiredSensor, profile: ClusterProfile = {}): KubeObject {
  const s = desired.config.sensor;
  const persistent = !s.args.includes('--sensor-without-persistent-storage');
  const socket = RUNTIME_SOCKETS[s.containerRuntime];
  const secretEnv = (name: string, key: string) => ({ name, valueFrom: { secretKeyRef: { name: SECRET_NAME, key } } });
  const fieldEnv = (name: string, fieldPath: string) => ({ name, valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath } } });
  // GKE Autopilot admits the privileged sensor only through the named partner WorkloadAllowlist
  const podLabels = { ...managedLabels(), ...(profile.autopilot ? { [MATCHING_ALLOWLIST_LABEL]: profile.autopilot.matchingAllowlist } : {}) };
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: SENSOR_NAME, namespace: s.namespace, labels: managedLabels(s.version) },
    spec: {
      selector: { matchLabels: { [NAME_LABEL]: SENSOR_NAME } },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: s.maxUnavailable } },
      template: {
        metadata: { labels: podLabels },
        spec: {
          serviceAccountName: SERVICE_ACCOUNT_NAME,
          priorityClassName: s.priorityClassName,
          hostNetwork: false,
          hostPID: false,
          hostIPC: false,
          securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
          tolerations: s.tolerations.map((t) => ({ ...t })),
          // only nodes whose OS/architecture the image supports (a Linux image on a Windows node never starts)
          affinity: selectionAffinity(s.nodeSelection),
          containers: [
            {
              name: SENSOR_NAME,
              image: sensorImage(desired),
              imagePullPolicy: s.imagePullPolicy,
              args: sensorArgs(desired),
              env: [
                secretEnv('ACTIVATIONID', 'activation-id'),
                secretEnv('CUSTOMERID', 'customer-id'),
                secretEnv('POD_URL', 'pod-url'),
                fieldEnv('QUALYS_POD_NAME', 'metadata.name'),
                fieldEnv('QUALYS_POD_NAMESPACE', 'metadata.namespace'),
                { name: 'QUALYS_SCANNING_CONTAINER_LAUNCH_TIMEOUT', value: '10' },
              ],
              resources: { requests: { ...s.resources.requests }, limits: { ...s.resources.limits } },
              securityContext: {
                privileged: false,
                // Kubernetes rejects allowPrivilegeEscalation=false together with CAP_SYS_ADMIN
                allowPrivilegeEscalation: true,
                capabilities: { drop: ['ALL'], add: ['SYS_ADMIN', 'DAC_OVERRIDE', 'SETUID', 'SETGID'] },
              },
              volumeMounts: [
                { name: 'runtime-socket', mountPath: socket, readOnly: true },
                ...(persistent ? [{ name: 'sensor-data', mountPath: '/usr/local/qualys/qpa/data' }] : []),
                { name: 'agent-data', mountPath: '/usr/local/qualys/qpa/data/conf/agent-data' },
              ],
            },
          ],
          volumes: [
            { name: 'runtime-socket', hostPath: { path: socket, type: 'Socket' } },
            ...(persistent ? [{ name: 'sensor-data', hostPath: { path: '/usr/local/qualys/sensor/data', type: 'DirectoryOrCreate' } }] : []),
            { name: 'agent-data', hostPath: { path: '/etc/qualys', type: 'DirectoryOrCreate' } },
          ],
        },
      },
    },
  };
}
