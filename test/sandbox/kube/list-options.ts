/**
 * ListOptions of list and watch requests, decoded and validated as kube-apiserver does it
 * (k8s.io/apimachinery/pkg/apis/meta/internalversion/validation ValidateListOptions;
 * https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions and
 * #efficient-detection-of-changes, #streaming-lists).
 */
import { KubeError, errors } from './status';

export type ResourceVersionMatch = 'Exact' | 'NotOlderThan';

export interface ListOptions {
  watch: boolean;
  /** undefined when absent or empty ("unset" in the docs). */
  resourceVersion?: string;
  resourceVersionMatch?: ResourceVersionMatch;
  allowWatchBookmarks: boolean;
  /** undefined when absent: the legacy watch semantics. */
  sendInitialEvents?: boolean;
  timeoutSeconds?: number;
  limit: number;
  continue?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

/** strconv.ParseBool, which the query decoder uses for bool fields. */
function parseBool(name: string, v: string | null): boolean | undefined {
  if (v === null) return undefined;
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False', ''].includes(v)) return false;
  throw errors.badRequest(`failed to decode ListOptions: ${name}: strconv.ParseBool: parsing ${JSON.stringify(v)}: invalid syntax`);
}

function parseInt64(name: string, v: string | null): number | undefined {
  if (v === null || v === '') return undefined;
  if (!/^-?\d+$/.test(v)) throw errors.badRequest(`failed to decode ListOptions: ${name}: strconv.ParseInt: parsing ${JSON.stringify(v)}: invalid syntax`);
  return Number(v);
}

type Cause = { type: 'FieldValueForbidden' | 'FieldValueNotSupported'; field: string; detail: string };

function invalidListOptions(causes: Cause[]): KubeError {
  const text = (c: Cause) => `${c.field}: ${c.type === 'FieldValueForbidden' ? 'Forbidden' : 'Unsupported value'}: ${c.detail}`;
  const message = `ListOptions.meta.k8s.io "" is invalid: ${causes.length === 1 ? text(causes[0]!) : `[${causes.map(text).join(', ')}]`}`;
  return new KubeError({
    kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason: 'Invalid',
    details: { group: 'meta.k8s.io', kind: 'ListOptions', causes: causes.map((c) => ({ reason: c.type, message: `${c.type === 'FieldValueForbidden' ? 'Forbidden' : 'Unsupported value'}: ${c.detail}`, field: c.field })) },
    code: 422,
  });
}

export function parseListOptions(q: URLSearchParams, forceWatch = false): ListOptions {
  const match = q.get('resourceVersionMatch') || undefined;
  const o: ListOptions = {
    watch: forceWatch || (parseBool('watch', q.get('watch')) ?? false),
    ...(q.get('resourceVersion') ? { resourceVersion: q.get('resourceVersion')! } : {}),
    ...(match ? { resourceVersionMatch: match as ResourceVersionMatch } : {}),
    allowWatchBookmarks: parseBool('allowWatchBookmarks', q.get('allowWatchBookmarks')) ?? false,
    limit: Math.max(0, parseInt64('limit', q.get('limit')) ?? 0),
    ...(q.get('continue') ? { continue: q.get('continue')! } : {}),
    ...(q.get('labelSelector') ? { labelSelector: q.get('labelSelector')! } : {}),
    ...(q.get('fieldSelector') ? { fieldSelector: q.get('fieldSelector')! } : {}),
  };
  const sie = parseBool('sendInitialEvents', q.get('sendInitialEvents'));
  if (sie !== undefined && q.get('sendInitialEvents') !== '') o.sendInitialEvents = sie;
  const timeout = parseInt64('timeoutSeconds', q.get('timeoutSeconds'));
  if (timeout !== undefined) o.timeoutSeconds = timeout;
  const causes = o.watch ? watchCauses(o) : listCauses(o);
  if (causes.length > 0) throw invalidListOptions(causes);
  return o;
}

function listCauses(o: ListOptions): Cause[] {
  const out: Cause[] = [];
  const match = o.resourceVersionMatch;
  if (match) {
    if (o.resourceVersion === undefined) out.push({ type: 'FieldValueForbidden', field: 'resourceVersionMatch', detail: 'resourceVersionMatch is forbidden unless resourceVersion is provided' });
    if (o.continue) out.push({ type: 'FieldValueForbidden', field: 'resourceVersionMatch', detail: 'resourceVersionMatch is forbidden when continue is provided' });
    if (match !== 'Exact' && match !== 'NotOlderThan') out.push({ type: 'FieldValueNotSupported', field: 'resourceVersionMatch', detail: `${JSON.stringify(match)}: supported values: "Exact", "NotOlderThan", ""` });
    if (match === 'Exact' && o.resourceVersion === '0') out.push({ type: 'FieldValueForbidden', field: 'resourceVersionMatch', detail: 'resourceVersionMatch "exact" is forbidden for resourceVersion "0"' });
  }
  if (o.sendInitialEvents !== undefined) out.push({ type: 'FieldValueForbidden', field: 'sendInitialEvents', detail: 'sendInitialEvents is forbidden for list' });
  return out;
}

function watchCauses(o: ListOptions): Cause[] {
  const out: Cause[] = [];
  const match = o.resourceVersionMatch;
  if (o.sendInitialEvents !== undefined) {
    if (match !== 'NotOlderThan') out.push({ type: 'FieldValueForbidden', field: 'resourceVersionMatch', detail: 'sendInitialEvents requires setting resourceVersionMatch to NotOlderThan' });
    if (o.sendInitialEvents && !o.allowWatchBookmarks) out.push({ type: 'FieldValueForbidden', field: 'allowWatchBookmarks', detail: 'sendInitialEvents requires setting allowWatchBookmarks to true' });
  }
  if (match) {
    if (o.sendInitialEvents === undefined) out.push({ type: 'FieldValueForbidden', field: 'resourceVersionMatch', detail: 'resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided' });
    if (match !== 'NotOlderThan') out.push({ type: 'FieldValueNotSupported', field: 'resourceVersionMatch', detail: `${JSON.stringify(match)}: supported values: "NotOlderThan"` });
    if (o.continue) out.push({ type: 'FieldValueForbidden', field: 'resourceVersionMatch', detail: 'resourceVersionMatch is forbidden when continue is provided' });
  }
  return out;
}

/** A resourceVersion the client sent: etcd revisions are unsigned integers (APIObjectVersioner.ParseResourceVersion). */
export function parseResourceVersion(rv: string, resource: string): number {
  if (!/^\d+$/.test(rv)) {
    throw new KubeError({
      kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'Invalid', code: 422,
      message: `${resource} "" is invalid: resourceVersion: Invalid value: ${JSON.stringify(rv)}: strconv.ParseUint: parsing ${JSON.stringify(rv)}: invalid syntax`,
      details: { kind: resource, causes: [{ reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(rv)}: strconv.ParseUint: parsing ${JSON.stringify(rv)}: invalid syntax`, field: 'resourceVersion' }] },
    });
  }
  return Number(rv);
}
