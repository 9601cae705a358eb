/**
 * Label and field selectors for list requests
 * (https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors,
 * https://kubernetes.io/docs/concepts/overview/working-with-objects/field-selectors/).
 */
import { errors } from './status';

type LabelReq =
  | { op: 'eq' | 'neq'; key: string; value: string }
  | { op: 'in' | 'notin'; key: string; values: string[] }
  | { op: 'exists' | 'notexists'; key: string };

function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur.trim() !== '') out.push(cur);
  return out.map((p) => p.trim()).filter((p) => p !== '');
}

export function parseLabelSelector(s: string): LabelReq[] {
  return splitTopLevel(s).map((part) => {
    let m = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(part);
    if (m) return { op: m[2] as 'in' | 'notin', key: m[1]!, values: m[3]!.split(',').map((v) => v.trim()).filter(Boolean) };
    m = /^([^!=\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(part);
    if (m) return { op: m[2] === '!=' ? 'neq' : 'eq', key: m[1]!, value: m[3]! };
    m = /^!\s*(\S+)$/.exec(part);
    if (m) return { op: 'notexists', key: m[1]! };
    if (/^[A-Za-z0-9._/-]+$/.test(part)) return { op: 'exists', key: part };
    throw errors.badRequest(`unable to parse requirement: found '${part}', expected: in, notin, =, ==, !=, gt, lt`);
  });
}

export function matchesLabels(reqs: LabelReq[], labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return reqs.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    switch (r.op) {
      case 'eq': return has && l[r.key] === r.value;
      case 'neq': return !has || l[r.key] !== r.value;
      case 'in': return has && r.values.includes(l[r.key]!);
      case 'notin': return !has || !r.values.includes(l[r.key]!);
      case 'exists': return has;
      case 'notexists': return !has;
    }
  });
}

/** metav1.LabelSelector (matchLabels + matchExpressions) as used in DaemonSet.spec.selector. */
export function matchesLabelSelector(sel: any, labels: Record<string, string> | undefined): boolean {
  if (!sel) return false;
  const l = labels ?? {};
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = e.key in l;
    if (e.operator === 'In' && !(has && (e.values ?? []).includes(l[e.key]))) return false;
    if (e.operator === 'NotIn' && has && (e.values ?? []).includes(l[e.key])) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

const FIELD_GETTERS: Record<string, (o: any) => string | undefined> = {
  'metadata.name': (o) => o.metadata?.name,
  'metadata.namespace': (o) => o.metadata?.namespace,
  'spec.nodeName': (o) => o.spec?.nodeName ?? '',
  'status.phase': (o) => o.status?.phase,
  'spec.unschedulable': (o) => String(o.spec?.unschedulable ?? false),
  'involvedObject.name': (o) => o.involvedObject?.name,
  'involvedObject.kind': (o) => o.involvedObject?.kind,
  'involvedObject.uid': (o) => o.involvedObject?.uid,
  'involvedObject.namespace': (o) => o.involvedObject?.namespace,
  'involvedObject.apiVersion': (o) => o.involvedObject?.apiVersion,
  'involvedObject.resourceVersion': (o) => o.involvedObject?.resourceVersion ?? '',
  'involvedObject.fieldPath': (o) => o.involvedObject?.fieldPath ?? '',
  reportingComponent: (o) => o.reportingComponent ?? '',
  // pkg/registry/core/event: source.component, else reportingComponent
  source: (o) => o.source?.component || o.reportingComponent,
  reason: (o) => o.reason,
  type: (o) => o.type,
};

export type FieldReq = { key: string; value: string; neq: boolean };

export function parseFieldSelector(s: string, kind: string): FieldReq[] {
  return splitTopLevel(s).map((part) => {
    const m = /^([^!=]+)(==|=|!=)(.*)$/.exec(part);
    if (!m) throw errors.badRequest(`invalid selector: '${s}'; can't understand '${part}'`);
    const key = m[1]!.trim();
    const generic = key === 'metadata.name' || key === 'metadata.namespace';
    if (!generic && !(key in FIELD_GETTERS)) throw errors.badRequest(`field label not supported: ${key}`);
    if (!generic && key.startsWith('spec.nodeName') && kind !== 'Pod') throw errors.badRequest(`field label not supported: ${key}`);
    return { key, value: m[3]!.trim(), neq: m[2] === '!=' };
  });
}

export function matchesFields(reqs: FieldReq[], obj: any): boolean {
  return reqs.every((r) => {
    const v = FIELD_GETTERS[r.key]?.(obj);
    return r.neq ? v !== r.value : v === r.value;
  });
}
