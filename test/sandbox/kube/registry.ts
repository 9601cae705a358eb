/**
 * The API server's write path for one cluster: create, update, patch (merge, strategic merge, server-side
 * apply) and delete, with resourceVersion, uid, generation and managedFields maintained as the real server does
 * (https://kubernetes.io/docs/reference/using-api/api-concepts/, .../server-side-apply/).
 */
import { randomUUID } from 'node:crypto';
import YAML from 'yaml';
import { applyDefaults } from './defaults';
import { SEP, changedPaths, deepEqual, fieldSetOf, fromFieldsV1, isPlainObject, pathString, removePath, stripForFieldSet, toFieldsV1, type FieldSet } from './fieldsets';
import { applyMerge, mergePatch, strategicMergePatch } from './merge';
import { type ResourceType, RESOURCE_TYPES, apiVersionOf } from './resources';
import { type ManagerEntry, ObjectStore, type StoredObject } from './store';
import { errors, KubeError } from './status';
import { validate } from './validate';

export interface WriteOptions {
  fieldManager?: string;
  force?: boolean;
  dryRun?: boolean;
  /** Used to name the manager when fieldManager is absent (the real server takes the User-Agent up to '/'). */
  userAgent?: string;
  /** The authenticated user, for admission (absent for the sandbox's own writes). */
  user?: string;
}

/** A validating admission step (webhook), run after schema validation and before the object is stored. */
export type ValidatingAdmission = (req: { kind: string; operation: 'CREATE' | 'UPDATE'; object: any; oldObject?: any; user: string; dryRun: boolean }) => void;

const clone = <T>(v: T): T => structuredClone(v);
const now = () => new Date(Math.floor(Date.now() / 1000) * 1000).toISOString().replace('.000Z', 'Z');

function managerName(o: WriteOptions): string {
  if (o.fieldManager) return o.fieldManager;
  const ua = o.userAgent ?? 'unknown';
  return ua.split('/')[0] || 'unknown';
}

function renderManagedFields(managers: ManagerEntry[]): any[] {
  return managers.map((m) => ({
    manager: m.manager,
    operation: m.operation,
    apiVersion: m.apiVersion,
    time: m.time,
    fieldsType: 'FieldsV1',
    fieldsV1: toFieldsV1(m.set),
    ...(m.subresource ? { subresource: m.subresource } : {}),
  }));
}

function sameManagers(a: ManagerEntry[], b: ManagerEntry[]): boolean {
  return a.length === b.length && a.every((m, i) => m.manager === b[i]!.manager && m.operation === b[i]!.operation && m.set.size === b[i]!.set.size && [...m.set].every((p) => b[i]!.set.has(p)));
}

/** Comparable content: everything except what the server stamps on every write. */
function content(obj: any): any {
  const { metadata, ...rest } = obj;
  const { resourceVersion: _r, managedFields: _m, ...meta } = metadata ?? {};
  return { ...rest, metadata: meta };
}

function initialStatus(kind: string): any {
  switch (kind) {
    case 'DaemonSet': return { currentNumberScheduled: 0, numberMisscheduled: 0, desiredNumberScheduled: 0, numberReady: 0 };
    case 'Namespace': return { phase: 'Active' };
    case 'Pod': return { phase: 'Pending', qosClass: 'Burstable' };
    case 'PodDisruptionBudget': return { disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 };
    case 'ResourceQuota': return {};
    default: return undefined;
  }
}

/** Update-operation ownership: changed fields move to `manager`, leaving every other manager's set. */
const isListItem = (p: string) => p.split(SEP).pop()!.startsWith('k:');

function recordUpdate(t: ResourceType, old: any | undefined, next: any, managers: ManagerEntry[], manager: string, apiVersion: string): ManagerEntry[] {
  const before = old ? stripForFieldSet(old, !!t.hasStatus) : {};
  const after = stripForFieldSet(next, !!t.hasStatus);
  const changed = changedPaths(before, after);
  if (changed.size === 0) return managers;
  const present = fieldSetOf(after, 'update');
  const out = managers.map((m) => ({ ...m, set: new Set([...m.set].filter((p) => !changed.has(p))) }));
  let mine = out.find((m) => m.manager === manager && m.operation === 'Update' && !m.subresource);
  if (!mine) out.push((mine = { manager, operation: 'Update', apiVersion, time: now(), set: new Set() }));
  // only what changed (an added subtree brings its intermediate maps along, as on create)
  for (const p of changed) if (present.has(p) || isListItem(p)) mine.set.add(p);
  mine.time = now();
  mine.apiVersion = apiVersion;
  return out.filter((m) => m.set.size > 0);
}

/**
 * The managed fields a non-apply write starts from. A client may write metadata.managedFields itself
 * (fieldmanager decodeLiveOrNew; kubectl's csaupgrade does): `[{}]` resets them, a decodable list that
 * differs from the live one replaces it; absent, unchanged or undecodable keeps the live entries
 * (https://kubernetes.io/docs/reference/using-api/server-side-apply/#clearing-managedfields).
 */
function startingManagers(sent: unknown, old: StoredObject): ManagerEntry[] {
  if (!Array.isArray(sent) || sent.length === 0 || deepEqual(sent, old.obj.metadata.managedFields)) return old.managers;
  if (sent.length === 1 && isPlainObject(sent[0]) && Object.keys(sent[0]).length === 0) return [];
  try {
    return sent.map((e: any): ManagerEntry => {
      if (typeof e?.manager !== 'string' || (e.operation !== 'Apply' && e.operation !== 'Update') || e.fieldsType !== 'FieldsV1') throw new Error('not a managedFields entry');
      return { manager: e.manager, operation: e.operation, apiVersion: String(e.apiVersion ?? ''), time: String(e.time ?? now()), set: fromFieldsV1(e.fieldsV1), ...(e.subresource ? { subresource: String(e.subresource) } : {}) };
    });
  } catch {
    return old.managers;
  }
}

interface ApplyConflict {
  manager: ManagerEntry;
  path: string;
}

/** How the real server names a manager in a conflict message (fieldmanager/internal/conflict.go printManager). */
function printManager(m: ManagerEntry): string {
  let s = JSON.stringify(m.manager);
  if (m.subresource) s += ` with subresource ${JSON.stringify(m.subresource)}`;
  if (m.operation === 'Update') s += ` using ${m.apiVersion} at ${m.time}`;
  return s;
}

function conflictError(conflicts: ApplyConflict[]): KubeError {
  const causes = conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with ${printManager(c.manager)}`, field: pathString(c.path) }));
  let message: string;
  if (conflicts.length === 1) message = `Apply failed with 1 conflict: conflict with ${printManager(conflicts[0]!.manager)}: ${pathString(conflicts[0]!.path)}`;
  else {
    const byManager = new Map<string, ApplyConflict[]>();
    for (const c of conflicts) byManager.set(printManager(c.manager), [...(byManager.get(printManager(c.manager)) ?? []), c]);
    const parts: string[] = [];
    for (const m of [...byManager.keys()].sort()) {
      parts.push(`conflicts with ${m}:`);
      for (const c of byManager.get(m)!) parts.push(`- ${pathString(c.path)}`);
    }
    message = `Apply failed with ${conflicts.length} conflicts: ${parts.join('\n')}`;
  }
  return errors.applyConflict(message, causes);
}

export class ResourceRegistry {
  /** Validating admission webhooks (e.g. GKE Warden); they run for API requests, dry runs included. */
  admission?: ValidatingAdmission;

  constructor(readonly store: ObjectStore) {}

  private requireNamespace(t: ResourceType, ns: string | undefined): void {
    if (!t.namespaced) return;
    const nsType = RESOURCE_TYPES.find((r) => r.kind === 'Namespace')!;
    if (!ns || !this.store.get(nsType, undefined, ns)) throw errors.namespaceNotFound(ns ?? '');
  }

  private checkTypeMeta(t: ResourceType, body: any, requireTypeMeta: boolean): void {
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw errors.badRequest('the body of the request was not a JSON object');
    if (requireTypeMeta && (!body.apiVersion || !body.kind)) {
      throw errors.badRequest(`invalid object: Object 'Kind' is missing in '${JSON.stringify(body).slice(0, 200)}'`);
    }
    if (body.apiVersion && body.apiVersion !== apiVersionOf(t)) throw errors.badRequest(`the API version in the data (${body.apiVersion}) does not match the expected API version (${apiVersionOf(t)})`);
    if (body.kind && body.kind !== t.kind) throw errors.badRequest(`the kind in the data (${body.kind}) does not match the expected kind (${t.kind})`);
  }

  /**
   * Validates, stamps server fields and stores (unless dryRun). A write that changes nothing (content and
   * ownership) is a no-op: the stored object comes back with its resourceVersion unchanged.
   */
  commit(t: ResourceType, old: StoredObject | undefined, next: any, managers: ManagerEntry[], o: Pick<WriteOptions, 'dryRun' | 'user'> = {}): any {
    const dryRun = o.dryRun ?? false;
    next.apiVersion = apiVersionOf(t);
    next.kind = t.kind;
    if (t.hasStatus) next.status = old ? clone(old.obj.status) : initialStatus(t.kind);
    if (next.status === undefined) delete next.status;
    applyDefaults(t.kind, next);
    validate(t, next, old?.obj);
    // validating admission sees the defaulted, validated object (kube-apiserver: mutating admission,
    // validation, then validating admission); dry runs go through it too
    if (this.admission && o.user !== undefined) this.admission({ kind: t.kind, operation: old ? 'UPDATE' : 'CREATE', object: clone(next), ...(old ? { oldObject: clone(old.obj) } : {}), user: o.user, dryRun });
    const meta = next.metadata;
    if (old) {
      const o = old.obj.metadata;
      meta.uid = o.uid;
      meta.creationTimestamp = o.creationTimestamp;
      meta.generation = o.generation;
      if (o.deletionTimestamp) meta.deletionTimestamp = o.deletionTimestamp;
      if (next.spec !== undefined && !deepEqual(old.obj.spec, next.spec)) meta.generation = (o.generation ?? 1) + 1;
      if (t.kind === 'DaemonSet') {
        // apps/v1 keeps the deprecated template generation as an annotation; the controller labels pods with it
        const tg = Number(o.annotations?.['deprecated.daemonset.template.generation'] ?? 1);
        const changedTemplate = !deepEqual(old.obj.spec?.template, next.spec?.template);
        meta.annotations = { ...(meta.annotations ?? {}), 'deprecated.daemonset.template.generation': String(changedTemplate ? tg + 1 : tg) };
      }
      if (deepEqual(content(old.obj), content(next)) && sameManagers(old.managers, managers)) return clone(old.obj);
    } else {
      meta.uid = randomUUID();
      meta.creationTimestamp = now();
      meta.generation = 1;
      if (t.kind === 'DaemonSet') meta.annotations = { ...(meta.annotations ?? {}), 'deprecated.daemonset.template.generation': '1' };
    }
    if (!t.namespaced) delete meta.namespace;
    meta.managedFields = renderManagedFields(managers);
    meta.resourceVersion = dryRun ? (old?.obj.metadata.resourceVersion ?? '') : this.store.nextResourceVersion();
    if (dryRun) {
      if (!old) delete meta.resourceVersion;
      return clone(next);
    }
    this.store.put(t, { obj: next, managers }, old?.obj);
    return clone(next);
  }

  get(t: ResourceType, ns: string | undefined, name: string): any {
    const rec = this.store.get(t, ns, name);
    if (!rec) throw errors.notFound(t, name);
    return clone(rec.obj);
  }

  create(t: ResourceType, ns: string | undefined, body: any, o: WriteOptions): any {
    this.checkTypeMeta(t, body, false);
    const obj = clone(body);
    obj.metadata ??= {};
    if (!obj.metadata.name && obj.metadata.generateName) obj.metadata.name = obj.metadata.generateName + randomSuffix(5);
    if (t.namespaced) {
      if (obj.metadata.namespace && ns && obj.metadata.namespace !== ns) throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
      obj.metadata.namespace = ns ?? obj.metadata.namespace;
    }
    for (const k of ['uid', 'resourceVersion', 'creationTimestamp', 'generation', 'managedFields']) delete obj.metadata[k];
    if (!obj.metadata.name) validate(t, obj);
    this.requireNamespace(t, obj.metadata.namespace);
    if (this.store.get(t, obj.metadata.namespace, obj.metadata.name)) throw errors.alreadyExists(t, obj.metadata.name);
    const probe = clone(obj);
    applyDefaults(t.kind, probe);
    if (t.hasStatus) delete probe.status;
    const managers = recordUpdate(t, undefined, probe, [], managerName(o), apiVersionOf(t));
    return this.commit(t, undefined, obj, managers, o);
  }

  update(t: ResourceType, ns: string | undefined, name: string, body: any, o: WriteOptions): any {
    this.checkTypeMeta(t, body, false);
    if (body.metadata?.name && body.metadata.name !== name) throw errors.badRequest(`the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`);
    const old = this.store.get(t, ns, name);
    if (!old) throw errors.notFound(t, name);
    const rv = body.metadata?.resourceVersion;
    if (rv !== undefined && rv !== '' && rv !== old.obj.metadata.resourceVersion) throw errors.conflict(t, name);
    const obj = clone(body);
    obj.metadata = { ...(obj.metadata ?? {}), name, ...(t.namespaced ? { namespace: ns } : {}) };
    const probe = clone(obj);
    applyDefaults(t.kind, probe);
    const managers = recordUpdate(t, old.obj, probe, startingManagers(obj.metadata.managedFields, old), managerName(o), apiVersionOf(t));
    return this.commit(t, old, obj, managers, o);
  }

  patch(t: ResourceType, ns: string | undefined, name: string, contentType: string, raw: string, o: WriteOptions): any {
    const ct = contentType.split(';')[0]!.trim();
    if (ct === 'application/apply-patch+yaml') return this.apply(t, ns, name, raw, o);
    let patch: any;
    try {
      patch = JSON.parse(raw);
    } catch (e) {
      throw errors.badRequest(`error decoding patch: ${(e as Error).message}`);
    }
    const old = this.store.get(t, ns, name);
    if (!old) throw errors.notFound(t, name);
    let next: any;
    if (ct === 'application/merge-patch+json') next = mergePatch(old.obj, patch);
    else if (ct === 'application/strategic-merge-patch+json') next = strategicMergePatch(old.obj, patch);
    else if (ct === 'application/json-patch+json') throw errors.unsupportedMediaType(ct);
    else throw errors.unsupportedMediaType(ct);
    const rv = patch?.metadata?.resourceVersion;
    if (rv !== undefined && rv !== old.obj.metadata.resourceVersion) throw errors.conflict(t, name);
    next.metadata = { ...next.metadata, name, ...(t.namespaced ? { namespace: ns } : {}) };
    const probe = clone(next);
    applyDefaults(t.kind, probe);
    const managers = recordUpdate(t, old.obj, probe, startingManagers(next.metadata.managedFields, old), managerName(o), apiVersionOf(t));
    return this.commit(t, old, next, managers, o);
  }

  /** Server-side apply (https://kubernetes.io/docs/reference/using-api/server-side-apply/). */
  apply(t: ResourceType, ns: string | undefined, name: string, raw: string, o: WriteOptions): any {
    if (!o.fieldManager) {
      throw new KubeError({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch', reason: 'Invalid', details: { group: 'meta.k8s.io', kind: 'PatchOptions', causes: [{ reason: 'FieldValueRequired', message: 'Required value: is required for apply patch', field: 'fieldManager' }] }, code: 422 });
    }
    let config: any;
    try {
      config = YAML.parse(raw);
    } catch (e) {
      throw errors.badRequest(`error decoding YAML: ${(e as Error).message}`);
    }
    this.checkTypeMeta(t, config, true);
    config.metadata ??= {};
    if (config.metadata.name && config.metadata.name !== name) throw errors.badRequest(`the name of the object (${config.metadata.name}) does not match the name on the URL (${name})`);
    if (t.namespaced && config.metadata.namespace && config.metadata.namespace !== ns) throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
    config.metadata.name = name;
    const old = this.store.get(t, ns, name);
    if (!old) this.requireNamespace(t, ns);
    const rv = config.metadata.resourceVersion;
    if (old && rv !== undefined && rv !== old.obj.metadata.resourceVersion) throw errors.conflict(t, name);
    if (!old && rv !== undefined) throw errors.notFound(t, name);

    const body = clone(config);
    for (const k of ['uid', 'resourceVersion', 'creationTimestamp', 'generation', 'managedFields', 'namespace']) delete body.metadata[k];
    if (t.hasStatus) delete body.status;
    const newSet = fieldSetOf(stripForFieldSet(body, !!t.hasStatus), 'apply');
    const base = old ? clone(old.obj) : { metadata: { name, ...(t.namespaced ? { namespace: ns } : {}) } };
    const merged = applyMerge(base, body);
    merged.metadata = { ...merged.metadata, name, ...(t.namespaced ? { namespace: ns } : {}) };

    const managers = old ? old.managers.map((m) => ({ ...m, set: new Set(m.set) })) : [];
    const mine = managers.find((m) => m.manager === o.fieldManager && m.operation === 'Apply');
    const others = managers.filter((m) => m !== mine);
    if (mine) {
      // fields this manager applied before and no longer applies are removed, unless someone else owns them;
      // a dropped list item goes whole (its key fields with it), unless something under it is still owned
      const owned = [...newSet, ...others.flatMap((m) => [...m.set])];
      const ownedSet = new Set(owned);
      const dropped = [...mine.set].filter((p) => !ownedSet.has(p)).sort((a, b) => a.length - b.length);
      const removed: string[] = [];
      for (const p of dropped) {
        if (removed.some((r) => p.startsWith(r + SEP)) || owned.some((k) => k.startsWith(p + SEP))) continue;
        removePath(merged, p);
        removed.push(p);
      }
    }
    applyDefaults(t.kind, merged);

    const changed = old ? changedPaths(stripForFieldSet(old.obj, !!t.hasStatus), stripForFieldSet(merged, !!t.hasStatus)) : new Set<string>();
    const conflicts: ApplyConflict[] = [];
    for (const m of others) for (const p of newSet) if (changed.has(p) && m.set.has(p)) conflicts.push({ manager: m, path: p });
    if (conflicts.length > 0) {
      if (!o.force) throw conflictError(conflicts);
      for (const c of conflicts) c.manager.set.delete(c.path);
    }
    const set: FieldSet = newSet;
    let next: ManagerEntry[];
    if (mine) {
      const unchanged = mine.set.size === set.size && [...set].every((p) => mine.set.has(p));
      Object.assign(mine, { set, apiVersion: config.apiVersion, ...(unchanged && changed.size === 0 ? {} : { time: now() }) });
      next = managers;
    } else next = [...managers, { manager: o.fieldManager, operation: 'Apply', apiVersion: config.apiVersion, time: now(), set }];
    next = next.filter((m) => m.set.size > 0);
    return this.commit(t, old, merged, next, o);
  }

  delete(t: ResourceType, ns: string | undefined, name: string, o: { dryRun?: boolean; preconditionRv?: string; preconditionUid?: string }): any {
    const rec = this.store.get(t, ns, name);
    if (!rec) throw errors.notFound(t, name);
    if (o.preconditionRv && o.preconditionRv !== rec.obj.metadata.resourceVersion) throw errors.conflict(t, name);
    if (o.preconditionUid && o.preconditionUid !== rec.obj.metadata.uid) {
      throw new KubeError({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `Precondition failed: UID in precondition: ${o.preconditionUid}, UID in object meta: ${rec.obj.metadata.uid}`, reason: 'Conflict', details: { name, ...(t.group ? { group: t.group } : {}), kind: t.plural }, code: 409 });
    }
    const obj = clone(rec.obj);
    if (o.dryRun) return obj;
    if (t.kind === 'Namespace') {
      for (const rt of RESOURCE_TYPES.filter((r) => r.namespaced)) for (const r of this.store.list(rt, name)) this.store.delete(rt, name, r.obj.metadata.name);
    }
    this.store.delete(t, ns, name);
    return obj;
  }
}

const ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789';
export function randomSuffix(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += ALPHANUMS[Math.floor(Math.random() * ALPHANUMS.length)];
  return s;
}

/** Internal writes (controllers, kubelet): store the object as given, stamping a new resourceVersion. */
export function controllerWrite(store: ObjectStore, t: ResourceType, rec: StoredObject, old?: any): any {
  rec.obj.metadata.resourceVersion = store.nextResourceVersion();
  rec.obj.metadata.managedFields = renderManagedFields(rec.managers);
  store.put(t, rec, old);
  return rec.obj;
}

export { now as timestamp };
