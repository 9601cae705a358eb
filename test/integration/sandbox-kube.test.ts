import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientCaAuthenticator, FakeKubeApiServer, WINDOWS_NODE_TAINT, type ClusterOptions, type FakeKubeCluster, type NodeSpec, type WorkloadAllowlist } from '../sandbox/kube';
import { createCa, issueCertificate } from '../sandbox/kube/tls';

const run = promisify(execFile);
const TOKEN = 'sandbox-token';
let server: FakeKubeApiServer;
let seq = 0;

interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

function call(c: FakeKubeCluster, method: string, path: string, o: { body?: unknown; contentType?: string; token?: string | null; ca?: string | null; accept?: string; cert?: { certPem: string; keyPem: string } } = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const payload = o.body === undefined ? undefined : typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
    const headers: Record<string, string> = { accept: o.accept ?? 'application/json' };
    if (o.token !== null) headers.authorization = `Bearer ${o.token ?? TOKEN}`;
    if (payload !== undefined) headers['content-type'] = o.contentType ?? 'application/json';
    const tlsOptions = { ...(o.ca === null ? {} : { ca: o.ca ?? server.caPem }), ...(o.cert ? { cert: o.cert.certPem, key: o.cert.keyPem, agent: false as const } : {}) };
    const req = https.request(c.endpoint + path, { method, headers, ...tlsOptions }, (res) => {
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

function newCluster(nodes: NodeSpec[], extra: Pick<ClusterOptions, 'crashingImages' | 'imagePlatforms'> = {}): FakeKubeCluster {
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
  it('serves TLS signed by the sandbox CA: trusted with caPem (and through NODE_EXTRA_CA_CERTS), refused by a client trusting another CA', async () => {
    const c = newCluster([{ name: 'n1' }]);
    expect((await call(c, 'GET', '/api')).status).toBe(200);
    expect((await call(c, 'GET', '/api', { ca: null })).status).toBe(200);
    await expect(call(c, 'GET', '/api', { ca: createCa('not-the-sandbox-ca').certPem })).rejects.toThrow(/self[- ]signed|unable to (verify|get local issuer)/i);
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

  it('authenticates x509 client certificates against the cluster\'s own client CA (no token needed)', async () => {
    const clientCa = createCa('cluster-ca-a');
    const otherCa = createCa('cluster-ca-b');
    const c = server.addCluster(`t${process.pid}-${++seq}`, { nodes: [{ name: 'n1' }], authenticateCertificate: clientCaAuthenticator(clientCa.certPem) });
    const admin = issueCertificate(clientCa, { commonName: 'clusterAdmin', organizations: ['system:masters'], usage: 'client' });
    const ok = await call(c, 'GET', '/api/v1/namespaces', { token: null, cert: admin });
    expect(ok.status).toBe(200);
    expect(ok.body.items.map((n: any) => n.metadata.name)).toContain('kube-system');
    // signed by another CA, a server-only certificate, an expired one, none at all: 401
    const foreign = issueCertificate(otherCa, { commonName: 'clusterAdmin', usage: 'client' });
    const serverOnly = issueCertificate(clientCa, { commonName: 'clusterAdmin', usage: 'server' });
    const expired = issueCertificate(clientCa, { commonName: 'clusterAdmin', usage: 'client', days: -1 });
    for (const cert of [foreign, serverOnly, expired, undefined]) {
      const r = await call(c, 'GET', '/api/v1/namespaces', { token: null, ...(cert ? { cert } : {}) });
      expect(r.status).toBe(401);
      expect(r.body).toMatchObject({ kind: 'Status', reason: 'Unauthorized', code: 401 });
    }
    // no token authenticator on this cluster: a bearer token alone is refused too
    expect((await call(c, 'GET', '/api/v1/namespaces', { token: TOKEN })).status).toBe(401);
  });

  it('union authentication: a rejected certificate falls through to a valid bearer token', async () => {
    const clientCa = createCa('cluster-ca-union');
    const c = server.addCluster(`t${process.pid}-${++seq}`, { nodes: [{ name: 'n1' }], authenticate: async (t) => (t === TOKEN ? 'sensorfleet' : null), authenticateCertificate: clientCaAuthenticator(clientCa.certPem) });
    const foreign = issueCertificate(createCa('elsewhere'), { commonName: 'x', usage: 'client' });
    expect((await call(c, 'GET', '/api/v1/namespaces', { cert: foreign })).status).toBe(200);
    expect((await call(c, 'GET', '/api/v1/namespaces', { cert: foreign, token: 'wrong' })).status).toBe(401);
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

  it('nodes carry the kubelet\'s OS/arch labels and nodeInfo; Windows nodes get no taint unless the cloud adds one', async () => {
    const c = newCluster([{ name: 'lin' }, { name: 'arm', arch: 'arm64' }, { name: 'win', os: 'windows' }]);
    const byName = Object.fromEntries(c.list('v1', 'Node').map((n) => [n.metadata.name, n]));
    expect(byName.lin.metadata.labels).toMatchObject({ 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', 'beta.kubernetes.io/os': 'linux', 'beta.kubernetes.io/arch': 'amd64' });
    expect(byName.arm.metadata.labels).toMatchObject({ 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'arm64', 'beta.kubernetes.io/arch': 'arm64' });
    expect(byName.arm.status.nodeInfo).toMatchObject({ operatingSystem: 'linux', architecture: 'arm64', kernelVersion: expect.stringMatching(/aarch64$/) });
    expect(byName.win.metadata.labels).toMatchObject({ 'kubernetes.io/os': 'windows', 'beta.kubernetes.io/os': 'windows', 'node.kubernetes.io/windows-build': '10.0.20348' });
    expect(byName.win.status.nodeInfo).toMatchObject({ operatingSystem: 'windows', osImage: 'Windows Server 2022 Datacenter' });
    expect(byName.win.spec.taints).toBeUndefined();
    const gke = newCluster([{ name: 'gke-win', os: 'windows', taints: [WINDOWS_NODE_TAINT] }]);
    expect(gke.list('v1', 'Node')[0].spec.taints).toEqual([{ key: 'node.kubernetes.io/os', value: 'windows', effect: 'NoSchedule' }]);
  });

  it('honours required node affinity like the daemon controller: unmatched nodes are not scheduled and not desired', async () => {
    const c = newCluster([{ name: 'lin-1' }, { name: 'arm-1', arch: 'arm64' }, { name: 'win-1', os: 'windows' }, { name: 'lin-gpu', labels: { gpu: 'true' } }]);
    await withNamespace(c);
    const terms = (...matchExpressions: unknown[]) => ({ nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions }] } } });
    const withAffinity = (name: string, affinity: unknown) => {
      const ds = daemonSet(name, 'img:1', { tolerations: [{ operator: 'Exists' }] });
      (ds.spec.template.spec as any).affinity = affinity;
      return ds;
    };
    await apply(c, dsPath('linux'), withAffinity('linux', terms({ key: 'kubernetes.io/os', operator: 'In', values: ['linux'] }, { key: 'kubernetes.io/arch', operator: 'In', values: ['amd64', 'arm64'] })));
    await apply(c, dsPath('not-arm'), withAffinity('not-arm', terms({ key: 'kubernetes.io/arch', operator: 'NotIn', values: ['arm64'] })));
    await apply(c, dsPath('gpu'), withAffinity('gpu', terms({ key: 'gpu', operator: 'Exists' })));
    await c.settle();
    const nodesOf = (ds: string) => c.list('v1', 'Pod', 'qualys-sensor').filter((p) => p.metadata.labels.app === ds).map((p) => p.spec.nodeName).sort();
    expect(nodesOf('linux')).toEqual(['arm-1', 'lin-1', 'lin-gpu']);
    expect(nodesOf('not-arm')).toEqual(['lin-1', 'lin-gpu', 'win-1'].sort());
    expect(nodesOf('gpu')).toEqual(['lin-gpu']);
    expect(c.get('apps/v1', 'DaemonSet', 'qualys-sensor', 'linux').status).toMatchObject({ desiredNumberScheduled: 3, currentNumberScheduled: 3, numberAvailable: 3, numberMisscheduled: 0 });
    // util.ReplaceDaemonSetPodNodeNameNodeAffinity: the pod's required terms are only the node pin
    const pod = c.list('v1', 'Pod', 'qualys-sensor').find((p) => p.metadata.labels.app === 'linux');
    expect(pod.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution).toEqual({ nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [pod.spec.nodeName] }] }] });

    // a node whose labels stop matching loses its daemon pod (NodeShouldRunDaemonPod: shouldContinueRunning=false)
    const relabel = await call(c, 'PATCH', '/api/v1/nodes/lin-gpu', { body: { metadata: { labels: { gpu: null } } }, contentType: 'application/merge-patch+json' });
    expect(relabel.status).toBe(200);
    await c.settle();
    expect(nodesOf('gpu')).toEqual([]);
    expect(c.get('apps/v1', 'DaemonSet', 'qualys-sensor', 'gpu').status).toMatchObject({ desiredNumberScheduled: 0, currentNumberScheduled: 0 });
  });

  it('rejects invalid node affinity with the apiserver\'s validation messages (422)', async () => {
    const c = newCluster([{ name: 'n1' }]);
    await withNamespace(c);
    const ds = daemonSet('bad-affinity', 'img:1');
    (ds.spec.template.spec as any).affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [] } } };
    const empty = await apply(c, dsPath('bad-affinity'), ds);
    expect(empty.status).toBe(422);
    expect(empty.body.details.causes).toEqual([{ reason: 'FieldValueRequired', message: 'Required value: must have at least one node selector term', field: 'spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms' }]);
    (ds.spec.template.spec as any).affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms = [{ matchExpressions: [{ key: 'kubernetes.io/os', operator: 'In', values: [] }, { key: 'x', operator: 'Exists', values: ['y'] }] }];
    const bad = await apply(c, dsPath('bad-affinity'), ds);
    expect(bad.body.details.causes.map((x: any) => [x.field, x.message])).toEqual([
      ['spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values', "Required value: must be specified when `operator` is 'In' or 'NotIn'"],
      ['spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[1].values', "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'"],
    ]);
  });

  it('without an OS selector a Linux daemon lands on Windows and never starts; an image without the node\'s arch fails to pull', async () => {
    const c = newCluster([{ name: 'lin' }, { name: 'win', os: 'windows' }, { name: 'arm', arch: 'arm64' }], { imagePlatforms: { 'amd64-only:1': ['linux/amd64'] } });
    await withNamespace(c);
    await apply(c, dsPath('socket'), daemonSet('socket', 'img:1', {
      volumes: [{ name: 'runtime', hostPath: { path: '/var/run/containerd/containerd.sock', type: 'Socket' } }],
      mounts: [{ name: 'runtime', mountPath: '/var/run/containerd/containerd.sock' }],
    }));
    await apply(c, dsPath('amd64-only'), daemonSet('amd64-only', 'amd64-only:1'));
    await c.settle();
    const pods = c.list('v1', 'Pod', 'qualys-sensor');
    const on = (ds: string, node: string) => pods.find((p) => p.metadata.labels.app === ds && p.spec.nodeName === node);
    expect(on('socket', 'lin').status.phase).toBe('Running');
    expect(on('socket', 'win').status.containerStatuses[0].state.waiting.reason).toBe('ContainerCreating');
    expect(on('amd64-only', 'lin').status.phase).toBe('Running');
    await new Promise((r) => setTimeout(r, 400));
    await c.settle();
    const arm = c.get('v1', 'Pod', 'qualys-sensor', on('amd64-only', 'arm').metadata.name);
    expect(arm.status.phase).toBe('Pending');
    expect(arm.status.containerStatuses[0].state.waiting).toEqual({ reason: 'ImagePullBackOff', message: 'Back-off pulling image "amd64-only:1"' });
    const events = await call(c, 'GET', `/api/v1/namespaces/qualys-sensor/events?fieldSelector=involvedObject.name%3D${arm.metadata.name}`);
    expect(events.body.items).toContainEqual(expect.objectContaining({
      reason: 'Failed', type: 'Warning',
      message: 'Failed to pull image "amd64-only:1": rpc error: code = NotFound desc = failed to pull and unpack image "docker.io/library/amd64-only:1": no match for platform in manifest: not found',
    }));
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

describe('GKE Autopilot admission (Warden) and partner allowlists', () => {
  const allowlist = JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/kubernetes/workloadallowlist-qualys-sensor.json'), 'utf8')) as WorkloadAllowlist;
  const autopilot = (allowlists: WorkloadAllowlist[] = []) =>
    server.addCluster(`t${process.pid}-${++seq}`, { nodes: [{ name: 'gk3-autopilot-pool-1' }], authenticate: async (t) => (t === TOKEN ? 'sensorfleet@proj.iam.gserviceaccount.com' : null), admission: 'gke-autopilot', autopilotAllowlists: allowlists });
  /** The privileged shape of the Qualys sensor: SYS_ADMIN, the runtime socket and writable host directories. */
  const sensorDs = (labels: Record<string, string> = {}, image = 'qualys/qcs-sensor:1.34.1-0') => {
    const ds = daemonSet('qualys-container-sensor', image, {
      volumes: [
        { name: 'runtime-socket', hostPath: { path: '/var/run/containerd/containerd.sock', type: 'Socket' } },
        { name: 'sensor-data', hostPath: { path: '/usr/local/qualys/sensor/data', type: 'DirectoryOrCreate' } },
      ],
      mounts: [{ name: 'runtime-socket', mountPath: '/var/run/containerd/containerd.sock', readOnly: true }, { name: 'sensor-data', mountPath: '/usr/local/qualys/qpa/data' }],
    });
    const c: any = ds.spec.template.spec.containers[0];
    c.name = 'qualys-container-sensor';
    c.securityContext = { privileged: false, allowPrivilegeEscalation: true, capabilities: { drop: ['ALL'], add: ['SYS_ADMIN', 'DAC_OVERRIDE', 'SETUID', 'SETGID'] } };
    Object.assign(ds.spec.template.metadata.labels, labels);
    return ds;
  };

  it('denies a privileged DaemonSet with the Warden 403 (dry runs too) and stores nothing', async () => {
    const c = autopilot();
    await withNamespace(c);
    const dry = await apply(c, dsPath('qualys-container-sensor'), sensorDs(), 'fieldManager=sensorfleet&dryRun=All');
    expect(dry.status).toBe(403);
    const r = await apply(c, dsPath('qualys-container-sensor'), sensorDs());
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'GKE Warden constraints violations', code: 403 });
    expect(r.body.message).toBe(
      'admission webhook "warden-validating.common-webhooks.networking.gke.io" denied the request: GKE Warden rejected the request because it violates one or more constraints.\n' +
        'Violations details: {"[denied by autogke-default-linux-capabilities]":["linux capability \'SYS_ADMIN\' on container \'qualys-container-sensor\' not allowed; Autopilot only allows the capabilities: \'AUDIT_WRITE,CHOWN,DAC_OVERRIDE,FOWNER,FSETID,KILL,MKNOD,NET_BIND_SERVICE,NET_RAW,SETFCAP,SETGID,SETPCAP,SETUID,SYS_CHROOT,SYS_PTRACE\'."],' +
        '"[denied by autogke-no-write-mode-hostpath]":["hostPath volume runtime-socket used in container qualys-container-sensor uses path /var/run/containerd/containerd.sock which is not allowed in Autopilot. Allowed path prefixes for hostPath volumes are: [/var/log/].","hostPath volume sensor-data in container qualys-container-sensor is accessed in write mode; disallowed in Autopilot."]}\n' +
        "Requested by user: 'sensorfleet@proj.iam.gserviceaccount.com', groups: 'system:authenticated'.",
    );
    expect(c.get('apps/v1', 'DaemonSet', 'qualys-sensor', 'qualys-container-sensor')).toBeUndefined();
    // privileged containers, host namespaces and host ports are constraints of their own
    const worse = sensorDs();
    Object.assign(worse.spec.template.spec as any, { hostPID: true, hostNetwork: true });
    (worse.spec.template.spec.containers[0] as any).securityContext.privileged = true;
    (worse.spec.template.spec.containers[0] as any).ports = [{ containerPort: 9100, hostPort: 9100 }];
    const msg = (await apply(c, dsPath('qualys-container-sensor'), worse)).body.message as string;
    const details = JSON.parse(/Violations details: (.*)\n/.exec(msg)![1]!);
    expect(Object.keys(details)).toEqual(['[denied by autogke-default-linux-capabilities]', '[denied by autogke-disallow-hostnamespaces]', '[denied by autogke-disallow-privilege]', '[denied by autogke-no-host-port]', '[denied by autogke-no-write-mode-hostpath]']);
    expect(details['[denied by autogke-disallow-hostnamespaces]']).toEqual(['enabling hostPID is not allowed in Autopilot.', 'enabling hostNetwork is not allowed in Autopilot.']);
    expect(details['[denied by autogke-disallow-privilege]']).toEqual(['container qualys-container-sensor is privileged; not allowed in Autopilot']);
    expect(details['[denied by autogke-no-host-port]']).toEqual(['container qualys-container-sensor specifies host ports [9100], which are disallowed in Autopilot.']);
  });

  it('admits an unprivileged workload without any allowlist', async () => {
    const c = autopilot();
    await withNamespace(c);
    expect((await apply(c, dsPath('plain'), daemonSet('plain', 'img:1'))).status).toBe(201);
  });

  it('an installed allowlist that the workload matches exempts its constraints; the controller then runs the pods', async () => {
    const c = autopilot([allowlist]);
    await withNamespace(c);
    expect((await apply(c, dsPath('qualys-container-sensor'), sensorDs())).status).toBe(201);
    await c.settle();
    expect(c.list('v1', 'Pod', 'qualys-sensor').map((p) => p.status.phase)).toEqual(['Running']);
    // named through the label: same answer; a new sensor version (tag) still matches the image repository
    expect((await apply(c, dsPath('qualys-container-sensor'), sensorDs({ 'cloud.google.com/matching-allowlist': allowlist.metadata.name }, 'qualys/qcs-sensor:1.35.0-0'))).status).toBe(200);
  });

  it('names why a labelled workload is refused: allowlist missing, image or capability outside it, constraint not exempted', async () => {
    const c = autopilot();
    await withNamespace(c);
    const label = { 'cloud.google.com/matching-allowlist': allowlist.metadata.name };
    const missing = await apply(c, dsPath('qualys-container-sensor'), sensorDs(label));
    expect(missing.status).toBe(403);
    expect(missing.body.message).toContain(`Allowlist details: WorkloadAllowlist "${allowlist.metadata.name}" is not installed on this cluster.`);

    c.installAllowlist(allowlist);
    const mirrored = await apply(c, dsPath('qualys-container-sensor'), sensorDs(label, 'registry.example.com/qualys/qcs-sensor:1.34.1-0'));
    expect(mirrored.status).toBe(403);
    expect(mirrored.body.message).toContain(`Allowlist details: workload does not match WorkloadAllowlist "${allowlist.metadata.name}": container "qualys-container-sensor": image "registry.example.com/qualys/qcs-sensor:1.34.1-0" is not qualys/qcs-sensor.`);

    const moreCaps = sensorDs(label);
    (moreCaps.spec.template.spec.containers[0] as any).securityContext.capabilities.add.push('NET_ADMIN');
    expect((await apply(c, dsPath('qualys-container-sensor'), moreCaps)).body.message).toContain('capabilities NET_ADMIN are not in the allowlist');

    const narrow = structuredClone(allowlist);
    narrow.exemptions = ['autogke-default-linux-capabilities'];
    c.installAllowlist(narrow);
    const partly = await apply(c, dsPath('qualys-container-sensor'), sensorDs(label));
    expect(partly.status).toBe(403);
    expect(Object.keys(JSON.parse(/Violations details: (.*)\n/.exec(partly.body.message)![1]!))).toEqual(['[denied by autogke-no-write-mode-hostpath]']);
    expect(partly.body.message).toContain(`WorkloadAllowlist "${allowlist.metadata.name}" does not exempt autogke-no-write-mode-hostpath`);

    c.installAllowlist(allowlist);
    expect((await apply(c, dsPath('qualys-container-sensor'), sensorDs(label))).status).toBe(201);
    c.removeAllowlist(allowlist.metadata.name);
    // an update is admitted again, so a removed allowlist blocks the next apply
    expect((await apply(c, dsPath('qualys-container-sensor'), sensorDs(label))).status).toBe(403);
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

  it('kubectl with a client-certificate kubeconfig (AKS local account shape) is admitted; a foreign CA\'s is not', async () => {
    const clientCa = createCa('aks-cluster-ca');
    const c = server.addCluster(`t${process.pid}-${++seq}`, { nodes: [{ name: 'aks-nodepool1-0' }], authenticateCertificate: clientCaAuthenticator(clientCa.certPem) });
    const dir = mkdtempSync(join(tmpdir(), 'sandbox-kube-cert-'));
    const kubectl = async (cert: { certPem: string; keyPem: string }, ...args: string[]) => {
      const file = join(dir, `config-${randomName()}`);
      writeFileSync(file, c.kubeconfig({ clientCertificate: cert }));
      return (await run('kubectl', ['--kubeconfig', file, '--cache-dir', join(dir, 'cache'), ...args], { timeout: 20_000 })).stdout;
    };
    // AKS local accounts: kubeconfig user clusterUser_<rg>_<cluster>, certificate CN masterclient, O system:masters
    const user = issueCertificate(clientCa, { commonName: 'masterclient', organizations: ['system:masters'], usage: 'client' });
    expect(await kubectl(user, 'get', 'nodes')).toMatch(/aks-nodepool1-0\s+Ready/);
    const foreign = issueCertificate(createCa('other-ca'), { commonName: 'masterclient', organizations: ['system:masters'], usage: 'client' });
    await expect(kubectl(foreign, 'get', 'nodes')).rejects.toThrow(/Unauthorized|provide credentials/i);
  });
});

function randomName(): string {
  return Math.random().toString(36).slice(2, 10);
}
