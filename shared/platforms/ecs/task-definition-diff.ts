/**
 * Compares a desired task definition with the one a service runs, after normalising what AWS adds
 * or defaults (after gitops-engine's diff normalizers): revision, status, ARN, registeredAt/By,
 * compatibilities and requiresAttributes are not part of the comparison; cpu/memory strings vs
 * numbers, empty arrays, `false` flags, container `cpu: 0`, `essential` (default true) and network
 * mode `bridge` (the EC2 default) are normalised; order-free lists (environment, secrets, mount
 * points, volumes) are sorted.
 */

import type { FieldChange } from '../types';

/** The fields that describe what runs. Everything else DescribeTaskDefinition returns is AWS bookkeeping. */
const TASK_DEFINITION_FIELDS = [
  'family',
  'taskRoleArn',
  'executionRoleArn',
  'networkMode',
  'containerDefinitions',
  'volumes',
  'placementConstraints',
  'requiresCompatibilities',
  'cpu',
  'memory',
  'pidMode',
  'ipcMode',
  'proxyConfiguration',
  'runtimePlatform',
  'ephemeralStorage',
] as const;

/** Lists whose order ECS ignores, and the key that identifies an entry. */
const KEYED_LISTS: Record<string, string> = {
  containerDefinitions: 'name',
  volumes: 'name',
  environment: 'name',
  secrets: 'name',
  mountPoints: 'containerPath',
  portMappings: 'containerPort',
  ulimits: 'name',
  volumesFrom: 'sourceContainer',
  dependsOn: 'containerName',
};

export interface FieldDifference {
  path: string;
  want: unknown;
  have: unknown;
}

export function comparableTaskDefinition(td: Record<string, any>): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  for (const field of TASK_DEFINITION_FIELDS) if (td[field] !== undefined && td[field] !== null) picked[field] = td[field];
  if (picked.networkMode === 'bridge') delete picked.networkMode;
  if (picked.cpu !== undefined) picked.cpu = String(picked.cpu);
  if (picked.memory !== undefined) picked.memory = String(picked.memory);
  if (Array.isArray(picked.requiresCompatibilities)) picked.requiresCompatibilities = [...(picked.requiresCompatibilities as string[])].sort();
  if (Array.isArray(picked.containerDefinitions)) picked.containerDefinitions = (picked.containerDefinitions as Record<string, any>[]).map(comparableContainer);
  return normaliseValue(picked) as Record<string, unknown>;
}

function comparableContainer(c: Record<string, any>): Record<string, unknown> {
  const out: Record<string, any> = { ...c };
  if (out.cpu === 0) delete out.cpu;
  if (out.essential === undefined) out.essential = true;
  return out;
}

/** Drops empties and default `false` flags, sorts keyed lists; keeps `essential: false` (its default is true). */
function normaliseValue(value: unknown, key?: string): unknown {
  if (Array.isArray(value)) {
    const items = value.map((v) => normaliseValue(v)).filter((v) => v !== undefined);
    const id = key ? KEYED_LISTS[key] : undefined;
    if (id) items.sort((a, b) => String((a as any)?.[id]).localeCompare(String((b as any)?.[id])));
    return items.length ? items : undefined;
  }
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (v === false && k !== 'essential') continue;
      const n = normaliseValue(v, k);
      if (n !== undefined) out[k] = n;
    }
    return Object.keys(out).length ? sortKeys(out) : undefined;
  }
  return value === null ? undefined : value;
}

function sortKeys(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
}

/** Differences between two normalised task definitions, each with a readable path such as containerDefinitions[qualys-container-sensor].image. */
export function diffTaskDefinitions(want: Record<string, any>, have: Record<string, any>): FieldDifference[] {
  const out: FieldDifference[] = [];
  diffValue(comparableTaskDefinition(want), comparableTaskDefinition(have), '', undefined, out);
  return out;
}

function diffValue(want: unknown, have: unknown, path: string, key: string | undefined, out: FieldDifference[]): void {
  if (JSON.stringify(want) === JSON.stringify(have)) return;
  const id = key ? KEYED_LISTS[key] : undefined;
  if (id && Array.isArray(want ?? []) && Array.isArray(have ?? [])) {
    const w = byKey((want ?? []) as any[], id);
    const h = byKey((have ?? []) as any[], id);
    for (const k of new Set([...w.keys(), ...h.keys()])) diffValue(w.get(k), h.get(k), `${path}[${k}]`, undefined, out);
    return;
  }
  if (isPlainObject(want) && isPlainObject(have)) {
    for (const k of new Set([...Object.keys(want), ...Object.keys(have)])) {
      diffValue(want[k], have[k], path ? `${path}.${k}` : k, k, out);
    }
    return;
  }
  out.push({ path, want, have });
}

function byKey(items: any[], id: string): Map<string, unknown> {
  return new Map(items.map((item, i) => [String(item?.[id] ?? i), item]));
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

/** Environment variables whose values may be shown in reasons; any other value may be a secret someone pasted in. */
const SHOWN_ENVIRONMENT = new Set(['POD_URL']);

/** "containerDefinitions[x].image want a:1 have a:0" — values shown compactly; absent shown as (none); env values hidden. */
export function describeDifference(d: FieldDifference): string {
  const env = /\.environment\[([^\]]+)\]/.exec(d.path);
  if (env && !SHOWN_ENVIRONMENT.has(env[1]!)) {
    return `${d.path} want ${d.want === undefined ? '(none)' : '(value hidden)'} have ${d.have === undefined ? '(none)' : '(value hidden)'}`;
  }
  return `${d.path} want ${show(d.want)} have ${show(d.have)}`;
}

function show(v: unknown): string {
  if (v === undefined) return '(none)';
  const text = typeof v === 'string' ? v : JSON.stringify(v);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/**
 * The differences as the structured changes a plan's diff shows. Environment values stay hidden as
 * in describeDifference, also inside a whole container or list that changes.
 */
export function fieldChanges(diffs: FieldDifference[]): FieldChange[] {
  return diffs.map((d) => {
    const env = /\.environment\[([^\]]+)\]/.exec(d.path);
    if (env && !SHOWN_ENVIRONMENT.has(env[1]!)) return { path: d.path, secret: true };
    return { path: d.path, ...(d.have !== undefined ? { from: hideEnvironment(d.have) } : {}), ...(d.want !== undefined ? { to: hideEnvironment(d.want) } : {}) };
  });
}

function hideEnvironment(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(hideEnvironment);
  if (!isPlainObject(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    out[k] =
      k === 'environment' && Array.isArray(x)
        ? x.map((e) => (isPlainObject(e) && !SHOWN_ENVIRONMENT.has(String(e.name)) ? { ...e, value: '(value hidden)' } : e))
        : hideEnvironment(x);
  }
  return out;
}
