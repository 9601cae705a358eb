/**
 * Defaulting the real API server does on write (pkg/apis/<group>/v1/defaults.go). Defaults are nobody's
 * managed fields after an apply, so clients that diff desired against live must normalise them, as they
 * must against a real cluster.
 */
import { isPlainObject } from './fieldsets';

function defaultContainer(c: any): void {
  if (!isPlainObject(c)) return;
  c.terminationMessagePath ??= '/dev/termination-log';
  c.terminationMessagePolicy ??= 'File';
  if (c.imagePullPolicy === undefined && typeof c.image === 'string') {
    const tag = /:([^/:@]+)$/.exec(c.image.split('@')[0] ?? '')?.[1];
    c.imagePullPolicy = !c.image.includes('@') && (tag === undefined || tag === 'latest') ? 'Always' : 'IfNotPresent';
  }
  for (const p of c.ports ?? []) if (isPlainObject(p)) p.protocol ??= 'TCP';
  for (const e of c.env ?? []) if (e?.valueFrom?.fieldRef) e.valueFrom.fieldRef.apiVersion ??= 'v1';
}

export function defaultPodSpec(spec: any): void {
  if (!isPlainObject(spec)) return;
  spec.restartPolicy ??= 'Always';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.securityContext ??= {};
  spec.schedulerName ??= 'default-scheduler';
  for (const c of spec.containers ?? []) defaultContainer(c);
  for (const c of spec.initContainers ?? []) defaultContainer(c);
  for (const v of spec.volumes ?? []) {
    if (v?.hostPath) v.hostPath.type ??= '';
    if (v?.secret) v.secret.defaultMode ??= 420;
    if (v?.configMap) v.configMap.defaultMode ??= 420;
  }
}

export function applyDefaults(kind: string, obj: any): void {
  switch (kind) {
    case 'DaemonSet': {
      const spec = (obj.spec ??= {});
      spec.revisionHistoryLimit ??= 10;
      spec.updateStrategy ??= { type: 'RollingUpdate' };
      spec.updateStrategy.type ??= 'RollingUpdate';
      if (spec.updateStrategy.type === 'RollingUpdate') {
        spec.updateStrategy.rollingUpdate ??= {};
        spec.updateStrategy.rollingUpdate.maxUnavailable ??= 1;
        spec.updateStrategy.rollingUpdate.maxSurge ??= 0;
      }
      defaultPodSpec(spec.template?.spec);
      break;
    }
    case 'Pod':
      defaultPodSpec(obj.spec);
      obj.spec.enableServiceLinks ??= true;
      obj.spec.preemptionPolicy ??= 'PreemptLowerPriority';
      obj.spec.priority ??= 0;
      break;
    case 'Namespace':
      obj.metadata.labels = { ...(obj.metadata.labels ?? {}), 'kubernetes.io/metadata.name': obj.metadata.name };
      obj.spec ??= {};
      obj.spec.finalizers ??= ['kubernetes'];
      break;
    case 'Secret':
      obj.type ??= 'Opaque';
      // stringData is write-only: merged into data (it wins), never stored (core/v1 Convert_v1_Secret_To_core_Secret)
      if (isPlainObject(obj.stringData)) {
        obj.data = { ...(obj.data ?? {}), ...Object.fromEntries(Object.entries(obj.stringData).map(([k, v]) => [k, Buffer.from(String(v)).toString('base64')])) };
      }
      delete obj.stringData;
      break;
    case 'NetworkPolicy': {
      const spec = (obj.spec ??= {});
      if (!spec.policyTypes || spec.policyTypes.length === 0) spec.policyTypes = spec.egress ? ['Ingress', 'Egress'] : ['Ingress'];
      for (const rule of [...(spec.ingress ?? []), ...(spec.egress ?? [])]) for (const p of rule?.ports ?? []) if (isPlainObject(p)) p.protocol ??= 'TCP';
      break;
    }
  }
}
