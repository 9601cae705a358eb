/**
 * One cluster's change history, what kube-apiserver's watch cache keeps in front of etcd: every write as
 * an event with the resourceVersion it took, for the last `capacity` writes. Watches that start from a
 * resourceVersion replay from here; lists at an exact resourceVersion (and continue tokens, which pin
 * one) are rebuilt from it. A resourceVersion older than what is kept is "too old": 410 Gone, reason
 * Expired, as after etcd compaction (https://kubernetes.io/docs/reference/using-api/api-concepts/#410-gone-responses).
 */
import type { ResourceType } from './resources';
import type { ObjectStore, StoreChange } from './store';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface CacheEvent {
  type: WatchEventType;
  resource: ResourceType;
  /** The object after the write (for DELETED: the last state, stamped with the deletion's resourceVersion). */
  object: any;
  /** The object before the write (MODIFIED, DELETED). */
  prev?: any;
  rv: number;
}

/** The real cache keeps at least 100 events and grows with load; this one keeps a fixed number. */
export const DEFAULT_HISTORY = 2000;

const keyOf = (o: any) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name}`;

export class WatchCache {
  private readonly events: CacheEvent[] = [];
  private compactedRv: number;
  private readonly watchers = new Set<(e: CacheEvent) => void>();
  private readonly closers = new Set<() => void>();

  constructor(
    private readonly store: ObjectStore,
    private readonly capacity = DEFAULT_HISTORY,
  ) {
    this.compactedRv = Number(store.resourceVersion);
    store.onChange((c) => this.record(c));
  }

  /** The newest resourceVersion that is too old to start from is the one before this; at or after it is fine. */
  get oldestAvailable(): number {
    return this.compactedRv;
  }

  get current(): number {
    return Number(this.store.resourceVersion);
  }

  isExpired(rv: number): boolean {
    return rv < this.compactedRv;
  }

  /** cacher's message: "too old resource version: <asked> (<oldest kept - 1>)". */
  expiredMessage(rv: number): string {
    return `too old resource version: ${rv} (${this.compactedRv})`;
  }

  private record(c: StoreChange): void {
    const e: CacheEvent = {
      type: c.type === 'delete' ? 'DELETED' : c.old ? 'MODIFIED' : 'ADDED',
      resource: c.resource,
      object: structuredClone(c.obj),
      ...(c.old ? { prev: structuredClone(c.old) } : {}),
      rv: c.rv,
    };
    this.events.push(e);
    while (this.events.length > this.capacity) this.compactedRv = this.events.shift()!.rv;
    for (const w of [...this.watchers]) w(e);
  }

  /** Events after `rv` (oldest first), or undefined when some of them are no longer kept. */
  since(rv: number): CacheEvent[] | undefined {
    if (this.isExpired(rv)) return undefined;
    let i = this.events.length;
    while (i > 0 && this.events[i - 1]!.rv > rv) i--;
    return this.events.slice(i);
  }

  /** The objects of one type as they were at `rv` (sorted like a list), or undefined when `rv` is too old. */
  snapshotAt(t: ResourceType, rv: number): any[] | undefined {
    if (this.isExpired(rv)) return undefined;
    const byKey = new Map<string, any>(this.store.list(t).map((r) => [keyOf(r.obj), r.obj]));
    for (let i = this.events.length - 1; i >= 0 && this.events[i]!.rv > rv; i--) {
      const e = this.events[i]!;
      if (e.resource !== t) continue;
      if (e.type === 'ADDED') byKey.delete(keyOf(e.object));
      else byKey.set(keyOf(e.prev), e.prev);
    }
    return [...byKey.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, o]) => o);
  }

  /** Live events from now on; returns unsubscribe. `onClose` runs when the cluster goes away. */
  subscribe(fn: (e: CacheEvent) => void, onClose: () => void): () => void {
    this.watchers.add(fn);
    this.closers.add(onClose);
    return () => {
      this.watchers.delete(fn);
      this.closers.delete(onClose);
    };
  }

  /** Forgets the history up to now, as an etcd compaction does: any earlier resourceVersion is too old. */
  compact(): void {
    this.events.length = 0;
    this.compactedRv = this.current;
  }

  close(): void {
    for (const c of [...this.closers]) c();
    this.watchers.clear();
    this.closers.clear();
  }
}
