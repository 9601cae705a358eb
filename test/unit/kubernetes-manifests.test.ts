import { describe, expect, it } from 'vitest';
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { LimitRange } from 'kubernetes-models/v1/LimitRange';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { ResourceQuota } from 'kubernetes-models/v1/ResourceQuota';
import { Secret } from 'kubernetes-models/v1/Secret';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { configSchema } from '../../shared/config/schema';
import { buildSensorObjects, daemonSet, RUNTIME_SOCKETS, SENSOR_NAME } from '../../shared/platforms/kubernetes/manifests';
import { parseQuantity } from '../../shared/platforms/kubernetes/quantity';
import { MANAGED_BY_LABEL, type KubeObject } from '../../shared/platforms/kubernetes/types';
import type { DesiredSensor } from '../../shared/platforms/types';

const CREDS = { activationId: 'act-0f1e2d3c-unit', customerId: 'cust-9a8b7c6d-unit' };
function desiredWith(sensor: Record<string, unknown> = {}): DesiredSensor {
  return { config: configSchema.parse({ sensor }), credentials: CREDS, podUrl: 'https://cmsqagpublic.qg2.apps.qualys.com/ContainerSensor' };
}

const VALIDATORS: Record<string, (o: KubeObject) => { validate(): void }> = {
  Namespace: (o) => new Namespace(o as any),
  ServiceAccount: (o) => new ServiceAccount(o as any),
  Secret: (o) => new Secret(o as any),
  Role: (o) => new Role(o as any),
  RoleBinding: (o) => new RoleBinding(o as any),
  ClusterRole: (o) => new ClusterRole(o as any),
  ClusterRoleBinding: (o) => new ClusterRoleBinding(o as any),
  NetworkPolicy: (o) => new NetworkPolicy(o as any),
  ResourceQuota: (o) => new ResourceQuota(o as any),
  LimitRange: (o) => new LimitRange(o as any),
  PodDisruptionBudget: (o) => new PodDisruptionBudget(o as any),
  DaemonSet: (o) => new DaemonSet(o as any),
};

/** kubelet hostPath type check for a node that has only these paths as sockets. */
function podStartsOn(ds: KubeObject, nodeSockets: string[]): { ok: boolean; reason?: string } {
  for (const v of ds.spec.template.spec.volumes) {
    if (v.hostPath?.type === 'Socket' && !nodeSockets.includes(v.hostPath.path)) return { ok: false, reason: `hostPath type check failed: ${v.hostPath.path} is not a socket file` };
  }
  return { ok: true };
}
const CONTAINERD_ONLY_NODE = ['/run/containerd/containerd.sock', '/var/run/containerd/containerd.sock'];

describe('Kubernetes manifests', () => {
  const objects = buildSensorObjects(desiredWith());

  it('builds the whole DESIGN §5 object set in apply order, namespace first and DaemonSet last', () => {
    expect(objects.map((o) => o.kind)).toEqual([
      'Namespace', 'ServiceAccount', 'Secret', 'Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding',
      'NetworkPolicy', 'ResourceQuota', 'LimitRange', 'PodDisruptionBudget', 'DaemonSet',
    ]);
  });

  it.each(buildSensorObjects(desiredWith()).map((o) => [o.kind, o] as const))('%s is valid against the Kubernetes schema', (kind, obj) => {
    const model = VALIDATORS[kind]!(obj);
    expect(() => model.validate()).not.toThrow();
  });

  it('the schema check catches an invalid object (the validator is live)', () => {
    const broken = structuredClone(daemonSet(desiredWith()));
    delete broken.spec.template.spec.containers[0].name;
    broken.spec.template.spec.containers[0].ports = [{ containerPort: 'https' }];
    expect(() => new DaemonSet(broken as any).validate()).toThrow(/name|containerPort/);
  });

  it('labels every object managed-by sensorfleet with name and part-of', () => {
    for (const o of objects) {
      expect(o.metadata.labels).toMatchObject({ [MANAGED_BY_LABEL]: 'sensorfleet', 'app.kubernetes.io/part-of': 'sensorfleet', 'app.kubernetes.io/name': SENSOR_NAME });
    }
  });

  it('DaemonSet follows the vendor chart and the hardening of DESIGN §5', () => {
    const ds = objects.find((o) => o.kind === 'DaemonSet')!;
    const pod = ds.spec.template.spec;
    const c = pod.containers[0];
    expect(ds.metadata.name).toBe('qualys-container-sensor');
    expect(ds.metadata.namespace).toBe('qualys-sensor');
    expect(c.image).toBe('qualys/qcs-sensor:1.34.1-0');
    expect(c.args.slice(0, 3)).toEqual(['--k8s-mode', '--container-runtime', 'containerd']);
    expect(c.env.map((e: any) => e.name)).toEqual(expect.arrayContaining(['ACTIVATIONID', 'CUSTOMERID', 'POD_URL', 'QUALYS_POD_NAME', 'QUALYS_POD_NAMESPACE']));
    expect(c.env.find((e: any) => e.name === 'QUALYS_POD_NAME').valueFrom.fieldRef.fieldPath).toBe('metadata.name');
    expect(c.resources).toEqual({ requests: { cpu: '250m', memory: '512Mi' }, limits: { cpu: '500m', memory: '1Gi' } });
    expect(pod.securityContext.seccompProfile).toEqual({ type: 'RuntimeDefault' });
    expect(c.securityContext.capabilities).toEqual({ drop: ['ALL'], add: ['SYS_ADMIN', 'DAC_OVERRIDE', 'SETUID', 'SETGID'] });
    expect(c.securityContext.privileged).toBe(false);
    expect(pod.hostPID).toBe(false);
    expect(pod.hostIPC).toBe(false);
    expect(pod.tolerations).toEqual([{ operator: 'Exists', effect: 'NoSchedule' }, { operator: 'Exists', effect: 'NoExecute' }]);
    expect(ds.spec.updateStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '10%' } });
    expect(pod.serviceAccountName).toBe(objects.find((o) => o.kind === 'ServiceAccount')!.metadata.name);
  });

  it('credentials reach the pod only through secretKeyRef, never as plain env values', () => {
    const ds = daemonSet(desiredWith());
    const env: any[] = ds.spec.template.spec.containers[0].env;
    for (const name of ['ACTIVATIONID', 'CUSTOMERID', 'POD_URL']) {
      const e = env.find((x) => x.name === name);
      expect(e.value).toBeUndefined();
      expect(e.valueFrom.secretKeyRef.name).toBe('qualys-credentials');
    }
    const text = JSON.stringify(ds);
    expect(text).not.toContain(CREDS.activationId);
    expect(text).not.toContain(CREDS.customerId);
    const secret = objects.find((o) => o.kind === 'Secret')!;
    expect(Object.keys(secret.data)).toEqual(['activation-id', 'customer-id', 'pod-url']);
    expect(Buffer.from(secret.data['activation-id'], 'base64').toString()).toBe(CREDS.activationId);
  });

  it('the pod would start on a containerd-only node: only the containerd socket is mounted', () => {
    const ds = daemonSet(desiredWith());
    const sockets = ds.spec.template.spec.volumes.filter((v: any) => v.hostPath?.type === 'Socket');
    expect(sockets.map((v: any) => v.hostPath.path)).toEqual([RUNTIME_SOCKETS.containerd]);
    expect(JSON.stringify(ds)).not.toContain('docker.sock');
    expect(podStartsOn(ds, CONTAINERD_ONLY_NODE)).toEqual({ ok: true });
  });

  it('negative: the seeds-style docker socket mount would not start on a containerd-only node', () => {
    const ds = daemonSet(desiredWith({ containerRuntime: 'docker' }));
    expect(ds.spec.template.spec.containers[0].args).toEqual(['--k8s-mode', '--use-kubectl', '--registry-sensor', '--enable-console-logs']);
    expect(podStartsOn(ds, CONTAINERD_ONLY_NODE)).toEqual({ ok: false, reason: 'hostPath type check failed: /var/run/docker.sock is not a socket file' });
  });

  it('tolerations, maxUnavailable, version and namespace come from config', () => {
    const ds = daemonSet(desiredWith({ version: '1.35.0-0', namespace: 'sec-sensor', maxUnavailable: 2, tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }] }));
    expect(ds.metadata.namespace).toBe('sec-sensor');
    expect(ds.spec.template.spec.containers[0].image).toBe('qualys/qcs-sensor:1.35.0-0');
    expect(ds.spec.template.spec.tolerations).toEqual([{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }]);
    expect(ds.spec.updateStrategy.rollingUpdate.maxUnavailable).toBe(2);
    expect(() => new DaemonSet(ds as any).validate()).not.toThrow();
  });

  it('selects only nodes whose OS and architecture the sensor image supports (required node affinity)', () => {
    const pod = daemonSet(desiredWith()).spec.template.spec;
    expect(pod.nodeSelector).toBeUndefined();
    expect(pod.affinity).toEqual({
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/os', operator: 'In', values: ['linux'] }, { key: 'kubernetes.io/arch', operator: 'In', values: ['amd64', 'arm64'] }] }],
        },
      },
    });
    const amd64Only = daemonSet(desiredWith({ nodeSelection: { architectures: ['amd64'] } }));
    expect(amd64Only.spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions).toEqual([
      { key: 'kubernetes.io/os', operator: 'In', values: ['linux'] },
      { key: 'kubernetes.io/arch', operator: 'In', values: ['amd64'] },
    ]);
    expect(() => new DaemonSet(amd64Only as any).validate()).not.toThrow();
  });

  it('GKE Autopilot with a partner allowlist: the pod template names the WorkloadAllowlist, nothing else changes', () => {
    const plain = buildSensorObjects(desiredWith());
    const ap = buildSensorObjects(desiredWith(), { autopilot: { matchingAllowlist: 'qualys-sensor-allowlist-v1' } });
    const ds = ap.find((o) => o.kind === 'DaemonSet')!;
    expect(ds.spec.template.metadata.labels['cloud.google.com/matching-allowlist']).toBe('qualys-sensor-allowlist-v1');
    expect(ds.spec.selector).toEqual(plain.find((o) => o.kind === 'DaemonSet')!.spec.selector);
    expect(() => new DaemonSet(ds as any).validate()).not.toThrow();
    const { labels: _l, ...apTemplateRest } = ds.spec.template.metadata;
    const { labels: _p, ...plainTemplateRest } = plain.find((o) => o.kind === 'DaemonSet')!.spec.template.metadata;
    expect(apTemplateRest).toEqual(plainTemplateRest);
    expect(ap.filter((o) => o.kind !== 'DaemonSet')).toEqual(plain.filter((o) => o.kind !== 'DaemonSet'));
  });

  it('node selection config: GOARCH names only, never empty, no unknown keys', () => {
    expect(() => configSchema.parse({ sensor: { nodeSelection: { architectures: ['x86_64'] } } })).toThrow(/architectures/);
    expect(() => configSchema.parse({ sensor: { nodeSelection: { operatingSystems: [] } } })).toThrow(/operatingSystems/);
    expect(() => configSchema.parse({ sensor: { nodeSelection: { arch: ['amd64'] } } })).toThrow(/arch/);
    expect(configSchema.parse({}).sensor.nodeSelection).toEqual({ operatingSystems: ['linux'], architectures: ['amd64', 'arm64'] });
  });

  it('namespace admits the privileged sensor (PSA) and RBAC lets it run scan pods/jobs like the vendor chart', () => {
    const ns = objects.find((o) => o.kind === 'Namespace')!;
    expect(ns.metadata.labels!['pod-security.kubernetes.io/enforce']).toBe('privileged');
    const role = objects.find((o) => o.kind === 'Role')!;
    expect(role.rules[0]).toEqual({ apiGroups: ['', 'batch'], resources: ['pods', 'jobs'], verbs: ['get', 'list', 'watch', 'create', 'delete', 'deletecollection'] });
    expect(role.rules[1]).toEqual({ apiGroups: [''], resources: ['pods/attach', 'pods/exec'], verbs: ['create'] });
    const rb = objects.find((o) => o.kind === 'RoleBinding')!;
    expect(rb.subjects).toEqual([{ kind: 'ServiceAccount', name: 'qualys-service-account', namespace: 'qualys-sensor' }]);
  });

  it('network policy denies ingress and allows egress only to DNS, 443 and 6443', () => {
    const np = objects.find((o) => o.kind === 'NetworkPolicy')!;
    expect(np.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(np.spec.ingress).toEqual([]);
    const ports = np.spec.egress.flatMap((r: any) => r.ports.map((p: any) => `${p.protocol}/${p.port}`));
    expect(ports.sort()).toEqual(['TCP/443', 'TCP/53', 'TCP/6443', 'UDP/53']);
  });

  it('quota and limit range leave room for the sensor and its scan pods', () => {
    const quota = objects.find((o) => o.kind === 'ResourceQuota')!;
    // no compute or pod-count quota: the DaemonSet grows with the node count
    expect(Object.keys(quota.spec.hard).some((k) => /cpu|memory|^pods$/.test(k))).toBe(false);
    const lr = objects.find((o) => o.kind === 'LimitRange')!.spec.limits[0];
    const sensorLimits = daemonSet(desiredWith()).spec.template.spec.containers[0].resources.limits;
    expect(parseQuantity(lr.max.cpu)!).toBeGreaterThanOrEqual(parseQuantity(sensorLimits.cpu)!);
    expect(parseQuantity(lr.max.memory)!).toBeGreaterThanOrEqual(parseQuantity(sensorLimits.memory)!);
    expect(parseQuantity(lr.max.memory)!).toBeGreaterThanOrEqual(parseQuantity(lr.default.memory)!);
    const big = buildSensorObjects(desiredWith({ resources: { requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '2', memory: '4Gi' } } }));
    expect(big.find((o) => o.kind === 'LimitRange')!.spec.limits[0].max).toEqual({ cpu: '2', memory: '4Gi' });
  });

  it('refuses to build the Secret without resolved credentials', () => {
    expect(() => buildSensorObjects({ ...desiredWith(), credentials: undefined })).toThrow(/activation and customer ids/);
  });
});
