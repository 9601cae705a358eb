/**
 * Field sets as server-side apply tracks them in metadata.managedFields (FieldsV1,
 * https://kubernetes.io/docs/reference/using-api/server-side-apply/#field-management). A path is a list of
 * elements `f:<field>` or `k:{"<key>":<value>}` (an item of an associative list); a set holds paths joined
 * by SEP. Lists that the real schema marks `x-kubernetes-list-type: map` are keyed (LIST_MAP_KEYS);
 * every other list is atomic (owned as a whole).
 */
export const SEP = '\u0001';
export type FieldSet = Set<string>;

const LIST_MAP_KEYS: Record<string, string[]> = {
  containers: ['name'],
  initContainers: ['name'],
  ephemeralContainers: ['name'],
  env: ['name'],
  volumes: ['name'],
  volumeMounts: ['mountPath'],
  volumeDevices: ['devicePath'],
  imagePullSecrets: ['name'],
  ownerReferences: ['uid'],
  conditions: ['type'],
  hostAliases: ['ip'],
  resourceClaims: ['name'],
  topologySpreadConstraints: ['topologyKey', 'whenUnsatisfiable'],
};

export function isPlainObject(v: unknown): v is Record<string, any> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Keys of an associative list, or undefined when the list is atomic. */
export function listKeys(field: string, items: unknown[]): string[] | undefined {
  let keys = LIST_MAP_KEYS[field];
  if (field === 'ports') keys = items.some((i) => isPlainObject(i) && 'containerPort' in i) ? ['containerPort', 'protocol'] : ['port', 'protocol'];
  if (!keys) return undefined;
  if (!items.every((i) => isPlainObject(i) && i[keys![0]!] !== undefined)) return undefined;
  return keys;
}

export function keyElement(keys: string[], item: Record<string, any>): string {
  const k: Record<string, unknown> = {};
  for (const name of [...keys].sort()) {
    const v = item[name] ?? (name === 'protocol' ? 'TCP' : undefined);
    if (v !== undefined) k[name] = v;
  }
  return `k:${JSON.stringify(k)}`;
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => deepEqual(a[k], b[k]));
  }
  return false;
}

/** Metadata the API server owns; never part of a field set (fieldmanager's stripMeta). */
export function stripForFieldSet(obj: any, hasStatus: boolean): any {
  const { apiVersion: _a, kind: _k, status, metadata, ...rest } = obj ?? {};
  const out: any = { ...rest };
  if (!hasStatus && status !== undefined) out.status = status;
  if (metadata) {
    const { name: _n, namespace: _ns, uid: _u, resourceVersion: _r, generation: _g, creationTimestamp: _c, managedFields: _m, selfLink: _s, deletionTimestamp: _d, deletionGracePeriodSeconds: _dg, ...m } = metadata;
    if (Object.keys(m).length > 0) out.metadata = m;
  }
  return out;
}

/**
 * Paths of a (stripped) object. 'apply' gives leaves and list items (what an applier owns);
 * 'update' also lists every intermediate map, as the real server records for Update operations.
 */
export function fieldSetOf(obj: any, mode: 'apply' | 'update'): FieldSet {
  const out: FieldSet = new Set();
  const walkMap = (m: Record<string, any>, prefix: string[]) => {
    for (const [k, v] of Object.entries(m)) {
      if (v === undefined) continue;
      walkValue(k, v, [...prefix, `f:${k}`]);
    }
  };
  const walkValue = (name: string, v: any, path: string[]) => {
    if (isPlainObject(v)) {
      if (Object.keys(v).length === 0 || mode === 'update') out.add(path.join(SEP));
      walkMap(v, path);
    } else if (Array.isArray(v)) {
      const keys = listKeys(name, v);
      if (!keys) {
        out.add(path.join(SEP));
        return;
      }
      for (const item of v) {
        const ip = [...path, keyElement(keys, item)];
        out.add(ip.join(SEP));
        walkMap(item, ip);
      }
    } else out.add(path.join(SEP));
  };
  walkMap(obj ?? {}, []);
  return out;
}

/** Paths whose values differ between a and b (added, removed or changed), at the granularity of fieldSetOf(…, 'apply'). */
export function changedPaths(a: any, b: any): FieldSet {
  const out: FieldSet = new Set();
  const addAll = (name: string, v: any, path: string[]) => {
    out.add(path.join(SEP));
    if (isPlainObject(v)) for (const [k, c] of Object.entries(v)) addAll(k, c, [...path, `f:${k}`]);
    else if (Array.isArray(v)) {
      const keys = listKeys(name, v);
      if (keys) for (const item of v) addAll('', item, [...path, keyElement(keys, item)]);
    }
  };
  const diffMap = (x: Record<string, any>, y: Record<string, any>, prefix: string[]) => {
    for (const k of new Set([...Object.keys(x), ...Object.keys(y)])) {
      const path = [...prefix, `f:${k}`];
      if (x[k] === undefined && y[k] === undefined) continue;
      if (x[k] === undefined) addAll(k, y[k], path);
      else if (y[k] === undefined) addAll(k, x[k], path);
      else diffValue(k, x[k], y[k], path);
    }
  };
  const diffValue = (name: string, x: any, y: any, path: string[]) => {
    if (isPlainObject(x) && isPlainObject(y)) return diffMap(x, y, path);
    if (Array.isArray(x) && Array.isArray(y)) {
      const kx = listKeys(name, x);
      const ky = listKeys(name, y);
      if (kx && ky && kx.join() === ky.join()) {
        const mx = new Map(x.map((i) => [keyElement(kx, i), i]));
        const my = new Map(y.map((i) => [keyElement(ky, i), i]));
        for (const el of new Set([...mx.keys(), ...my.keys()])) {
          const ip = [...path, el];
          if (!mx.has(el)) addAll('', my.get(el), ip);
          else if (!my.has(el)) addAll('', mx.get(el), ip);
          else diffMap(mx.get(el), my.get(el), ip);
        }
        return;
      }
    }
    if (!deepEqual(x, y)) out.add(path.join(SEP));
  };
  diffMap(stripUndefined(a), stripUndefined(b), []);
  return out;
}

function stripUndefined(o: any): Record<string, any> {
  return isPlainObject(o) ? o : {};
}

/** Removes the value at path (a field or a list item) from obj, in place. */
export function removePath(obj: any, path: string): void {
  const els = path.split(SEP);
  let parent: any = obj;
  let parentName = '';
  for (let i = 0; i < els.length - 1; i++) {
    parent = step(parent, els[i]!, parentName);
    parentName = els[i]!.startsWith('f:') ? els[i]!.slice(2) : '';
    if (parent === undefined) return;
  }
  const last = els[els.length - 1]!;
  if (last.startsWith('f:')) {
    if (isPlainObject(parent)) delete parent[last.slice(2)];
  } else if (Array.isArray(parent)) {
    const keys = listKeys(parentName, parent);
    if (!keys) return;
    const idx = parent.findIndex((i) => keyElement(keys, i) === last);
    if (idx >= 0) parent.splice(idx, 1);
  }
}

function step(v: any, el: string, name: string): any {
  if (el.startsWith('f:')) return isPlainObject(v) ? v[el.slice(2)] : undefined;
  if (!Array.isArray(v)) return undefined;
  const keys = listKeys(name, v);
  return keys ? v.find((i) => keyElement(keys, i) === el) : undefined;
}

/** `.spec.template.spec.containers[name="sensor"].image`: the path notation of the real conflict messages. */
export function pathString(path: string): string {
  return path
    .split(SEP)
    .map((el) => {
      if (el.startsWith('f:')) return `.${el.slice(2)}`;
      const k = JSON.parse(el.slice(2)) as Record<string, unknown>;
      return `[${Object.entries(k).map(([n, v]) => `${n}=${JSON.stringify(v)}`).join(',')}]`;
    })
    .join('');
}

/** FieldsV1 JSON: nested `f:`/`k:` objects, `.` marking a path that is itself in the set and has children. */
export function toFieldsV1(set: FieldSet): Record<string, any> {
  type Node = { self: boolean; children: Map<string, Node> };
  const root: Node = { self: false, children: new Map() };
  for (const p of set) {
    let n = root;
    for (const el of p.split(SEP)) {
      let c = n.children.get(el);
      if (!c) n.children.set(el, (c = { self: false, children: new Map() }));
      n = c;
    }
    n.self = true;
  }
  const emit = (n: Node): Record<string, any> => {
    const o: Record<string, any> = {};
    if (n.self && n.children.size > 0) o['.'] = {};
    for (const k of [...n.children.keys()].sort()) o[k] = emit(n.children.get(k)!);
    return o;
  };
  return emit(root);
}

/** The inverse of toFieldsV1: the set a FieldsV1 trie describes (a leaf `{}` or a `.` marks a member). */
export function fromFieldsV1(v1: unknown): FieldSet {
  const out: FieldSet = new Set();
  const walk = (node: Record<string, any>, path: string[]) => {
    for (const [k, child] of Object.entries(node)) {
      if (k === '.') {
        if (path.length > 0) out.add(path.join(SEP));
        continue;
      }
      if (!isPlainObject(child)) throw new Error(`fieldsV1: ${k} is not an object`);
      if (Object.keys(child).length === 0) out.add([...path, k].join(SEP));
      else walk(child, [...path, k]);
    }
  };
  if (!isPlainObject(v1)) throw new Error('fieldsV1 is not an object');
  walk(v1, []);
  return out;
}
