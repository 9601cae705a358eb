import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeKubeApiServer, type FakeKubeCluster, type NodeSpec } from '../sandbox/kube';

const run = promisify(execFile);
const TOKEN = 'sandbox-token';
let server: FakeKubeApiServer;
let seq = 0;

interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

function call(c: FakeKubeCluster, method: string, path: string, o: { body?: unknown; contentType?: string; token?: string | null; ca?: string | null; accept?: string } = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const payload = o.body === undefined ? undefined : typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
    const headers: Record<string, string> = { accept: o.accept ?? 'application/json' };
    if (o.token !== null) headers.authorization = `Bearer ${o.token ?? TOKEN}`;
    if (payload !== undefined) headers['content-type'] = o.contentType ?? 'application/json';
    const req = https.request(c.endpoint + path, { method, headers, ...(o.ca === null ? {} : { ca: o.ca ?? server.caPem }) }, (res) => {
      let data = '';
      res.on('data', (d) => (data += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: data ? JSON.parse(data) : undefined }));
    });
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

const apply = (c: FakeKubeCluster, path: string, obj: unknown, query = 'fieldManager=sensorfleet') =>
  call(c, 'PATCH', `${path}?${query}`, { body: obj, contentType: 'application/apply-patch+yaml' });

function newCluster(nodes: NodeSpec[], extra: { crashingImages?: Set<string> } = {}): FakeKubeCluster {
  return server.addCluster(`t${process.pid}-${++seq}`, { nodes, authenticate: async (t) => (t === TOKEN ? 'sensorfleet' : null), ...extra });
}

function daemonSet(name: string, image: string, more: { tolerations?: unknown[]; volumes?: unknown[]; mounts?: unknown[]; maxUnavailable?: number | string; cpu?: string } = {}) {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name, namespace: 'qualys-sensor', labels: { 'app.kubernetes.io/managed-by': 'sensorfleet' } },
    spec: {
      selector: { matchLabels: { app: name } },
      ...(more.maxUnavailable !== undefined ? { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: more.maxUnavailable } } } : {}),
      template: {
        metadata: { labels: { app: name } },
        spec: {
          ...(more.tolerations ? { tolerations: more.tolerations } : {}),
          ...(more.volumes ? { volumes: more.volumes } : {}),
          containers: [{ name: 'sensor', image, env: [{ name: 'QUALYS_POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }], ...(more.mounts ? { volumeMounts: more.mounts } : {}), resources: { requests: { cpu: more.cpu ?? '250m', memory: '512Mi' } } }],
        },
      },
    },
  };
}

async function withNamespace(c: FakeKubeCluster): Promise<void> {
  const r = await apply(c, '/api/v1/namespaces/qualys-sensor', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'qualys-sensor' } });
  expect(r.status).toBe(201);
}

const dsPath = (name: string) => `/apis/apps/v1/namespaces/qualys-sensor/daemonsets/${name}`;

beforeAll(async () => {
  server = await FakeKubeApiServer.start();
});
afterAll(async () => {
  await server.stop();
});

describe('transport, auth, discovery', () => {
  it('serves TLS from its own CA: trusted with caPem, refused without it', async () => {
    const c = newCluster([{ name: 'n1' }]);
    expect((await call(c, 'GET', '/api')).status).toBe(200);
    await expect(call(c, 'GET', '/api', { ca: null })).rejects.toThrow(/self[- ]signed|unable to verify/i);
    expect(c.endpoint).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/clusters\/[a-z0-9-]+$/);
  });

  it('answers 401 with a Status body without a valid bearer token', async () => {
    const c = newCluster([{ name: 'n1' }]);
    for (const token of [null, 'wrong']) {
      const r = await call(c, 'GET', '/api/v1/namespaces', { token });
      expect(r.status).toBe(401);
      expect(r.body).toEqual({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
    }
  });

  it('answers discovery for the core and named groups', async () => {
    const c = newCluster([{ name: 'n1' }]);
    expect((await call(c, 'GET', '/api')).body).toMatchObject({ kind: 'APIVersions', versions: ['v1'] });
    const core = (await call(c, 'GET', '/api/v1')).body;
    expect(core).toMatchObject({ kind: 'APIResourceList', groupVersion: 'v1' });
    expect(core.resources.find((r: any) => r.name === 'pods')).toMatchObject({ namespaced: true, kind: 'Pod', shortNames: ['po'] });
    expect(core.resources.find((r: any) => r.name === 'nodes')).toMatchObject({ namespaced: false, kind: 'Node' });
    const groups = (await call(c, 'GET', '/apis')).body;
    expect(groups.kind).toBe('APIGroupList');
    expect(groups.groups.map((g: any) => g.name).sort()).toEqual(['apps', 'networking.k8s.io', 'policy', 'rbac.authorization.k8s.io']);
    const apps = (await call(c, 'GET', '/apis/apps/v1')).body;
    expect(apps.resources).toContainEqual(expect.objectContaining({ name: 'daemonsets', kind: 'DaemonSet', namespaced: true, shortNames: ['ds'] }));
    expect((await call(c, 'GET', '/apis/example.com/v1')).status).toBe(404);
    expect((await call(c, 'GET', '/apis/apps/v1/namespaces/default/widgets')).status).toBe(404);
  });
});

describe('CRUD and server-side apply', () => {
  it('creates with SSA, leaves a no-op apply alone, dry-runs without storing', async () => {
    const c = newCluster([{ name: 'n1' }]);
    await withNamespace(c);
    const ds = daemonSet('sensor', 'qualys/sensor:1.0.0');
    const dry = await apply(c, dsPath('sensor'), ds, 'fieldManager=sensorfleet&dryRun=All');
    expect(dry.status).toBe(200);
    expect(dry.body.spec.updateStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
    expect(c.get('apps/v1', 'DaemonSet', 'qualys-sensor', 'sensor')).toBeUndefined();

    const created = await apply(c, dsPath('sensor'), ds);
    expect(created.status).toBe(201);
    const m = created.body.metadata;
    expect(m).toMatchObject({ generation: 1, name: 'sensor', namespace: 'qualys-sensor' });
    expect(m.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(m.managedFields).toEqual([
      expect.objectContaining({ manager: 'sensorfleet', operation: 'Apply', apiVersion: 'apps/v1', fieldsType: 'FieldsV1' }),
    ]);
    const containers = m.managedFields[0].fieldsV1['f:spec']['f:template']['f:spec']['f:containers'];
    expect(Object.keys(containers)).toEqual(['k:{"name":"sensor"}']);
    expect(Object.keys(containers['k:{"name":"sensor"}']['f:env'])).toEqual(['k:{"name":"QUALYS_POD_NAME"}']);

    // the DaemonSet controller writes status (a new resourceVersion, as the real one does): let it
    // settle, then a no-op apply must leave the stored resourceVersion alone
    await c.settle();
    const settled = c.get('apps/v1', 'DaemonSet', 'qualys-sensor', 'sensor').metadata.resourceVersion;
    const again = await apply(c, dsPath('sensor'), ds);
    expect(again.status).toBe(200);
    expect(again.body.metadata.resourceVersion).toBe(settled);
    expect(c.get('apps/v1', 'DaemonSet', 'qualys-sensor', 'sensor').metadata.generation).toBe(1);

    const changed = await apply(c, dsPath('sensor'), daemonSet('sensor', 'qualys/sensor:1.1.0'));
    expect(Number(changed.body.metadata.resourceVersion)).toBeGreaterThan(Number(m.resourceVersion));
    expect(changed.body.metadata.generation).toBe(2);
  });

  it('requires fieldManager for apply (422) and rejects a selector that does not match the template (422)', async () => {
    const c = newCluster([{ name: 'n1' }]);
    await withNamespace(c);
    const r = await apply(c, dsPath('sensor'), daemonSet('sensor', 'img:1'), '');
    expect(r.status).toBe(422);
    expect(r.body).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'Invalid', code: 422 });
    const bad = daemonSet('sensor', 'img:1');
    bad.spec.template.metadata.labels = { app: 'other' };
    const v = await apply(c, dsPath('sensor'), bad);
    expect(v.status).toBe(422);
    expect(v.body).toMatchObject({
      kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'Invalid', code: 422,
      details: { name: 'sensor', group: 'apps', kind: 'DaemonSet', causes: [{ reason: 'FieldValueInvalid', field: 'spec.template.metadata.labels' }] },
    });
    expect(v.body.message).toMatch(/^DaemonSet\.apps "sensor" is invalid: spec\.template\.metadata\.labels: Invalid value: .*`selector` does not match template `labels`/);
    const noName = await call(c, 'POST', '/api/v1/namespaces/qualys-sensor/secrets', { body: { apiVersion: 'v1', kind: 'Secret', metadata: {} } });
    expect(noName.status).toBe(422);
    expect(noName.body.details.causes).toEqual([{ reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' }]);
    const noImage = daemonSet('sensor', '');
    expect((await apply(c, dsPath('sensor'), noImage)).body.details.causes).toContainEqual({ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.template.spec.containers[0].image' });
  });

  it('answers 404 NotFound, 409 AlreadyExists and 409 Conflict on a stale resourceVersion with real Status bodies', async () => {
    const c = newCluster([{ name: 'n1' }]);
    await withNamespace(c);
    const nf = await call(c, 'GET', '/api/v1/namespaces/qualys-sensor/secrets/missing');
    expect(nf.status).toBe(404);
    expect(nf.body).toEqual({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'secrets "missing" not found', reason: 'NotFound', details: { name: 'missing', kind: 'secrets' }, code: 404 });
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds' }, stringData: {}, data: { ACTIVATIONID: Buffer.from('x').toString('base64') } };
    const created = await call(c, 'POST', '/api/v1/namespaces/qualys-sensor/secrets', { body: secret });
    expect(created.status).toBe(201);
    expect(created.body.type).toBe('Opaque');
    const dup = await call(c, 'POST', '/api/v1/namespaces/qualys-sensor/secrets', { body: secret });
    expect(dup.status).toBe(409);
    expect(dup.body).toMatchObject({ reason: 'AlreadyExists', message: 'secrets "creds" already exists', details: { name: 'creds', kind: 'secrets' } });
    const rv = created.body.metadata.resourceVersion;
    const upd = await call(c, 'PUT', '/api/v1/namespaces/qualys-sensor/secrets/creds', { body: { ...created.body, data: { ACTIVATIONID: 'eQ==' } } });
    expect(upd.status).toBe(200);
    expect(upd.body.metadata.resourceVersion).not.toBe(rv);
    const stale = await call(c, 'PUT', '/api/v1/namespaces/qualys-sensor/secrets/creds', { body: { ...created.body, data: { ACTIVATIONID: 'eg==' } } });
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({ reason: 'Conflict', code: 409, details: { name: 'creds', kind: 'secrets' } });
    expect(stale.body.message).toBe('Operation cannot be fulfilled on secrets "creds": the object has been modified; please apply your changes to the latest version and try again');
    expect((await call(c, 'POST', '/api/v1/namespaces/nowhere/secrets', { body: secret })).body.message).toBe('namespaces "nowhere" not found');
    const del = await call(c, 'DELETE', '/api/v1/namespaces/qualys-sensor/secrets/creds');
    expect(del.body).toMatchObject({ kind: 'Status', status: 'Success', details: { name: 'creds', kind: 'secrets' } });
    expect((await call(c, 'GET', '/api/v1/namespaces/qualys-sensor/secrets/creds')).status).toBe(404);
  });

  it('reports an apply conflict after a human edit, and takes the field back with force', async () => {
    const c = newCluster([{ name: 'n1' }]);
    await withNamespace(c);
    await apply(c, dsPath('sensor'), daemonSet('sensor', 'qualys/sensor:1.0.0'));
    const edit = await call(c, 'PATCH', `${dsPath('sensor')}?fieldManager=kubectl-edit`, {
      body: { spec: { template: { spec: { containers: [{ name: 'sensor', image: 'qualys/sensor:0.9.0' }] } } } },
      contentType: 'application/strategic-merge-patch+json',
    });
    expect(edit.status).toBe(200);
    expect(edit.body.spec.template.spec.containers[0].env).toHaveLength(1);
    expect(edit.body.metadata.managedFields.map((m: any) => `${m.manager}/${m.operation}`)).toContain('kubectl-edit/Update');

    const conflict = await apply(c, dsPath('sensor'), daemonSet('sensor', 'qualys/sensor:1.0.0'));
    expect(conflict.status).toBe(409);
    expect(conflict.body.reason).toBe('Conflict');
    expect(conflict.body.message).toMatch(/^Apply failed with 1 conflict: conflict with "kubectl-edit" using apps\/v1 at \S+: \.spec\.template\.spec\.containers\[name="sensor"\]\.image$/);
    expect(conflict.body.details.causes).toEqual([expect.objectContaining({ reason: 'FieldManagerConflict', field: '.spec.template.spec.containers[name="sensor"].image' })]);

    const forced = await apply(c, dsPath('sensor'), daemonSet('sensor', 'qualys/sensor:1.0.0'), 'fieldManager=sensorfleet&force=true');
    expect(forced.status).toBe(200);
    expect(forced.body.spec.template.spec.containers[0].image).toBe('qualys/sensor:1.0.0');
    expect(forced.body.metadata.managedFields.map((m: any) => m.manager)).not.toContain('kubectl-edit');

    // a merge patch that touches another field leaves sensorfleet's image alone: no conflict on re-apply
    await call(c, 'PATCH', dsPath('sensor'), { body: { metadata: { labels: { team: 'sec' } } }, contentType: 'application/merge-patch+json' });
    expect((await apply(c, dsPath('sensor'), daemonSet('sensor', 'qualys/sensor:1.0.0'))).status).toBe(200);
  });

  it('lists with label and field selectors, all namespaces and paging', async () => {
    const c = newCluster([{ name: 'n1' }, { name: 'n2' }]);
    await withNamespace(c);
    await apply(c, dsPath('sensor'), daemonSet('sensor', 'img:1'));
    await c.settle();
    const all = await call(c, 'GET', '/api/v1/pods');
    expect(all.body).toMatchObject({ kind: 'PodList', apiVersion: 'v1' });
    expect(all.body.items).toHaveLength(2);
    expect(all.body.items[0].kind).toBeUndefined();
    const onN2 = await call(c, 'GET', `/api/v1/namespaces/qualys-sensor/pods?labelSelector=${encodeURIComponent('app=sensor,controller-revision-hash')}&fieldSelector=spec.nodeName%3Dn2`);
    expect(onN2.body.items.map((p: any) => p.spec.nodeName)).toEqual(['n2']);
    const page = await call(c, 'GET', '/api/v1/pods?limit=1');
    expect(page.body.items).toHaveLength(1);
    const next = await call(c, 'GET', `/api/v1/pods?limit=1&continue=${page.body.metadata.continue}`);
    expect(next.body.items[0].metadata.name).not.toBe(page.body.items[0].metadata.name);
    expect((await call(c, 'GET', '/api/v1/namespaces?labelSelector=kubernetes.io%2Fmetadata.name%3Dqualys-sensor')).body.items).toHaveLength(1);
  });
});

describe('DaemonSet controller', () => {
  it('places a pod on every node whose taints are tolerated, and fills status from the node list', async () => {
    const c = newCluster([{ name: 'a' }, { name: 'b' }, { name: 'gpu', taints: [{ key: 'nvidia.com/gpu', value: 'true', effect: 'NoSchedule' }] }]);
    await withNamespace(c);
    await apply(c, dsPath('plain'), daemonSet('plain', 'img:1'));
    await apply(c, dsPath('everywhere'), daemonSet('everywhere', 'img:1', { tolerations: [{ operator: 'Exists' }] }));
    await c.settle();
    const nodesOf = (ds: string) => c.list('v1', 'Pod', 'qualys-sensor').filter((p) => p.metadata.labels.app === ds).map((p) => p.spec.nodeName).sort();
    expect(nodesOf('plain')).toEqual(['a', 'b']);
    expect(nodesOf('everywhere')).toEqual(['a', 'b', 'gpu']);
    const pod = c.list('v1', 'Pod', 'qualys-sensor').find((p) => p.metadata.labels.app === 'plain');
    expect(pod.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'DaemonSet', name: 'plain', controller: true })]);
    expect(pod.metadata.name).toMatch(/^plain-[a-z0-9]{5}$/);
    expect(pod.metadata.labels['pod-template-generation']).toBe('1');
    expect(pod.metadata.labels['controller-revision-hash']).toMatch(/^[a-z0-9]+$/);
    expect(c.get('apps/v1', 'DaemonSet', 'qualys-sensor', 'plain').status).toEqual({
      currentNumberScheduled: 2, numberMisscheduled: 0, desiredNumberScheduled: 2, numberReady: 2, observedGeneration: 1, updatedNumberScheduled: 2, numberAvailable: 2,
    });

    c.addNode({ name: 'c' });
    c.removeNode('a');
    await c.settle();
    expect(nodesOf('plain')).toEqual(['b', 'c']);
    c.setTaints('b', [{ key: 'maintenance', effect: 'NoExecute' }]);
    await c.settle();
    expect(nodesOf('plain')).toEqual(['c']);
    expect(nodesOf('everywhere')).toEqual(['b', 'c', 'gpu']);

    await call(c, 'DELETE', dsPath('plain'));
    await c.settle();
    expect(nodesOf('plain')).toEqual([]);
  });

  it('keeps a docker.sock hostPath pod Pending on a containerd-only node, with the kubelet FailedMount event', async () => {
    const c = newCluster([{ name: 'containerd-node' }, { name: 'docker-node', hostSockets: ['/var/run/docker.sock'] }]);
    await withNamespace(c);
    const ds = daemonSet('sensor', 'img:1', {
      volumes: [{ name: 'socket-volume', hostPath: { path: '/var/run/docker.sock', type: 'Socket' } }],
      mounts: [{ name: 'socket-volume', mountPath: '/var/run/docker.sock' }],
    });
    await apply(c, dsPath('sensor'), ds);
    await c.settle();
    const pods = c.list('v1', 'Pod', 'qualys-sensor');
    const stuck = pods.find((p) => p.spec.nodeName === 'containerd-node');
    const ok = pods.find((p) => p.spec.nodeName === 'docker-node');
    expect(stuck.status.phase).toBe('Pending');
    expect(stuck.status.containerStatuses[0].state.waiting.reason).toBe('ContainerCreating');
    expect(ok.status.phase).toBe('Running');
    const events = await call(c, 'GET', `/api/v1/namespaces/qualys-sensor/events?fieldSelector=involvedObject.name%3D${stuck.metadata.name}`);
    expect(events.body.items).toContainEqual(expect.objectContaining({
      reason: 'FailedMount', type: 'Warning',
      message: 'MountVolume.SetUp failed for volume "socket-volume" : hostPath type check failed: /var/run/docker.sock is not a socket file',
    }));
    expect(c.get('apps/v1', 'DaemonSet', 'qualys-sensor', 'sensor').status).toMatchObject({ desiredNumberScheduled: 2, currentNumberScheduled: 2, numberReady: 1, numberAvailable: 1, numberUnavailable: 1 });
  });

  it('crash-loops listed images and leaves pods that do not fit Pending/Unschedulable', async () => {
    const c = newCluster([{ name: 'small', allocatable: { cpu: '200m', memory: '8Gi' } }, { name: 'big' }], { crashingImages: new Set(['bad:1']) });
    await withNamespace(c);
    await apply(c, dsPath('sensor'), daemonSet('sensor', 'bad:1'));
    await c.settle();
    const pods = c.list('v1', 'Pod', 'qualys-sensor');
    const crashing = pods.find((p) => p.spec.nodeName === 'big');
    expect(crashing.status.phase).toBe('Running');
    expect(crashing.status.containerStatuses[0]).toMatchObject({ ready: false, state: { waiting: { reason: 'CrashLoopBackOff' } } });
    const pending = pods.find((p) => !p.spec.nodeName);
    expect(pending.status.phase).toBe('Pending');
    expect(pending.status.conditions).toContainEqual(expect.objectContaining({ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/2 nodes are available: 1 Insufficient cpu, 1 node(s) didn\'t match Pod\'s node affinity/selector.' }));
    const first = crashing.status.containerStatuses[0].restartCount;
    await new Promise((r) => setTimeout(r, 800));
    expect(c.get('v1', 'Pod', 'qualys-sensor', crashing.metadata.name).status.containerStatuses[0].restartCount).toBeGreaterThan(first);
  });

  it('rolls a template change out without exceeding maxUnavailable', async () => {
    const nodes = ['n1', 'n2', 'n3', 'n4', 'n5'].map((name) => ({ name }));
    const c = newCluster(nodes);
    await withNamespace(c);
    await apply(c, dsPath('sensor'), daemonSet('sensor', 'img:1', { maxUnavailable: '40%' }));
    await c.settle();
    const oldHash = c.list('v1', 'Pod', 'qualys-sensor')[0].metadata.labels['controller-revision-hash'];
    await apply(c, dsPath('sensor'), daemonSet('sensor', 'img:2', { maxUnavailable: '40%' }));
    let maxSeen = 0;
    const deadline = Date.now() + 10_000;
    for (;;) {
      const pods = c.list('v1', 'Pod', 'qualys-sensor');
      const readyNodes = new Set(pods.filter((p) => p.status.conditions?.some((x: any) => x.type === 'Ready' && x.status === 'True')).map((p) => p.spec.nodeName));
      maxSeen = Math.max(maxSeen, nodes.length - readyNodes.size);
      const ds = c.get('apps/v1', 'DaemonSet', 'qualys-sensor', 'sensor');
      if (ds.status.updatedNumberScheduled === 5 && ds.status.numberAvailable === 5 && ds.status.observedGeneration === 2) break;
      if (Date.now() > deadline) throw new Error(`rollout did not finish: ${JSON.stringify(ds.status)}`);
      await new Promise((r) => setTimeout(r, 3));
    }
    expect(maxSeen).toBe(2); // 40% of 5, rounded up
    const pods = c.list('v1', 'Pod', 'qualys-sensor');
    expect(pods).toHaveLength(5);
    expect(pods.every((p) => p.metadata.labels['controller-revision-hash'] !== oldHash && p.metadata.labels['pod-template-generation'] === '2')).toBe(true);
  });
});

describe('faults and request log', () => {
  it('fails the next calls with 429 + Retry-After, drops connections and records every request', async () => {
    const c = newCluster([{ name: 'n1' }]);
    c.faults.failNext = { status: 429, count: 1, retryAfterSeconds: 2 };
    const limited = await call(c, 'GET', '/api/v1/namespaces');
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBe('2');
    expect(limited.body).toMatchObject({ kind: 'Status', reason: 'TooManyRequests', code: 429, details: { retryAfterSeconds: 2 } });
    expect((await call(c, 'GET', '/api/v1/namespaces')).status).toBe(200);
    c.faults.dropConnections = 1;
    await expect(call(c, 'GET', '/api/v1/namespaces')).rejects.toThrow(/socket hang up|ECONNRESET/);
    c.faults.latencyMs = 150;
    const t0 = Date.now();
    expect((await call(c, 'GET', '/api/v1/nodes')).status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    expect(c.requests.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
      'GET /api/v1/namespaces 429', 'GET /api/v1/namespaces 200', 'GET /api/v1/namespaces 0', 'GET /api/v1/nodes 200',
    ]);
  });
});

describe('kubectl against the sandbox', () => {
  it('lists namespaces, nodes, daemonsets and pods, and rollout restart makes a new revision', async () => {
    const c = newCluster([{ name: 'worker-1' }, { name: 'worker-2', unschedulable: true }]);
    await withNamespace(c);
    await apply(c, dsPath('qualys-container-sensor'), daemonSet('qualys-container-sensor', 'qualys/qcs-sensor:1.34.1-0'));
    await c.settle();
    const dir = mkdtempSync(join(tmpdir(), 'sandbox-kube-'));
    const kubeconfig = join(dir, 'config');
    writeFileSync(kubeconfig, c.kubeconfig(TOKEN));
    const kubectl = async (...args: string[]) => (await run('kubectl', ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), ...args], { timeout: 20_000 })).stdout;

    expect(await kubectl('get', 'ns')).toMatch(/qualys-sensor\s+Active/);
    const nodes = await kubectl('get', 'nodes');
    expect(nodes).toMatch(/worker-1\s+Ready\s+<none>/);
    expect(nodes).toMatch(/worker-2\s+Ready,SchedulingDisabled/);
    // DaemonSet pods tolerate node.kubernetes.io/unschedulable, so the cordoned node runs one too
    expect(await kubectl('get', 'daemonsets', '-A')).toMatch(/qualys-sensor\s+qualys-container-sensor\s+2\s+2\s+2\s+2\s+2\s+<none>/);
    const wide = await kubectl('get', 'pods', '-n', 'qualys-sensor', '-o', 'wide');
    expect(wide).toMatch(/qualys-container-sensor-\w{5}\s+1\/1\s+Running\s+0\s+\S+\s+10\.244\.\S+\s+worker-1/);
    expect(await kubectl('get', 'ds', 'qualys-container-sensor', '-n', 'qualys-sensor', '-o', 'jsonpath={.status.numberReady}')).toBe('2');

    expect(await kubectl('rollout', 'restart', 'ds/qualys-container-sensor', '-n', 'qualys-sensor')).toMatch(/restarted/);
    const ds = c.get('apps/v1', 'DaemonSet', 'qualys-sensor', 'qualys-container-sensor');
    expect(ds.spec.template.metadata.annotations['kubectl.kubernetes.io/restartedAt']).toBeTruthy();
    expect(ds.metadata.generation).toBe(2);
    await c.settle();
    expect(c.list('v1', 'Pod', 'qualys-sensor').map((p) => p.metadata.labels['pod-template-generation'])).toEqual(['2', '2']);
  });
});
