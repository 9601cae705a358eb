/**
 * GKE Autopilot's admission: GKE Warden, a validating webhook
 * (warden-validating.common-webhooks.networking.gke.io) that rejects workloads Autopilot does not allow,
 * unless an installed WorkloadAllowlist (auto.gke.io/v1, installed by an AllowlistSynchronizer) exempts them
 * (https://cloud.google.com/kubernetes-engine/docs/concepts/autopilot-security#built-in-security,
 * https://cloud.google.com/kubernetes-engine/docs/how-to/run-autopilot-partner-workloads,
 * https://cloud.google.com/kubernetes-engine/docs/reference/crds/workloadallowlist).
 *
 * Modelled constraints and their messages, as users have reported them verbatim (e.g. DataDog/helm-charts#1436,
 * CrowdStrike/falcon-helm#310, lacework/helm-charts#191, SumoLogic/sumologic-kubernetes-collection#3437):
 *   autogke-disallow-privilege, autogke-default-linux-capabilities, autogke-disallow-hostnamespaces,
 *   autogke-no-write-mode-hostpath (write-mode mounts; read-only paths outside /var/log/), autogke-no-host-port.
 * The denial is a 403 Status whose message is the webhook's, "Violations details" a JSON object with the
 * constraints sorted (Go marshals map keys in order).
 *
 * Allowlist matching is this sandbox's model of the documented behaviour: a WorkloadAllowlist exempts the
 * constraints in `exemptions` for a pod spec that stays within `matchingCriteria` (same containers by name,
 * same image repository, no capability, host namespace, privilege or hostPath volume/mount beyond the
 * criteria). A pod template labelled `cloud.google.com/matching-allowlist: <name>` is checked against that
 * allowlist only, and the denial then says why it does not match (GKE documents the label as the way to get
 * those details; the wording of that line is the sandbox's own).
 */
import { KubeError } from './status';

export const MATCHING_ALLOWLIST_LABEL = 'cloud.google.com/matching-allowlist';
const WEBHOOK = 'warden-validating.common-webhooks.networking.gke.io';
const ALLOWED_CAPABILITIES = ['AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE', 'NET_RAW', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT', 'SYS_PTRACE'];
const ALLOWED_HOSTPATH_PREFIXES = ['/var/log/'];

export interface WorkloadAllowlistContainer {
  name: string;
  image: string;
  securityContext?: { privileged?: boolean; capabilities?: { add?: string[]; drop?: string[] } };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}

/** auto.gke.io/v1 WorkloadAllowlist (cluster-scoped; the fields Warden's matching reads). */
export interface WorkloadAllowlist {
  apiVersion: 'auto.gke.io/v1';
  kind: 'WorkloadAllowlist';
  metadata: { name: string; annotations?: Record<string, string> };
  minGKEVersion?: string;
  exemptions: string[];
  matchingCriteria: {
    hostIPC?: boolean;
    hostPID?: boolean;
    hostNetwork?: boolean;
    containers: WorkloadAllowlistContainer[];
    initContainers?: WorkloadAllowlistContainer[];
    volumes?: { name: string; hostPath?: { path: string } }[];
  };
}

export interface AdmissionRequest {
  kind: string;
  operation: 'CREATE' | 'UPDATE';
  object: any;
  user: string;
}

type Violations = Map<string, string[]>;

function add(v: Violations, constraint: string, message: string): void {
  v.set(constraint, [...(v.get(constraint) ?? []), message]);
}

const capName = (c: string) => c.toUpperCase().replace(/^CAP_/, '');

/** The pod spec and labels a workload object runs (Pod itself, or a controller's template). */
function podOf(kind: string, obj: any): { spec: any; labels: Record<string, string> } | undefined {
  if (kind === 'Pod') return { spec: obj.spec ?? {}, labels: obj.metadata?.labels ?? {} };
  if (['DaemonSet', 'Deployment', 'StatefulSet', 'ReplicaSet', 'Job'].includes(kind)) return { spec: obj.spec?.template?.spec ?? {}, labels: obj.spec?.template?.metadata?.labels ?? {} };
  return undefined;
}

export function wardenViolations(spec: any): Violations {
  const v: Violations = new Map();
  const hostPathVolumes = new Map<string, string>((spec.volumes ?? []).filter((x: any) => x?.hostPath).map((x: any) => [x.name, x.hostPath.path]));
  for (const ns of ['hostPID', 'hostIPC', 'hostNetwork']) if (spec[ns] === true) add(v, 'autogke-disallow-hostnamespaces', `enabling ${ns} is not allowed in Autopilot.`);
  for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
    const sc = c?.securityContext ?? {};
    if (sc.privileged === true) add(v, 'autogke-disallow-privilege', `container ${c.name} is privileged; not allowed in Autopilot`);
    const extra = (sc.capabilities?.add ?? []).filter((cap: string) => !ALLOWED_CAPABILITIES.includes(capName(cap)));
    if (extra.length > 0) add(v, 'autogke-default-linux-capabilities', `linux capability '${extra.join(',')}' on container '${c.name}' not allowed; Autopilot only allows the capabilities: '${ALLOWED_CAPABILITIES.join(',')}'.`);
    const ports = (c.ports ?? []).map((p: any) => p?.hostPort).filter((p: unknown) => p !== undefined && p !== 0);
    if (ports.length > 0) add(v, 'autogke-no-host-port', `container ${c.name} specifies host ports [${ports.join(' ')}], which are disallowed in Autopilot.`);
    for (const m of c.volumeMounts ?? []) {
      const path = hostPathVolumes.get(m?.name);
      if (path === undefined) continue;
      if (m.readOnly !== true) add(v, 'autogke-no-write-mode-hostpath', `hostPath volume ${m.name} in container ${c.name} is accessed in write mode; disallowed in Autopilot.`);
      else if (!ALLOWED_HOSTPATH_PREFIXES.some((p) => `${path.replace(/\/+$/, '')}/`.startsWith(p))) {
        add(v, 'autogke-no-write-mode-hostpath', `hostPath volume ${m.name} used in container ${c.name} uses path ${path} which is not allowed in Autopilot. Allowed path prefixes for hostPath volumes are: [${ALLOWED_HOSTPATH_PREFIXES.join(' ')}].`);
      }
    }
  }
  return v;
}

/** docker.io/library/x:1 and x@sha256:… -> x; docker.io/qualys/qcs-sensor:1 -> qualys/qcs-sensor. */
function repositoryOf(image: string): string {
  let ref = image.split('@')[0]!;
  const colon = ref.lastIndexOf(':');
  if (colon > ref.lastIndexOf('/')) ref = ref.slice(0, colon);
  return ref.replace(/^(docker\.io|index\.docker\.io)\//, '').replace(/^library\//, '');
}

/** Why the pod spec is outside the allowlist's matchingCriteria, or undefined when it is within. */
export function allowlistMismatch(spec: any, wl: WorkloadAllowlist): string | undefined {
  const crit = wl.matchingCriteria;
  for (const ns of ['hostPID', 'hostIPC', 'hostNetwork'] as const) if (spec[ns] === true && crit[ns] !== true) return `${ns} is not allowed by the allowlist`;
  const criteriaVolumes = new Map((crit.volumes ?? []).filter((v) => v.hostPath).map((v) => [v.name, v.hostPath!.path]));
  const hostPathVolumes = new Map<string, string>((spec.volumes ?? []).filter((x: any) => x?.hostPath).map((x: any) => [x.name, x.hostPath.path]));
  for (const [name, path] of hostPathVolumes) {
    if (criteriaVolumes.get(name) !== path) return `hostPath volume "${name}" (${path}) is not in the allowlist`;
  }
  for (const [field, allowed] of [['initContainers', crit.initContainers ?? []], ['containers', crit.containers]] as const) {
    for (const c of spec[field] ?? []) {
      const want = allowed.find((a) => a.name === c.name);
      if (!want) return `container "${c.name}" is not in the allowlist`;
      if (repositoryOf(c.image ?? '') !== repositoryOf(want.image)) return `container "${c.name}": image "${c.image}" is not ${want.image}`;
      if (c.securityContext?.privileged === true && want.securityContext?.privileged !== true) return `container "${c.name}" is privileged; the allowlist does not allow it`;
      const caps = new Set((want.securityContext?.capabilities?.add ?? []).map(capName));
      const extra = (c.securityContext?.capabilities?.add ?? []).filter((cap: string) => !caps.has(capName(cap)));
      if (extra.length > 0) return `container "${c.name}": capabilities ${extra.join(',')} are not in the allowlist`;
      for (const m of c.volumeMounts ?? []) {
        if (!hostPathVolumes.has(m.name)) continue;
        const allowedMount = (want.volumeMounts ?? []).find((w) => w.name === m.name && w.mountPath === m.mountPath);
        if (!allowedMount) return `container "${c.name}": mount of "${m.name}" at ${m.mountPath} is not in the allowlist`;
        if (allowedMount.readOnly === true && m.readOnly !== true) return `container "${c.name}": "${m.name}" must be mounted read-only`;
      }
    }
  }
  return undefined;
}

/**
 * A validating admission function for ResourceRegistry: throws the Warden 403 when the workload violates
 * a constraint that no installed, matching allowlist exempts.
 */
export function gkeWarden(installed: () => WorkloadAllowlist[]): (req: AdmissionRequest) => void {
  return (req) => {
    const pod = podOf(req.kind, req.object);
    if (!pod) return;
    const violations = wardenViolations(pod.spec);
    if (violations.size === 0) return;
    const named = pod.labels[MATCHING_ALLOWLIST_LABEL];
    const candidates = named !== undefined ? installed().filter((w) => w.metadata.name === named) : installed();
    let why: string | undefined;
    if (named !== undefined && candidates.length === 0) why = `WorkloadAllowlist "${named}" is not installed on this cluster`;
    for (const wl of candidates) {
      const mismatch = allowlistMismatch(pod.spec, wl);
      if (mismatch) {
        if (named !== undefined) why = `workload does not match WorkloadAllowlist "${wl.metadata.name}": ${mismatch}`;
        continue;
      }
      for (const exempt of wl.exemptions) violations.delete(exempt);
      if (named !== undefined && violations.size > 0) why = `WorkloadAllowlist "${wl.metadata.name}" does not exempt ${[...violations.keys()].join(', ')}`;
      break;
    }
    if (violations.size === 0) return;
    const details: Record<string, string[]> = {};
    for (const k of [...violations.keys()].sort()) details[`[denied by ${k}]`] = violations.get(k)!;
    const message =
      `admission webhook "${WEBHOOK}" denied the request: GKE Warden rejected the request because it violates one or more constraints.\n` +
      `Violations details: ${JSON.stringify(details)}\n` +
      (why ? `Allowlist details: ${why}.\n` : '') +
      `Requested by user: '${req.user}', groups: 'system:authenticated'.`;
    throw new KubeError({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason: 'GKE Warden constraints violations', code: 403 });
  };
}

