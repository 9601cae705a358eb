/**
 * The REST surface of one virtual cluster: discovery, resource paths and verbs as in
 * https://kubernetes.io/docs/reference/using-api/api-concepts/ (collections, items, namespaced paths,
 * labelSelector / fieldSelector / limit+continue, resourceVersion + resourceVersionMatch, watch, dryRun,
 * fieldManager, force).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FakeKubeCluster } from './cluster';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from './selectors';
import { apiGroupDoc, apiGroupListDoc, apiResourceListDoc, apiVersionOf, apiVersionsDoc, qualifiedResource, resourceByPath, type ResourceType } from './resources';
import { errors, KubeError, successStatus } from './status';
import { toTable, wantsTable } from './tables';
import { timestamp } from './registry';
import { parseListOptions, parseResourceVersion, type ListOptions } from './list-options';
import { watchStream } from './watch';
import { openApiV3Document, openApiV3Index } from './openapi';
import { decodeProtobufObject, PROTOBUF } from './protobuf';

const MAX_BODY = 3 * 1024 * 1024;

export interface Reply {
  status: number;
  body: unknown;
  contentType?: string;
  headers?: Record<string, string>;
  /** A streamed answer (watch): writes its own status line and body. */
  stream?: (req: IncomingMessage, res: ServerResponse) => void;
}

export async function readBody(req: IncomingMessage): Promise<string> {
  return (await readRawBody(req)).toString('utf8');
}

async function readRawBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) throw new KubeError({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Request entity too large: limit is 3145728', reason: 'RequestEntityTooLarge', code: 413 });
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

/** A create/update body: JSON, or protobuf from kubectl's typed clients (protobuf.ts). */
async function readObject(req: IncomingMessage, t: ResourceType): Promise<any> {
  const raw = await readRawBody(req);
  if ((req.headers['content-type'] ?? '').split(';')[0]!.trim() === PROTOBUF) return decodeProtobufObject(raw, t.kind);
  return parseJson(raw.toString('utf8'));
}

function json(status: number, body: unknown, contentType = 'application/json'): Reply {
  return { status, body, contentType };
}

function parseJson(raw: string): any {
  if (raw.trim() === '') return {};
  try {
    return JSON.parse(raw);
  } catch (e) {
    throw errors.badRequest(`couldn't get version/kind; json parse error: ${(e as Error).message}`);
  }
}

const dryRunOf = (q: URLSearchParams) => q.getAll('dryRun').includes('All');

/** Routes one authenticated request for `cluster`; `path` is the part after /clusters/<id>. */
export async function route(cluster: FakeKubeCluster, req: IncomingMessage, path: string, q: URLSearchParams, user?: string): Promise<Reply> {
  const seg = path.split('/').filter(Boolean).map(decodeURIComponent);
  const method = req.method ?? 'GET';
  if (seg.length === 0) return json(200, { paths: ['/api', '/api/v1', '/apis', '/openapi/v3', '/version', ...apiGroupListDoc().groups.flatMap((g) => [`/apis/${g.name}`, ...g.versions.map((v) => `/apis/${v.groupVersion}`)])] });
  if (seg[0] === 'version' && seg.length === 1) {
    return json(200, { major: '1', minor: '32', gitVersion: 'v1.32.0-sensorfleet-sandbox', gitCommit: '0000000000000000000000000000000000000000', gitTreeState: 'clean', buildDate: '2026-01-01T00:00:00Z', goVersion: 'go1.23.4', compiler: 'gc', platform: 'linux/amd64' });
  }
  if (seg[0] === 'openapi' && seg[1] === 'v3' && method === 'GET') {
    if (seg.length === 2) return json(200, openApiV3Index(new URL(cluster.endpoint).pathname));
    const doc = openApiV3Document(seg.slice(2).join('/'));
    if (!doc) throw errors.noRoute();
    return { status: 200, body: doc, contentType: 'application/json', headers: { 'cache-control': 'public, immutable', etag: `"${q.get('hash') ?? ''}"` } };
  }
  let group: string;
  let version: string;
  let rest: string[];
  if (seg[0] === 'api') {
    if (seg.length === 1) return json(200, apiVersionsDoc());
    group = '';
    version = seg[1]!;
    rest = seg.slice(2);
  } else if (seg[0] === 'apis') {
    if (seg.length === 1) return json(200, apiGroupListDoc());
    if (seg.length === 2) {
      const g = apiGroupDoc(seg[1]!);
      if (!g) throw errors.noRoute();
      return json(200, g);
    }
    group = seg[1]!;
    version = seg[2]!;
    rest = seg.slice(3);
  } else throw errors.noRoute();

  if (rest.length === 0) {
    const doc = apiResourceListDoc(group, version);
    if (!doc) throw errors.noRoute();
    return json(200, doc);
  }

  // the deprecated watch paths: /api/v1/watch/namespaces/<ns>/pods[/<name>]
  const watchPath = rest[0] === 'watch' && rest.length > 1;
  if (watchPath) rest = rest.slice(1);
  let ns: string | undefined;
  let plural: string;
  let name: string | undefined;
  let sub: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3 && !(rest.length === 3 && rest[2] === 'status')) {
    ns = rest[1];
    plural = rest[2]!;
    name = rest[3];
    sub = rest[4];
    if (rest.length > 5) throw errors.noRoute();
  } else {
    plural = rest[0]!;
    name = rest[1];
    sub = rest[2];
    if (rest.length > 3) throw errors.noRoute();
  }
  const t = resourceByPath(group, version, plural);
  if (!t) throw errors.noRoute();
  if (ns !== undefined && !t.namespaced) throw errors.noRoute();
  if (sub !== undefined && !(sub === 'status' && t.hasStatus)) throw errors.noRoute();
  if (sub === 'status' && method !== 'GET') throw errors.methodNotSupported(t, method.toLowerCase());

  const reg = cluster.registry;
  const opts = { fieldManager: q.get('fieldManager') ?? undefined, force: q.get('force') === 'true', dryRun: dryRunOf(q), userAgent: req.headers['user-agent'], ...(user !== undefined ? { user } : {}) };

  if (watchPath) {
    if (method !== 'GET' || sub !== undefined) throw errors.noRoute();
    const wq = new URLSearchParams(q);
    if (name !== undefined) wq.set('fieldSelector', [`metadata.name=${name}`, q.get('fieldSelector')].filter(Boolean).join(','));
    return list(cluster, req, t, ns, wq, true);
  }
  if (name === undefined) {
    if (method === 'GET') return list(cluster, req, t, ns, q);
    if (method === 'POST') {
      if (t.namespaced && ns === undefined) throw errors.methodNotSupported(t, 'create');
      const created = reg.create(t, ns, await readObject(req, t), opts);
      return json(opts.dryRun ? 200 : 201, created);
    }
    throw errors.methodNotSupported(t, method === 'DELETE' ? 'deletecollection' : method.toLowerCase());
  }
  if (t.namespaced && ns === undefined) throw errors.noRoute();

  switch (method) {
    case 'GET': {
      const obj = reg.get(t, ns, name);
      return wantsTable(req.headers.accept) ? json(200, toTable(t.kind, [obj], obj.metadata.resourceVersion), 'application/json;as=Table;v=v1;g=meta.k8s.io') : json(200, obj);
    }
    case 'PUT':
      return json(200, reg.update(t, ns, name, await readObject(req, t), opts));
    case 'PATCH': {
      const ct = req.headers['content-type'] ?? '';
      const existed = !!cluster.store.get(t, ns, name);
      const out = reg.patch(t, ns, name, ct, await readBody(req), opts);
      return json(!existed && !opts.dryRun ? 201 : 200, out);
    }
    case 'DELETE': {
      const body = parseJson(await readBody(req));
      const deleted = reg.delete(t, ns, name, {
        dryRun: opts.dryRun || (Array.isArray(body.dryRun) && body.dryRun.includes('All')),
        preconditionRv: body.preconditions?.resourceVersion,
        preconditionUid: body.preconditions?.uid,
      });
      // graceful kinds come back as the object being deleted; the rest as a Success Status
      if (t.kind === 'Namespace' || t.kind === 'Pod') {
        deleted.metadata.deletionTimestamp = timestamp();
        deleted.metadata.deletionGracePeriodSeconds = t.kind === 'Pod' ? 30 : 0;
        if (t.kind === 'Namespace') deleted.status = { phase: 'Terminating' };
        return json(200, deleted);
      }
      return json(200, successStatus(t, name, deleted.metadata.uid));
    }
    default:
      throw errors.methodNotSupported(t, method.toLowerCase());
  }
}

function list(cluster: FakeKubeCluster, req: IncomingMessage, t: ResourceType, ns: string | undefined, q: URLSearchParams, forceWatch = false): Reply {
  const o = parseListOptions(q, forceWatch);
  const ls = o.labelSelector ? parseLabelSelector(o.labelSelector) : [];
  const fs = o.fieldSelector ? parseFieldSelector(o.fieldSelector, t.kind) : [];
  const matches = (obj: any) => matchesLabels(ls, obj.metadata?.labels) && matchesFields(fs, obj);
  const table = wantsTable(req.headers.accept);
  if (o.watch) return { status: 200, body: undefined, stream: watchStream({ cluster, resource: t, ...(ns !== undefined ? { namespace: ns } : {}), options: o, matches, table }) };

  const { rv, objects } = listState(cluster, t, o);
  let items = objects.filter((obj) => (!t.namespaced || ns === undefined || obj.metadata.namespace === ns) && matches(obj));
  const meta: Record<string, unknown> = { resourceVersion: String(rv) };
  // limit/continue paging (https://kubernetes.io/docs/reference/using-api/api-concepts/#retrieving-large-results-sets-in-chunks):
  // every page is read at the first page's resourceVersion, which the continue token carries
  const startKey = o.continue ? decodeContinue(o.continue).start : undefined;
  if (startKey !== undefined) {
    // "<key>\0" continues after <key>; the order is the store's (ObjectStore.list)
    const exclusive = startKey.endsWith('\u0000');
    const base = exclusive ? startKey.slice(0, -1) : startKey;
    items = items.filter((obj) => (exclusive ? keyOf(obj).localeCompare(base) > 0 : keyOf(obj).localeCompare(base) >= 0));
  }
  if (o.limit > 0 && items.length > o.limit) {
    meta.remainingItemCount = items.length - o.limit;
    meta.continue = encodeContinue(rv, `${keyOf(items[o.limit - 1])}\u0000`);
    items = items.slice(0, o.limit);
  }
  if (table) return json(200, { ...toTable(t.kind, items, String(rv)), metadata: meta }, 'application/json;as=Table;v=v1;g=meta.k8s.io');
  // items of a typed list carry no apiVersion/kind on the wire
  const bare = items.map((obj) => {
    const { apiVersion: _a, kind: _k, ...rest } = obj;
    return rest;
  });
  return json(200, { kind: `${t.kind}List`, apiVersion: apiVersionOf(t), metadata: meta, items: bare });
}

const keyOf = (obj: any) => `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;

/**
 * Which state a list reads ("Semantics for get and list"): unset = most recent; "0" = any (here: the most
 * recent); N with NotOlderThan (or no match) = most recent once the server has seen N; N with Exact = the
 * state at N from the watch cache, 410 Expired when N is no longer kept. A continue token pins its page's
 * resourceVersion the same way.
 */
function listState(cluster: FakeKubeCluster, t: ResourceType, o: ListOptions): { rv: number; objects: any[] } {
  const cache = cluster.watchCache;
  const current = cache.current;
  const latest = () => ({ rv: current, objects: cluster.store.list(t).map((r) => r.obj) });
  if (o.continue) {
    const { rv } = decodeContinue(o.continue);
    const objects = cache.snapshotAt(t, rv);
    if (!objects) throw errors.expired(INCONSISTENT_CONTINUE);
    return { rv, objects };
  }
  if (o.resourceVersion === undefined || o.resourceVersion === '0') return latest();
  const n = parseResourceVersion(o.resourceVersion, qualifiedResource(t));
  if (n > current) throw errors.tooLargeResourceVersion(n, current);
  if (o.resourceVersionMatch !== 'Exact') return latest();
  const objects = cache.snapshotAt(t, n);
  if (!objects) throw errors.expired(cache.expiredMessage(n));
  return { rv: n, objects };
}

const INCONSISTENT_CONTINUE =
  'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.';

/** The storage layer's continue token: base64url (no padding) of {"v":"meta.k8s.io/v1","rv":N,"start":"<key>\0"}. */
function encodeContinue(rv: number, start: string): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv, start })).toString('base64url');
}

function decodeContinue(token: string): { rv: number; start: string } {
  try {
    const c = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { v?: string; rv?: number; start?: string };
    if (c.v !== 'meta.k8s.io/v1') throw new Error('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
    if (typeof c.rv !== 'number' || c.rv <= 0 || typeof c.start !== 'string') throw new Error('continue key is not valid: incorrect encoded start resourceVersion');
    return { rv: c.rv, start: c.start };
  } catch (e) {
    throw errors.badRequest(e instanceof SyntaxError ? 'continue key is not valid: invalid character in the encoded key' : (e as Error).message);
  }
}
