/**
 * After a create, our fields are owned as server-side apply owns them.
 *
 * A POST records its field manager with operation Update, and server-side apply prunes only fields its
 * own Apply entry owns and no other entry does: left as it is, our own Update entry would keep every
 * field we created forever, so a field a later manifest drops (a hostPath volume, an env var) would stay
 * on the object (https://kubernetes.io/docs/reference/using-api/server-side-apply/#field-management).
 * So right after the create our Update entry becomes our Apply entry, the way kubectl upgrades objects
 * from client-side to server-side apply (k8s.io/client-go/util/csaupgrade): the managedFields are
 * written back with a merge patch, with the resourceVersion as the precondition. The API server takes
 * managedFields a client sends on a non-apply write as given (fieldmanager decodeLiveOrNew).
 */
import type { KubeClient } from './client';
import { isConflict } from './errors';
import { FIELD_MANAGER, refOf, type KubeObject } from './types';

interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  subresource?: string;
  fieldsV1?: Record<string, unknown>;
  [key: string]: unknown;
}

const ATTEMPTS = 5;

export async function ownAsApplier(client: KubeClient, obj: KubeObject): Promise<void> {
  let current: KubeObject | undefined = obj;
  for (let attempt = 1; current; attempt++) {
    const managedFields = asApplier((current.metadata.managedFields ?? []) as ManagedFieldsEntry[]);
    if (!managedFields) return;
    try {
      await client.patch(refOf(current), { metadata: { resourceVersion: current.metadata.resourceVersion, managedFields } });
      return;
    } catch (err) {
      // a controller wrote the object meanwhile (a DaemonSet's status): read it again and redo the swap
      if (!isConflict(err) || attempt >= ATTEMPTS) throw err;
      current = await client.get(refOf(current));
    }
  }
}

const ours = (e: ManagedFieldsEntry, operation: string) => e.manager === FIELD_MANAGER && e.operation === operation && !e.subresource;

/** The entries with our Update entry folded into our Apply entry; undefined when there is nothing to change. */
export function asApplier(entries: ManagedFieldsEntry[]): ManagedFieldsEntry[] | undefined {
  const update = entries.find((e) => ours(e, 'Update'));
  if (!update) return undefined;
  const apply = entries.find((e) => ours(e, 'Apply'));
  const fieldsV1 = union(apply?.fieldsV1 ?? {}, withoutMapMembers(update.fieldsV1 ?? {}));
  const merged: ManagedFieldsEntry = { ...(apply ?? update), operation: 'Apply', fieldsType: 'FieldsV1', fieldsV1 };
  return entries.flatMap((e) => (e === update ? [merged] : e === apply ? [] : [e]));
}

/**
 * An Update entry also owns each map it touched ("." under f:labels); an applier owns the map's entries,
 * not the map. List items ("k:…") keep their "." as in Apply entries.
 */
function withoutMapMembers(node: Record<string, unknown>, key = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, child] of Object.entries(node)) {
    if (k === '.' && key.startsWith('f:') && Object.keys(node).length > 1) continue;
    out[k] = isObject(child) ? withoutMapMembers(child, k) : child;
  }
  return out;
}

/** FieldsV1 sets are tries: their union is a deep merge. */
function union(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = isObject(out[k]) && isObject(v) ? union(out[k] as Record<string, unknown>, v) : (out[k] ?? v);
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
