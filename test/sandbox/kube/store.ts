import type { FieldSet } from './fieldsets';
import { type ResourceType, qualifiedResource } from './resources';

/** One metadata.managedFields entry, with its field set kept as a Set for merging. */
export interface ManagerEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  subresource?: string;
  set: FieldSet;
}

export interface StoredObject {
  obj: any;
  managers: ManagerEntry[];
}

/**
 * One write as the watch cache sees it: `obj` is the object as stored (for a delete: as it was, stamped
 * with the deletion's resourceVersion, as kube-apiserver sends DELETED objects), `old` what was there
 * before (absent for a create), `rv` the revision the write took.
 */
export type StoreChange = { type: 'put' | 'delete'; resource: ResourceType; obj: any; old?: any; rv: number };

/**
 * One cluster's objects (what etcd holds for a real API server). resourceVersion is one counter per
 * cluster, like etcd's revision: every write takes the next value.
 */
export class ObjectStore {
  private revision = 1000;
  private readonly byType = new Map<string, Map<string, StoredObject>>();
  private readonly listeners: ((c: StoreChange) => void)[] = [];

  get resourceVersion(): string {
    return String(this.revision);
  }

  nextResourceVersion(): string {
    return String(++this.revision);
  }

  onChange(fn: (c: StoreChange) => void): void {
    this.listeners.push(fn);
  }

  private table(t: ResourceType): Map<string, StoredObject> {
    const k = qualifiedResource(t);
    let m = this.byType.get(k);
    if (!m) this.byType.set(k, (m = new Map()));
    return m;
  }

  get(t: ResourceType, namespace: string | undefined, name: string): StoredObject | undefined {
    return this.table(t).get(`${t.namespaced ? namespace ?? '' : ''}/${name}`);
  }

  list(t: ResourceType, namespace?: string): StoredObject[] {
    const all = [...this.table(t).values()];
    const items = t.namespaced && namespace ? all.filter((r) => r.obj.metadata.namespace === namespace) : all;
    return items.sort((a, b) => `${a.obj.metadata.namespace ?? ''}/${a.obj.metadata.name}`.localeCompare(`${b.obj.metadata.namespace ?? ''}/${b.obj.metadata.name}`));
  }

  /** Stores `rec` (its resourceVersion already stamped from nextResourceVersion()). */
  put(t: ResourceType, rec: StoredObject, _old?: any): void {
    const key = `${t.namespaced ? rec.obj.metadata.namespace : ''}/${rec.obj.metadata.name}`;
    const old = this.table(t).get(key)?.obj;
    this.table(t).set(key, rec);
    const rv = Number(rec.obj.metadata.resourceVersion) || this.revision;
    for (const l of this.listeners) l({ type: 'put', resource: t, obj: rec.obj, ...(old ? { old } : {}), rv });
  }

  delete(t: ResourceType, namespace: string | undefined, name: string): StoredObject | undefined {
    const key = `${t.namespaced ? namespace ?? '' : ''}/${name}`;
    const rec = this.table(t).get(key);
    if (!rec) return undefined;
    this.table(t).delete(key);
    const rv = ++this.revision;
    const tombstone = { ...rec.obj, metadata: { ...rec.obj.metadata, resourceVersion: String(rv) } };
    for (const l of this.listeners) l({ type: 'delete', resource: t, obj: tombstone, old: rec.obj, rv });
    return rec;
  }
}
