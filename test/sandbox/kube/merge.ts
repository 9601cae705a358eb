/**
 * The three merge rules the API server knows:
 * - applyMerge: server-side apply's structural merge (associative lists merged by key, atomic lists replaced);
 * - mergePatch: JSON merge patch, RFC 7386 (`application/merge-patch+json`);
 * - strategicMergePatch: `application/strategic-merge-patch+json` with patchMergeKey lists and `$patch` directives
 *   (https://kubernetes.io/docs/tasks/manage-kubernetes-objects/update-api-object-kubectl-patch/).
 */
import { isPlainObject, keyElement, listKeys } from './fieldsets';

const clone = <T>(v: T): T => structuredClone(v);

export function applyMerge(live: any, config: any, name = ''): any {
  if (isPlainObject(live) && isPlainObject(config)) {
    const out: Record<string, any> = clone(live);
    for (const [k, v] of Object.entries(config)) {
      if (v === null) delete out[k];
      else out[k] = applyMerge(live[k], v, k);
    }
    return out;
  }
  if (Array.isArray(live) && Array.isArray(config)) {
    const keys = listKeys(name, config);
    const liveKeys = listKeys(name, live);
    if (keys && liveKeys && keys.join() === liveKeys.join()) {
      const liveByKey = new Map(live.map((i) => [keyElement(keys, i), i]));
      const cfgKeys = new Set(config.map((i) => keyElement(keys, i)));
      const merged = config.map((i) => {
        const l = liveByKey.get(keyElement(keys, i));
        return l ? applyMerge(l, i) : clone(i);
      });
      return [...merged, ...live.filter((i) => !cfgKeys.has(keyElement(keys, i))).map(clone)];
    }
  }
  return clone(config);
}

export function mergePatch(target: any, patch: any): any {
  if (!isPlainObject(patch)) return clone(patch);
  const out: Record<string, any> = isPlainObject(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** Merge keys (patchMergeKey) from the Go types; lists without one are replaced. */
const SMP_KEYS: Record<string, string> = {
  containers: 'name', initContainers: 'name', ephemeralContainers: 'name', env: 'name', volumes: 'name',
  volumeMounts: 'mountPath', imagePullSecrets: 'name', ownerReferences: 'uid', conditions: 'type', hostAliases: 'ip',
  volumeDevices: 'devicePath', ports: 'containerPort',
};

export function strategicMergePatch(target: any, patch: any, name = ''): any {
  if (!isPlainObject(patch)) return clone(patch);
  if (patch.$patch === 'replace') {
    const { $patch: _p, ...rest } = patch;
    return stripDirectives(rest);
  }
  if (patch.$patch === 'delete') return undefined;
  const out: Record<string, any> = isPlainObject(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$setElementOrder/') || k === '$retainKeys' || k === '$patch') continue;
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const f = k.slice('$deleteFromPrimitiveList/'.length);
      if (Array.isArray(out[f])) out[f] = out[f].filter((x: unknown) => !(v as unknown[]).includes(x));
      continue;
    }
    if (v === null) {
      delete out[k];
      continue;
    }
    const key = SMP_KEYS[k];
    if (Array.isArray(v) && key && Array.isArray(out[k])) {
      const list: any[] = clone(out[k]);
      for (const item of v) {
        if (!isPlainObject(item) || item[key] === undefined) continue;
        const idx = list.findIndex((l) => isPlainObject(l) && l[key] === item[key]);
        if (item.$patch === 'delete') {
          if (idx >= 0) list.splice(idx, 1);
        } else if (idx >= 0) list[idx] = strategicMergePatch(list[idx], item, k);
        else list.push(stripDirectives(item));
      }
      out[k] = list;
    } else if (isPlainObject(v)) {
      const merged = strategicMergePatch(out[k], v, k);
      if (merged === undefined) delete out[k];
      else out[k] = merged;
    } else out[k] = stripDirectives(v);
  }
  void name;
  return out;
}

function stripDirectives(v: any): any {
  if (Array.isArray(v)) return v.map(stripDirectives);
  if (!isPlainObject(v)) return v;
  const out: Record<string, any> = {};
  for (const [k, c] of Object.entries(v)) if (!k.startsWith('$')) out[k] = stripDirectives(c);
  return out;
}

