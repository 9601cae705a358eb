/**
 * Watch, as kube-apiserver serves it (https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes):
 * a 200 response whose chunked body is one JSON watch event per line, `{"type":"ADDED|MODIFIED|DELETED|BOOKMARK|ERROR","object":…}`.
 * Where it starts (the docs' "Semantics for watch" table):
 * - resourceVersion unset or "0": "Get State and Start at Most Recent" / "Start at Any": a synthetic ADDED per
 *   existing object, then every change;
 * - resourceVersion N: "Start at Exact": every change after N, from the watch cache; N older than the cache
 *   keeps is an ERROR event with a 410 Expired Status (the cacher's errWatcher), N newer than the server has
 *   seen is an ERROR event with 504 ResourceVersionTooLarge after waiting up to 3 s;
 * - sendInitialEvents=true (streaming list): the synthetic ADDEDs, then a BOOKMARK annotated
 *   `k8s.io/initial-events-end: "true"`, then the changes.
 * Label and field selectors filter as the cacher does: an object that stops matching is a DELETED event, one
 * that starts matching an ADDED. allowWatchBookmarks=true brings periodic BOOKMARK events (only the kind and
 * metadata.resourceVersion). The stream ends after timeoutSeconds (else after 30-60 min, like
 * --min-request-timeout), when the client goes away, or when the cluster is removed.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FakeKubeCluster } from './cluster';
import type { ListOptions } from './list-options';
import { parseResourceVersion } from './list-options';
import { apiVersionOf, qualifiedResource, type ResourceType } from './resources';
import { errors, type KubeError } from './status';
import { toTable } from './tables';
import type { CacheEvent } from './watch-cache';

/** How long the cacher waits for a resourceVersion it has not seen (resourceVersionTooHighRetrySeconds-ish). */
const TOO_LARGE_WAIT_MS = 3000;
const MIN_REQUEST_TIMEOUT_S = 1800;

export interface WatchRequest {
  cluster: FakeKubeCluster;
  resource: ResourceType;
  namespace?: string;
  options: ListOptions;
  matches: (obj: any) => boolean;
  table: boolean;
}

type OutEvent = { type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR'; object: any };

/** Checks the request (errors are ordinary HTTP errors), then returns what streams the events. */
export function watchStream(w: WatchRequest): (req: IncomingMessage, res: ServerResponse) => void {
  const asked = w.options.resourceVersion !== undefined && w.options.resourceVersion !== '0' ? parseResourceVersion(w.options.resourceVersion, qualifiedResource(w.resource)) : undefined;
  return (req, res) => serveWatch(w, asked, req, res);
}

function serveWatch(w: WatchRequest, asked: number | undefined, req: IncomingMessage, res: ServerResponse): void {
  const { cluster, resource: t, options: o } = w;
  const cache = cluster.watchCache;
  const inScope = (obj: any) => !t.namespaced || w.namespace === undefined || obj.metadata?.namespace === w.namespace;
  const passes = (obj: any) => obj !== undefined && inScope(obj) && w.matches(obj);

  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache, private', 'transfer-encoding': 'chunked' });
  res.flushHeaders();
  let closed = false;
  const timers: NodeJS.Timeout[] = [];
  let unsubscribe = () => {};
  const finish = () => {
    if (closed) return;
    closed = true;
    for (const tm of timers) clearTimeout(tm);
    unsubscribe();
    if (!res.writableEnded) res.end();
  };
  res.on('close', finish);
  req.on('close', () => {
    if (res.writableEnded || res.destroyed) finish();
  });
  const send = (e: OutEvent) => {
    if (closed) return;
    res.write(`${JSON.stringify(e)}\n`);
  };
  const wire = (obj: any, rv: number) => (w.table ? toTable(t.kind, [obj], String(rv)) : typed(t, obj));
  const fail = (err: KubeError) => {
    send({ type: 'ERROR', object: err.body });
    finish();
  };

  const timeoutS = o.timeoutSeconds ?? MIN_REQUEST_TIMEOUT_S * (1 + Math.random());
  timers.push(setTimeout(finish, timeoutS * 1000));

  const start = () => {
    if (closed) return;
    const current = cache.current;
    const rv = asked;
    const initial = o.sendInitialEvents === true || (o.sendInitialEvents === undefined && rv === undefined);
    if (initial) {
      for (const r of cluster.store.list(t, w.namespace)) if (passes(r.obj)) send({ type: 'ADDED', object: wire(r.obj, Number(r.obj.metadata.resourceVersion)) });
      if (o.sendInitialEvents === true) send({ type: 'BOOKMARK', object: bookmark(t, w.table, current, true) });
    } else if (rv !== undefined) {
      const replay = cache.since(rv);
      if (!replay) return fail(errors.expired(cache.expiredMessage(rv)));
      for (const e of replay) deliver(e);
    }
    unsubscribe = cache.subscribe(deliver, finish);
    if (o.allowWatchBookmarks) {
      const every = cluster.options.watch?.bookmarkIntervalMs ?? 60_000;
      const tick = () => {
        send({ type: 'BOOKMARK', object: bookmark(t, w.table, cache.current, false) });
        timers.push(setTimeout(tick, every));
      };
      timers.push(setTimeout(tick, every));
    }
  };

  const deliver = (e: CacheEvent) => {
    const out = convert(e);
    if (out) send(out);
  };
  const convert = (e: CacheEvent): OutEvent | undefined => {
    if (e.resource !== t) return undefined;
    const now = e.type !== 'DELETED' && passes(e.object);
    const before = e.prev !== undefined && passes(e.prev);
    if (e.type === 'DELETED') return before ? { type: 'DELETED', object: wire(e.object, e.rv) } : undefined;
    if (now && before) return { type: 'MODIFIED', object: wire(e.object, e.rv) };
    if (now) return { type: 'ADDED', object: wire(e.object, e.rv) };
    // left the selection: the previous state, carrying this event's resourceVersion
    if (before) return { type: 'DELETED', object: wire({ ...e.prev, metadata: { ...e.prev.metadata, resourceVersion: String(e.rv) } }, e.rv) };
    return undefined;
  };

  if (asked !== undefined && asked > cache.current) {
    // wait for the cache to catch up, as the cacher does, then give up with ResourceVersionTooLarge
    const deadline = Date.now() + TOO_LARGE_WAIT_MS;
    const poll = () => {
      if (closed) return;
      if (asked <= cache.current) return start();
      if (Date.now() >= deadline) return fail(errors.tooLargeResourceVersion(asked, cache.current));
      timers.push(setTimeout(poll, 50));
    };
    poll();
    return;
  }
  start();
}

/** Objects in watch events carry apiVersion and kind (list items do not). */
function typed(t: ResourceType, obj: any): any {
  return { apiVersion: apiVersionOf(t), kind: t.kind, ...obj };
}

/** A bookmark carries only the kind and metadata.resourceVersion (as a Table when the watch asked for tables). */
function bookmark(t: ResourceType, table: boolean, rv: number, initialEventsEnd: boolean): any {
  const metadata = { resourceVersion: String(rv), ...(initialEventsEnd ? { annotations: { 'k8s.io/initial-events-end': 'true' } } : {}) };
  if (table) return { kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata, columnDefinitions: [], rows: [] };
  return { kind: t.kind, apiVersion: apiVersionOf(t), metadata };
}
