import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { FakeKubeApiServer, type ClusterOptions, type FakeKubeCluster } from '../sandbox/kube';

/**
 * Watch and resourceVersion semantics of the sandbox API server over plain HTTPS, as
 * https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes describes
 * them, then the real kubectl (rollout status, get -w, get events) against it.
 */
const TOKEN = 'watch-token';
let server: FakeKubeApiServer;
let seq = 0;

interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

function call(c: FakeKubeCluster, method: string, path: string, o: { body?: unknown; contentType?: string; accept?: string } = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const payload = o.body === undefined ? undefined : JSON.stringify(o.body);
    const headers: Record<string, string> = { accept: o.accept ?? 'application/json', authorization: `Bearer ${TOKEN}` };
    if (payload !== undefined) headers['content-type'] = o.contentType ?? 'application/json';
    const req = https.request(c.endpoint + path, { method, headers, ca: server.caPem }, (res) => {
      let data = '';
      res.on('data', (d) => (data += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: data ? JSON.parse(data) : undefined }));
    });
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/** An open watch: the events read so far (one JSON object per line), and whether the server ended the stream. */
interface Watch {
  status: number;
  headers: IncomingMessage['headers'];
  events: { type: string; object: any }[];
  ended: Promise<void>;
  isEnded(): boolean;
  until(pred: (events: Watch['events']) => boolean, timeoutMs?: number): Promise<Watch['events']>;
  close(): void;
}

function watch(c: FakeKubeCluster, path: string, accept = 'application/json'): Promise<Watch> {
  return new Promise((resolve, reject) => {
    const req = https.request(c.endpoint + path, { headers: { accept, authorization: `Bearer ${TOKEN}` }, ca: server.caPem, agent: false }, (res) => {
      const events: Watch['events'] = [];
      let buf = '';
      let ended = false;
      const waiters = new Set<() => void>();
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        buf += d;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          events.push(JSON.parse(buf.slice(0, nl)));
          buf = buf.slice(nl + 1);
        }
        for (const w of [...waiters]) w();
      });
      const endedP = new Promise<void>((ok) => res.on('end', () => ((ended = true), ok())));
      res.on('error', () => undefined);
      resolve({
        status: res.statusCode!,
        headers: res.headers,
        events,
        ended: endedP,
        isEnded: () => ended,
        until: (pred, timeoutMs = 5000) =>
          new Promise((ok, fail) => {
            const check = () => {
              if (pred(events)) {
                waiters.delete(check);
                clearTimeout(timer);
                ok(events);
              }
            };
            const timer = setTimeout(() => {
              waiters.delete(check);
              fail(new Error(`watch ${path}: condition not met; got ${JSON.stringify(events.map((e) => [e.type, e.object?.metadata?.name, e.object?.metadata?.resourceVersion]))}`));
            }, timeoutMs);
            waiters.add(check);
            check();
          }),
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
    req.end();
  });
}

function newCluster(extra: Partial<ClusterOptions> = {}): FakeKubeCluster {
  return server.addCluster(`w${process.pid}-${++seq}`, { nodes: [{ name: 'n1' }], authenticate: async (t) => (t === TOKEN ? 'tester' : null), ...extra });
}

const cmPath = (name = '') => `/api/v1/namespaces/default/configmaps${name ? `/${name}` : ''}`;
const configMap = (name: string, data: Record<string, string>, labels?: Record<string, string>) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, ...(labels ? { labels } : {}) }, data });
const createCm = async (c: FakeKubeCluster, name: string, data: Record<string, string> = { k: 'v' }, labels?: Record<string, string>) => {
  const r = await call(c, 'POST', cmPath(), { body: configMap(name, data, labels) });
  expect(r.status).toBe(201);
  return r.body;
};
const mergePatch = async (c: FakeKubeCluster, name: string, patch: unknown) => {
  const r = await call(c, 'PATCH', cmPath(name), { body: patch, contentType: 'application/merge-patch+json' });
  expect(r.status).toBe(200);
  return r.body;
};
const names = (events: Watch['events']) => events.map((e) => `${e.type} ${e.object.metadata?.name ?? ''}`);

beforeAll(async () => {
  server = await FakeKubeApiServer.start();
});
afterAll(async () => {
  await server.stop();
});

describe('watch', () => {
  it('without resourceVersion: a synthetic ADDED per object, then every change as a chunked JSON line with the typed object', async () => {
    const c = newCluster();
    await createCm(c, 'a');
    const w = await watch(c, `${cmPath()}?watch=1`);
    expect(w.status).toBe(200);
    expect(w.headers['content-type']).toBe('application/json');
    expect(w.headers['transfer-encoding']).toBe('chunked');
    await w.until((e) => e.length === 1);
    expect(w.events[0]).toMatchObject({ type: 'ADDED', object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' }, data: { k: 'v' } } });
    await createCm(c, 'b');
    const patched = await mergePatch(c, 'a', { data: { k: 'v2' } });
    expect((await call(c, 'DELETE', cmPath('b'))).status).toBe(200);
    await w.until((e) => e.length === 4);
    expect(names(w.events)).toEqual(['ADDED a', 'ADDED b', 'MODIFIED a', 'DELETED b']);
    expect(w.events[2]!.object).toMatchObject({ data: { k: 'v2' }, metadata: { resourceVersion: patched.metadata.resourceVersion } });
    // a DELETED object carries the resourceVersion of the deletion, newer than its last write
    const rvs = w.events.map((e) => Number(e.object.metadata.resourceVersion));
    expect(rvs[3]).toBeGreaterThan(rvs[2]!);
    w.close();
  });

  it('from a resourceVersion: exactly the changes after it, in order, none before', async () => {
    const c = newCluster();
    await createCm(c, 'before');
    const list = await call(c, 'GET', cmPath());
    const rv = list.body.metadata.resourceVersion;
    await createCm(c, 'after');
    await mergePatch(c, 'before', { data: { k: 'changed' } });
    const w = await watch(c, `${cmPath()}?watch=true&resourceVersion=${rv}`);
    await w.until((e) => e.length === 2);
    expect(names(w.events)).toEqual(['ADDED after', 'MODIFIED before']);
    expect(w.events.every((e) => Number(e.object.metadata.resourceVersion) > Number(rv))).toBe(true);
    w.close();
  });

  it('a resourceVersion older than the history kept is a 410 Expired ERROR event, and the stream ends', async () => {
    const c = newCluster({ watch: { historyLimit: 3 } });
    const first = await createCm(c, 'x0');
    for (let i = 1; i <= 4; i++) await createCm(c, `x${i}`);
    const w = await watch(c, `${cmPath()}?watch=true&resourceVersion=${first.metadata.resourceVersion}`);
    expect(w.status).toBe(200);
    await w.ended;
    expect(w.events).toHaveLength(1);
    expect(w.events[0]!.type).toBe('ERROR');
    expect(w.events[0]!.object).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Expired', code: 410 });
    expect(w.events[0]!.object.message).toMatch(new RegExp(`^too old resource version: ${first.metadata.resourceVersion} \\(\\d+\\)$`));
    // the newest writes are still in the window
    const recent = await watch(c, `${cmPath()}?watch=true&resourceVersion=${Number(first.metadata.resourceVersion) + 3}`);
    await recent.until((e) => e.length === 1);
    expect(names(recent.events)).toEqual(['ADDED x4']);
    recent.close();
  });

  it('after a compaction every earlier resourceVersion is expired: lists at Exact get 410 Gone, and a relist recovers', async () => {
    const c = newCluster();
    const a = await createCm(c, 'a');
    await mergePatch(c, 'a', { data: { k: 'v2' } });
    c.expireWatchHistory();
    const exact = await call(c, 'GET', `${cmPath()}?resourceVersion=${a.metadata.resourceVersion}&resourceVersionMatch=Exact`);
    expect(exact.status).toBe(410);
    expect(exact.body).toMatchObject({ kind: 'Status', reason: 'Expired', code: 410 });
    const relist = await call(c, 'GET', cmPath());
    expect(relist.body.items.map((i: any) => i.metadata.name)).toEqual(['a']);
    const w = await watch(c, `${cmPath()}?watch=true&resourceVersion=${relist.body.metadata.resourceVersion}`);
    await createCm(c, 'b');
    await w.until((e) => e.length === 1);
    expect(names(w.events)).toEqual(['ADDED b']);
    w.close();
  });

  it('bookmarks when asked: only the kind and the current resourceVersion, never more recent than the events sent', async () => {
    const c = newCluster({ watch: { bookmarkIntervalMs: 100 } });
    await createCm(c, 'a');
    const plain = await watch(c, `${cmPath()}?watch=true`);
    const w = await watch(c, `${cmPath()}?watch=true&allowWatchBookmarks=true`);
    await w.until((e) => e.filter((x) => x.type === 'BOOKMARK').length >= 1);
    const created = await createCm(c, 'b');
    await w.until((e) => e.some((x) => x.type === 'BOOKMARK' && Number(x.object.metadata.resourceVersion) >= Number(created.metadata.resourceVersion)));
    const bookmark = w.events.find((e) => e.type === 'BOOKMARK')!;
    expect(bookmark.object).toEqual({ kind: 'ConfigMap', apiVersion: 'v1', metadata: { resourceVersion: expect.stringMatching(/^\d+$/) } });
    const last = w.events.filter((e) => e.type === 'BOOKMARK').at(-1)!;
    expect(w.events.indexOf(last)).toBeGreaterThan(w.events.findIndex((e) => e.object.metadata?.name === 'b'));
    await plain.until((e) => e.length === 2);
    expect(plain.events.some((e) => e.type === 'BOOKMARK')).toBe(false);
    plain.close();
    w.close();
  });

  it('timeoutSeconds ends the stream cleanly after that long', async () => {
    const c = newCluster();
    const t0 = Date.now();
    const w = await watch(c, `${cmPath()}?watch=true&timeoutSeconds=1`);
    await w.ended;
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(950);
    expect(took).toBeLessThan(3000);
    expect(w.events).toEqual([]);
  });

  it('streaming list (sendInitialEvents=true): the current objects, then a BOOKMARK marking the end of them', async () => {
    const c = newCluster();
    await createCm(c, 'a');
    await createCm(c, 'b');
    const w = await watch(c, `${cmPath()}?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true`);
    await w.until((e) => e.length === 3);
    expect(names(w.events)).toEqual(['ADDED a', 'ADDED b', 'BOOKMARK ']);
    expect(w.events[2]!.object.metadata.annotations).toEqual({ 'k8s.io/initial-events-end': 'true' });
    w.close();
    const bad = await call(c, 'GET', `${cmPath()}?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan`);
    expect(bad.status).toBe(422);
    expect(bad.body.message).toBe('ListOptions.meta.k8s.io "" is invalid: allowWatchBookmarks: Forbidden: sendInitialEvents requires setting allowWatchBookmarks to true');
  });

  it('selectors: one object by metadata.name (as kubectl watches one), and labels entering or leaving the selection as ADDED / DELETED', async () => {
    const c = newCluster();
    await createCm(c, 'one');
    await createCm(c, 'other');
    const byName = await watch(c, `${cmPath()}?watch=true&fieldSelector=${encodeURIComponent('metadata.name=one')}`);
    const byLabel = await watch(c, `${cmPath()}?watch=true&labelSelector=${encodeURIComponent('tier=web')}`);
    await byName.until((e) => e.length === 1);
    await mergePatch(c, 'other', { metadata: { labels: { tier: 'web' } } });
    await mergePatch(c, 'other', { data: { k: 'again' } });
    await mergePatch(c, 'other', { metadata: { labels: { tier: 'db' } } });
    await mergePatch(c, 'one', { data: { k: 'v2' } });
    await byLabel.until((e) => e.length === 3);
    expect(names(byLabel.events)).toEqual(['ADDED other', 'MODIFIED other', 'DELETED other']);
    // the DELETED event shows the object as it last matched, with the resourceVersion of the change
    expect(byLabel.events[2]!.object.metadata.labels).toEqual({ tier: 'web' });
    await byName.until((e) => e.length === 2);
    expect(names(byName.events)).toEqual(['ADDED one', 'MODIFIED one']);
    // the deprecated /watch/ path of one object
    const legacy = await watch(c, '/api/v1/watch/namespaces/default/configmaps/one');
    await legacy.until((e) => e.length === 1);
    expect(names(legacy.events)).toEqual(['ADDED one']);
    for (const w of [byName, byLabel, legacy]) w.close();
  });

  it('asked for tables, every event carries a one-row Table', async () => {
    const c = newCluster();
    await createCm(c, 'a');
    const w = await watch(c, `${cmPath()}?watch=true`, 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json');
    await w.until((e) => e.length === 1);
    expect(w.events[0]).toMatchObject({ type: 'ADDED', object: { kind: 'Table', apiVersion: 'meta.k8s.io/v1', rows: [{ cells: ['a', expect.any(String)], object: { kind: 'PartialObjectMetadata', metadata: { name: 'a' } } }] } });
    w.close();
  });

  it('a resourceVersion the server has not reached: ResourceVersionTooLarge after waiting (504 on a list, an ERROR event on a watch)', async () => {
    const c = newCluster();
    const ahead = Number((await call(c, 'GET', cmPath())).body.metadata.resourceVersion) + 1000;
    const list = await call(c, 'GET', `${cmPath()}?resourceVersion=${ahead}&resourceVersionMatch=NotOlderThan`);
    expect(list.status).toBe(504);
    expect(list.body).toMatchObject({ reason: 'Timeout', code: 504, details: { causes: [{ reason: 'ResourceVersionTooLarge' }], retryAfterSeconds: 1 } });
    const w = await watch(c, `${cmPath()}?watch=true&resourceVersion=${ahead}`);
    await w.ended;
    expect(w.events).toMatchObject([{ type: 'ERROR', object: { reason: 'Timeout', code: 504 } }]);
  }, 10_000);
});

describe('list resourceVersion semantics', () => {
  it('Exact reads the state at that resourceVersion; NotOlderThan and unset read the latest', async () => {
    const c = newCluster();
    const a = await createCm(c, 'a', { k: 'v1' });
    await mergePatch(c, 'a', { data: { k: 'v2' } });
    await createCm(c, 'b');
    const at = await call(c, 'GET', `${cmPath()}?resourceVersion=${a.metadata.resourceVersion}&resourceVersionMatch=Exact`);
    expect(at.status).toBe(200);
    expect(at.body.metadata.resourceVersion).toBe(a.metadata.resourceVersion);
    expect(at.body.items.map((i: any) => [i.metadata.name, i.data.k])).toEqual([['a', 'v1']]);
    const latest = await call(c, 'GET', `${cmPath()}?resourceVersion=${a.metadata.resourceVersion}&resourceVersionMatch=NotOlderThan`);
    expect(latest.body.items.map((i: any) => [i.metadata.name, i.data.k])).toEqual([['a', 'v2'], ['b', 'v']]);
    expect((await call(c, 'GET', `${cmPath()}?resourceVersion=0`)).body.items).toHaveLength(2);
  });

  it('pages of a chunked list are all read at the first page\'s resourceVersion; a compacted continue token is 410', async () => {
    const c = newCluster();
    for (const n of ['a', 'b', 'c']) await createCm(c, n);
    const p1 = await call(c, 'GET', `${cmPath()}?limit=2`);
    expect(p1.body.items.map((i: any) => i.metadata.name)).toEqual(['a', 'b']);
    expect(p1.body.metadata).toMatchObject({ remainingItemCount: 1, continue: expect.any(String) });
    expect(JSON.parse(Buffer.from(p1.body.metadata.continue, 'base64url').toString())).toEqual({ v: 'meta.k8s.io/v1', rv: Number(p1.body.metadata.resourceVersion), start: 'default/b\u0000' });
    await createCm(c, 'd');
    expect((await call(c, 'DELETE', cmPath('c'))).status).toBe(200);
    const p2 = await call(c, 'GET', `${cmPath()}?limit=2&continue=${p1.body.metadata.continue}`);
    expect(p2.body.items.map((i: any) => i.metadata.name)).toEqual(['c']);
    expect(p2.body.metadata.resourceVersion).toBe(p1.body.metadata.resourceVersion);
    c.expireWatchHistory();
    const gone = await call(c, 'GET', `${cmPath()}?limit=2&continue=${p1.body.metadata.continue}`);
    expect(gone.status).toBe(410);
    expect(gone.body.message).toMatch(/^The provided continue parameter is too old to display a consistent list result\./);
  });

  it('rejects ListOptions the real server rejects, with its messages', async () => {
    const c = newCluster();
    const cases: [string, string][] = [
      ['resourceVersionMatch=Exact', 'resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided'],
      ['resourceVersion=0&resourceVersionMatch=Exact', 'resourceVersionMatch: Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"'],
      ['watch=true&resourceVersion=5&resourceVersionMatch=NotOlderThan', 'resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided'],
      ['sendInitialEvents=true', 'sendInitialEvents: Forbidden: sendInitialEvents is forbidden for list'],
    ];
    for (const [query, message] of cases) {
      const r = await call(c, 'GET', `${cmPath()}?${query}`);
      expect(r.status, query).toBe(422);
      expect(r.body, query).toMatchObject({ kind: 'Status', reason: 'Invalid', code: 422, message: `ListOptions.meta.k8s.io "" is invalid: ${message}`, details: { group: 'meta.k8s.io', kind: 'ListOptions' } });
    }
    expect((await call(c, 'GET', `${cmPath()}?watch=maybe`)).status).toBe(400);
  });
});

describe('kubectl create with its typed (protobuf) clients', () => {
  it('creates namespaces, config maps, secrets and service accounts; a kind not decoded is 415', async () => {
    const run = promisify(execFile);
    const c = server.addCluster(`kp${process.pid}`, { nodes: [{ name: 'n1' }], authenticate: async (t) => (t === TOKEN ? 'tester' : null) });
    const dir = mkdtempSync(join(tmpdir(), 'kubectl-create-'));
    writeFileSync(join(dir, 'config'), c.kubeconfig(TOKEN));
    const kubectl = (...args: string[]) => run('kubectl', ['--kubeconfig', join(dir, 'config'), '--cache-dir', join(dir, 'cache'), ...args], { timeout: 20_000 });
    await kubectl('create', 'namespace', 'team-a');
    await kubectl('label', 'namespace', 'team-a', 'tier=web');
    await kubectl('create', 'configmap', 'settings', '-n', 'team-a', '--from-literal=mode=fast', '--from-literal=level=3');
    await kubectl('create', 'secret', 'generic', 'creds', '-n', 'team-a', '--from-literal=password=s3cret', '--type=Opaque');
    await kubectl('create', 'serviceaccount', 'robot', '-n', 'team-a');
    expect(c.requests.filter((r) => r.method === 'POST').map((r) => r.contentType)).toEqual(Array(4).fill('application/vnd.kubernetes.protobuf'));
    expect(c.get('v1', 'Namespace', undefined, 'team-a').metadata.labels).toEqual({ 'kubernetes.io/metadata.name': 'team-a', tier: 'web' });
    expect(c.get('v1', 'ConfigMap', 'team-a', 'settings').data).toEqual({ mode: 'fast', level: '3' });
    const secret = c.get('v1', 'Secret', 'team-a', 'creds');
    expect(secret.type).toBe('Opaque');
    expect(Buffer.from(secret.data.password, 'base64').toString()).toBe('s3cret');
    expect(c.get('v1', 'ServiceAccount', 'team-a', 'robot').metadata).toMatchObject({ name: 'robot', namespace: 'team-a' });
    await expect(kubectl('create', 'role', 'reader', '-n', 'team-a', '--verb=get', '--resource=pods')).rejects.toThrow(/the body of the request was in an unknown format - accepted media types include: application\/json/);
  });
});

describe('kubectl against watch and events', () => {
  const run = promisify(execFile);
  let c: FakeKubeCluster;
  let kubectlArgs: string[];
  beforeAll(async () => {
    c = server.addCluster(`kw${process.pid}`, { nodes: [{ name: 'node-a' }, { name: 'node-b' }, { name: 'node-c' }], authenticate: async (t) => (t === TOKEN ? 'tester' : null) });
    const dir = mkdtempSync(join(tmpdir(), 'kubectl-watch-'));
    writeFileSync(join(dir, 'config'), c.kubeconfig(TOKEN));
    kubectlArgs = ['--kubeconfig', join(dir, 'config'), '--cache-dir', join(dir, 'cache')];
    const docs = [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'qualys-sensor' } },
      { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'qualys-container-sensor', namespace: 'qualys-sensor' },
        spec: { selector: { matchLabels: { app: 'sensor' } }, template: { metadata: { labels: { app: 'sensor' } }, spec: { containers: [{ name: 'sensor', image: 'qualys/qcs-sensor:1.34.1-0' }] } } } },
    ];
    writeFileSync(join(dir, 'ds.yaml'), docs.map((d) => YAML.stringify(d)).join('---\n'));
    // validation on (kubectl's default): it reads the OpenAPI v3 documents to learn the server validates fields
    await run('kubectl', [...kubectlArgs, 'apply', '-f', join(dir, 'ds.yaml')], { timeout: 20_000 });
  });
  const kubectl = async (...args: string[]) => (await run('kubectl', [...kubectlArgs, ...args], { timeout: 30_000 })).stdout;

  it('kubectl rollout status waits on a watch until the DaemonSet is rolled out, also after a template change', async () => {
    expect(await kubectl('rollout', 'status', 'daemonset/qualys-container-sensor', '-n', 'qualys-sensor', '--timeout=20s')).toMatch(/daemon set "qualys-container-sensor" successfully rolled out/);
    await kubectl('set', 'image', 'daemonset/qualys-container-sensor', 'sensor=qualys/qcs-sensor:1.35.0-0', '-n', 'qualys-sensor');
    const out = await kubectl('rollout', 'status', 'daemonset/qualys-container-sensor', '-n', 'qualys-sensor', '--timeout=20s');
    expect(out).toMatch(/daemon set "qualys-container-sensor" successfully rolled out/);
    expect(c.requests.some((r) => r.path === '/apis/apps/v1/namespaces/qualys-sensor/daemonsets' && /watch=true/.test(r.query) && /fieldSelector=metadata.name%3Dqualys-container-sensor/.test(r.query))).toBe(true);
    const ds = c.get('apps/v1', 'DaemonSet', 'qualys-sensor', 'qualys-container-sensor');
    expect(ds.status).toMatchObject({ desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 3, observedGeneration: ds.metadata.generation });
  });

  it('kubectl get pods -w prints the pods, then each change as it happens', async () => {
    const child = spawn('kubectl', [...kubectlArgs, 'get', 'pods', '-n', 'qualys-sensor', '-w', '--request-timeout=0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const seen = (re: RegExp, ms = 10_000) =>
      new Promise<void>((ok, fail) => {
        const t0 = Date.now();
        const tick = () => (re.test(out) ? ok() : Date.now() - t0 > ms ? fail(new Error(`no ${re} in:\n${out}`)) : setTimeout(tick, 50));
        tick();
      });
    try {
      await seen(/NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\n(qualys-container-sensor-\S+\s+1\/1\s+Running[^\n]*\n){3}/);
      const before = new Set(c.list('v1', 'Pod', 'qualys-sensor').map((p) => p.metadata.name));
      await kubectl('rollout', 'restart', 'daemonset/qualys-container-sensor', '-n', 'qualys-sensor');
      await kubectl('rollout', 'status', 'daemonset/qualys-container-sensor', '-n', 'qualys-sensor', '--timeout=20s');
      const fresh = c.list('v1', 'Pod', 'qualys-sensor').map((p) => p.metadata.name).filter((n) => !before.has(n));
      expect(fresh).toHaveLength(3);
      for (const name of fresh) await seen(new RegExp(`${name}\\s+1/1\\s+Running`));
      // the header once: later lines are events
      expect(out.match(/^NAME\s/gm)).toHaveLength(1);
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('kubectl get events shows type, reason, object and message; -o wide adds source and count', async () => {
    const out = await kubectl('get', 'events', '-n', 'qualys-sensor');
    expect(out.split('\n')[0]).toMatch(/^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE$/);
    expect(out).toMatch(/\d+s\s+Normal\s+SuccessfulCreate\s+daemonset\/qualys-container-sensor\s+Created pod: qualys-container-sensor-\S+/);
    expect(out).toMatch(/Normal\s+Scheduled\s+pod\/qualys-container-sensor-\S+\s+Successfully assigned qualys-sensor\/qualys-container-sensor-\S+ to node-[abc]/);
    expect(out).toMatch(/Normal\s+Started\s+pod\/qualys-container-sensor-\S+\s+Started container sensor/);
    const wide = await kubectl('get', 'events', '-n', 'qualys-sensor', '-o', 'wide', '--field-selector', 'reason=Pulled');
    expect(wide.split('\n')[0]).toMatch(/^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+SUBOBJECT\s+SOURCE\s+MESSAGE\s+FIRST SEEN\s+COUNT\s+NAME$/);
    expect(wide).toMatch(/Pulled\s+pod\/qualys-container-sensor-\S+\s+spec\.containers\{sensor\}\s+kubelet, node-[abc]\s+Container image "qualys\/qcs-sensor:1\.3[45]\.\d-0" already present on machine\s+\d+s\s+1\s+qualys-container-sensor-\S+\.[0-9a-f]+/);
    const described = await kubectl('describe', 'daemonset', 'qualys-container-sensor', '-n', 'qualys-sensor');
    expect(described).toMatch(/Events:\s+Type\s+Reason\s+Age\s+From\s+Message/);
    expect(described).toMatch(/Normal\s+SuccessfulDelete\s+\S+\s+daemonset-controller\s+Deleted pod: qualys-container-sensor-\S+/);
  });
});
