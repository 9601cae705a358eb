/**
 * The REST surface of one virtual cluster: discovery, resource paths and verbs as in
 * https://kubernetes.io/docs/reference/using-api/api-concepts/ (collections, items, namespaced paths,
 * labelSelector / fieldSelector / limit+continue, dryRun, fieldManager, force).
 */
import type { IncomingMessage } from 'node:http';
import type { FakeKubeCluster } from './cluster';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from './selectors';
import { apiGroupDoc, apiGroupListDoc, apiResourceListDoc, apiVersionOf, apiVersionsDoc, resourceByPath, type ResourceType } from './resources';
import { errors, KubeError, successStatus } from './status';
import { toTable, wantsTable } from './tables';
import { timestamp } from './registry';

const MAX_BODY = 3 * 1024 * 1024;

export interface Reply {
  status: number;
  body: unknown;
  contentType?: string;
  headers?: Record<string, string>;
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) throw new KubeError({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Request entity too large: limit is 3145728', reason: 'RequestEntityTooLarge', code: 413 });
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
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
  if (seg.length === 0) return json(200, { paths: ['/api', '/api/v1', '/apis', '/version', ...apiGroupListDoc().groups.flatMap((g) => [`/apis/${g.name}`, ...g.versions.map((v) => `/apis/${v.groupVersion}`)])] });
  if (seg[0] === 'version' && seg.length === 1) {
    return json(200, { major: '1', minor: '32', gitVersion: 'v1.32.0-sensorfleet-sandbox', gitCommit: '0000000000000000000000000000000000000000', gitTreeState: 'clean', buildDate: '2026-01-01T00:00:00Z', goVersion: 'go1.23.4', compiler: 'gc', platform: 'linux/amd64' });
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

  if (name === undefined) {
    if (method === 'GET') return list(cluster, req, t, ns, q);
    if (method === 'POST') {
      if (t.namespaced && ns === undefined) throw errors.methodNotSupported(t, 'create');
      const created = reg.create(t, ns, parseJson(await readBody(req)), opts);
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
      return json(200, reg.update(t, ns, name, parseJson(await readBody(req)), opts));
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

function list(cluster: FakeKubeCluster, req: IncomingMessage, t: ResourceType, ns: string | undefined, q: URLSearchParams): Reply {
  if (q.get('watch') === 'true' || q.get('watch') === '1') throw errors.methodNotSupported(t, 'watch');
  const ls = q.get('labelSelector') ? parseLabelSelector(q.get('labelSelector')!) : [];
  const fs = q.get('fieldSelector') ? parseFieldSelector(q.get('fieldSelector')!, t.kind) : [];
  let items = cluster.store
    .list(t, ns)
    .map((r) => r.obj)
    .filter((o) => matchesLabels(ls, o.metadata.labels) && matchesFields(fs, o));
  const rv = cluster.store.resourceVersion;
  const meta: Record<string, unknown> = { resourceVersion: rv };
  // limit/continue paging (https://kubernetes.io/docs/reference/using-api/api-concepts/#retrieving-large-results-sets-in-chunks)
  const start = q.get('continue') ? Number(Buffer.from(q.get('continue')!, 'base64url').toString().split(':')[1] ?? 0) : 0;
  const limit = Number(q.get('limit') ?? 0);
  if (start > 0) items = items.slice(start);
  if (limit > 0 && items.length > limit) {
    meta.remainingItemCount = items.length - limit;
    meta.continue = Buffer.from(`${rv}:${start + limit}`).toString('base64url');
    items = items.slice(0, limit);
  }
  if (wantsTable(req.headers.accept)) return json(200, { ...toTable(t.kind, items, rv), metadata: meta }, 'application/json;as=Table;v=v1;g=meta.k8s.io');
  // items of a typed list carry no apiVersion/kind on the wire
  const bare = items.map((o) => {
    const { apiVersion: _a, kind: _k, ...rest } = o;
    return rest;
  });
  return json(200, { kind: `${t.kind}List`, apiVersion: apiVersionOf(t), metadata: meta, items: bare });
}
