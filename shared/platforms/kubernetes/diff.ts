/**
 * Drift = a field WE set differs in the live object. Pure.
 *
 * Only the fields present in our desired object are compared (like server-side apply, we own those and
 * nothing else), after normalising what the API server defaults or canonicalises, so defaulted fields
 * never cause drift (Argo CD #15898/#8833, Datadog operator #1193 in peers.md §4.1):
 *   - quantities by value ("0.5" = "500m", "1Gi" = "1024Mi");
 *   - ints and strings of the same number (ports, int-or-string fields);
 *   - empty and absent ("" / [] / {} / false vs missing: omitempty fields);
 *   - list-maps matched by key, not position (containers, env, volumes by name, volumeMounts by
 *     mountPath, container ports by containerPort/protocol); other lists are atomic and compared whole.
 * Separately, `foreignAdditions` reports security-relevant things someone else added to our DaemonSet
 * (extra containers, env, mounts, hostPath volumes, a nodeSelector), using managedFields to tell them from elements we
 * applied earlier: server-side apply cannot remove fields another manager owns, so they are reported,
 * never silently kept (Flux helm-controller #896).
 */
import type { FieldChange } from '../types';
import { sameQuantity } from './quantity';
import { describeRef, FIELD_MANAGER, refOf, type KubeObject } from './types';

export interface FieldDifference {
  /** e.g. spec.template.spec.containers[qualys-container-sensor].image */
  path: string;
  kind: 'differs' | 'missing';
  want: unknown;
  have?: unknown;
  /** Values must not be shown (Secret data). */
  secret?: boolean;
}

/** Parent field -> key of its list-map elements. */
const LIST_MAP_KEYS: Record<string, (e: any) => string | undefined> = {
  containers: (e) => e?.name,
  initContainers: (e) => e?.name,
  ephemeralContainers: (e) => e?.name,
  env: (e) => e?.name,
  volumes: (e) => e?.name,
  imagePullSecrets: (e) => e?.name,
  volumeMounts: (e) => e?.mountPath,
};

const QUANTITY_PARENTS = new Set(['requests', 'limits', 'hard', 'default', 'defaultRequest', 'max', 'min', 'maxLimitRequestRatio']);
const SECRET_FIELDS = new Set(['data', 'stringData']);

export function diffObject(desired: KubeObject, live: KubeObject): FieldDifference[] {
  const out: FieldDifference[] = [];
  const isSecret = desired.kind === 'Secret';
  for (const key of Object.keys(desired)) {
    if (key === 'apiVersion' || key === 'kind') continue;
    if (key === 'metadata') {
      compare('metadata.labels', desired.metadata.labels, live.metadata?.labels, out, ['metadata', 'labels']);
      compare('metadata.annotations', desired.metadata.annotations, live.metadata?.annotations, out, ['metadata', 'annotations']);
      continue;
    }
    if (isSecret && SECRET_FIELDS.has(key)) {
      const diffs: FieldDifference[] = [];
      compare(key, desired[key], live[key], diffs, [key]);
      if (diffs.length > 0) out.push({ path: key, kind: 'differs', want: undefined, secret: true });
      continue;
    }
    compare(key, desired[key], live[key], out, [key]);
  }
  return out;
}

function compare(path: string, want: unknown, have: unknown, out: FieldDifference[], segments: string[]): void {
  if (want === undefined || want === null) return;
  if (isEmpty(want) && (have === undefined || have === null || isEmpty(have))) return;
  if (have === undefined || have === null) {
    out.push({ path, kind: 'missing', want });
    return;
  }
  if (Array.isArray(want)) {
    if (!Array.isArray(have)) return void out.push({ path, kind: 'differs', want, have });
    const keyOf = LIST_MAP_KEYS[segments[segments.length - 1] ?? ''] ?? (segments[segments.length - 1] === 'ports' ? containerPortKey : undefined);
    if (keyOf && want.every((e) => keyOf(e) !== undefined)) {
      for (const w of want) {
        const k = keyOf(w)!;
        const h = have.find((e) => keyOf(e) === k);
        compare(`${path}[${k}]`, w, h, out, [...segments, k]);
      }
      return;
    }
    if (want.length !== have.length || want.some((w, i) => !equalSubset(w, have[i], segments))) out.push({ path, kind: 'differs', want, have });
    return;
  }
  if (isPlainObject(want)) {
    if (!isPlainObject(have)) return void out.push({ path, kind: 'differs', want, have });
    for (const [k, w] of Object.entries(want)) compare(`${path}.${k}`, w, have[k], out, [...segments, k]);
    return;
  }
  if (!sameScalar(want, have, segments)) out.push({ path, kind: 'differs', want, have });
}

/** Container ports are a list-map keyed by containerPort+protocol; NetworkPolicy ports are atomic. */
function containerPortKey(e: any): string | undefined {
  return e?.containerPort === undefined ? undefined : `${e.containerPort}/${e.protocol ?? 'TCP'}`;
}

function equalSubset(want: unknown, have: unknown, segments: string[]): boolean {
  const diffs: FieldDifference[] = [];
  compare('', want, have, diffs, segments);
  return diffs.length === 0;
}

function sameScalar(want: unknown, have: unknown, segments: string[]): boolean {
  if (want === have) return true;
  const parent = segments[segments.length - 2] ?? '';
  if (QUANTITY_PARENTS.has(parent) && (typeof want === 'string' || typeof want === 'number') && (typeof have === 'string' || typeof have === 'number')) {
    return sameQuantity(want, have);
  }
  // int-or-string fields (ports, maxUnavailable) come back in either form
  if ((typeof want === 'number' && typeof have === 'string') || (typeof want === 'string' && typeof have === 'number')) return String(want) === String(have);
  return false;
}

/** The API server omits empty strings, empty lists/maps and false booleans (omitempty). */
function isEmpty(v: unknown): boolean {
  return v === '' || v === false || (Array.isArray(v) && v.length === 0) || (isPlainObject(v) && Object.keys(v).length === 0);
}

function isPlainObject(v: unknown): v is Record<string, any> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** One sentence per difference; Secret values are never shown. */
export function describeDifference(obj: KubeObject, d: FieldDifference): string {
  const what = describeRef(refOf(obj));
  if (d.secret) return `${what}: ${d.path} differs`;
  if (d.kind === 'missing') return `${what}: ${d.path} missing (want ${show(d.want, d.path)})`;
  return `${what}: ${d.path} differs (want ${show(d.want, d.path)}, have ${show(d.have, d.path)})`;
}

function show(v: unknown, path: string): string {
  const terms = path.endsWith('.affinity') ? (v as any)?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms : path.endsWith('.nodeSelectorTerms') ? v : undefined;
  if (Array.isArray(terms)) return `node affinity ${describeTerms(terms)}`;
  return shorten(v);
}

/** Node selector terms in label-selector syntax: "kubernetes.io/os in (linux), kubernetes.io/arch in (amd64,arm64)". */
function describeTerms(terms: any[]): string {
  const req = (e: any) => {
    const op = String(e?.operator ?? '');
    if (op === 'Exists') return String(e?.key);
    if (op === 'DoesNotExist') return `!${e?.key}`;
    return `${e?.key} ${op.toLowerCase()} (${(e?.values ?? []).join(',')})`;
  };
  return terms.map((t) => [...(t?.matchExpressions ?? []), ...(t?.matchFields ?? [])].map(req).join(', ') || '(empty term)').join(' or ');
}

function shorten(v: unknown): string {
  const text = typeof v === 'string' ? v : JSON.stringify(v);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/**
 * Whether our field manager owns an element, read from metadata.managedFields (FieldsV1:
 * https://kubernetes.io/docs/reference/using-api/server-side-apply/#field-management). An element we
 * owned and no longer want is removed by our next apply, so it is not someone else's addition.
 */
function ownedByUs(live: KubeObject, path: string[]): boolean {
  return (live.metadata.managedFields ?? []).some((entry: any) => {
    if (entry?.manager !== FIELD_MANAGER) return false;
    let node: any = entry.fieldsV1;
    for (const element of path) {
      node = node?.[element];
      if (node === undefined) return false;
    }
    return true;
  });
}

const POD_SPEC = ['f:spec', 'f:template', 'f:spec'];
const byName = (name: unknown) => `k:${JSON.stringify({ name })}`;

/**
 * Security-relevant additions another manager made to our DaemonSet's pod template: containers,
 * hostPath volumes, env and mounts in our container, nodeSelector labels that we did not put there.
 */
export function foreignAdditions(desired: KubeObject, live: KubeObject): string[] {
  const want = desired.spec?.template?.spec ?? {};
  const have = live.spec?.template?.spec ?? {};
  const found: string[] = [];
  const names = (list: any[] | undefined) => new Set((list ?? []).map((e) => e?.name));
  for (const field of ['containers', 'initContainers', 'ephemeralContainers'] as const) {
    const ours = names(want[field]);
    for (const c of have[field] ?? []) {
      if (ours.has(c?.name) || ownedByUs(live, [...POD_SPEC, `f:${field}`, byName(c?.name)])) continue;
      found.push(`extra ${field === 'containers' ? 'container' : field.replace(/s$/, '')} "${c?.name}" (image ${c?.image})`);
    }
  }
  // a placement rule someone added narrows the nodes the sensor runs on
  for (const [k, v] of Object.entries<string>(have.nodeSelector ?? {})) {
    if (want.nodeSelector?.[k] === undefined && !ownedByUs(live, [...POD_SPEC, 'f:nodeSelector', `f:${k}`])) found.push(`nodeSelector ${k}=${v} (limits the nodes the sensor runs on)`);
  }
  const ourVolumes = names(want.volumes);
  for (const v of have.volumes ?? []) {
    if (!v?.hostPath || ourVolumes.has(v?.name) || ownedByUs(live, [...POD_SPEC, 'f:volumes', byName(v.name)])) continue;
    found.push(`extra hostPath volume "${v.name}" (${v.hostPath.path})`);
  }
  for (const w of want.containers ?? []) {
    const h = (have.containers ?? []).find((c: any) => c?.name === w.name);
    if (!h) continue;
    const container = [...POD_SPEC, 'f:containers', byName(w.name)];
    const ourEnv = names(w.env);
    for (const e of h.env ?? []) {
      if (!ourEnv.has(e?.name) && !ownedByUs(live, [...container, 'f:env', byName(e?.name)])) found.push(`extra env ${e?.name} in container ${w.name}`);
    }
    const ourMounts = new Set((w.volumeMounts ?? []).map((m: any) => m.mountPath));
    for (const m of h.volumeMounts ?? []) {
      if (!ourMounts.has(m?.mountPath) && !ownedByUs(live, [...container, 'f:volumeMounts', `k:${JSON.stringify({ mountPath: m?.mountPath })}`])) {
        found.push(`extra volumeMount ${m?.mountPath} in container ${w.name}`);
      }
    }
  }
  return found;
}

/** The differences as the structured changes a plan's diff shows (live value → wanted); Secret data never carries values. */
export function fieldChanges(diffs: FieldDifference[]): FieldChange[] {
  return diffs.map((d) => (d.secret ? { path: d.path, secret: true } : { path: d.path, ...(d.have !== undefined && d.have !== null ? { from: d.have } : {}), to: d.want }));
}
