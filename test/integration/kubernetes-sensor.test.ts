import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../shared/config/schema';
import { applyKubernetesPlan } from '../../shared/platforms/kubernetes/apply';
import { KubeClient } from '../../shared/platforms/kubernetes/client';
import { KubeApiError } from '../../shared/platforms/kubernetes/errors';
import { kubernetesOperations, observeKubernetes, verifyKubernetes, type KubeHandle } from '../../shared/platforms/kubernetes/lifecycle';
import { planKubernetes } from '../../shared/platforms/kubernetes/plan';
import type { ConnectedCluster, DesiredSensor } from '../../shared/platforms/types';
import { CallCounter, countCalls } from '../../shared/runtime/call-log';
import { FakeKubeApiServer, WINDOWS_NODE_TAINT, type FakeKubeCluster, type NodeSpec } from '../sandbox/kube';
import { createCa } from '../sandbox/kube/tls';

const run = promisify(execFile);
const CREDS = { activationId: 'itest-activation-7e21', customerId: 'itest-customer-03b9' };
const FAST = { deadlineMs: 8_000, pollMs: 100 };

function desiredWith(sensor: Record<string, unknown> = {}): DesiredSensor {
  return { config: configSchema.parse({ sensor }), credentials: CREDS, podUrl: 'https://cmsqagpublic.qg2.apps.qualys.com/ContainerSensor' };
}

let server: FakeKubeApiServer;
const token = `itest-${randomBytes(12).toString('hex')}`;

beforeAll(async () => {
  server = await FakeKubeApiServer.start();
});
afterAll(async () => {
  await server?.stop();
});

function newCluster(nodes: NodeSpec[], crashingImages?: string[]): { cluster: FakeKubeCluster; client: KubeClient; id: string } {
  const id = `k-${randomBytes(4).toString('hex')}`;
  const cluster = server.addCluster(id, { nodes, authenticate: async (t) => (t === token ? 'system:serviceaccount:sensorfleet:itest' : null), ...(crashingImages ? { crashingImages: new Set(crashingImages) } : {}) });
  const client = new KubeClient({ server: cluster.endpoint, caPem: server.caPem, token: async () => token, retry: { attempts: 4, baseDelayMs: 20, maxDelayMs: 200 } });
  return { cluster, client, id };
}

async function reconcile(client: KubeClient, desired: DesiredSensor, id: string, options: { force?: 'restart' | 'redeploy' } = {}) {
  const observed = await observeKubernetes(client, id, desired);
  const plan = planKubernetes(desired, observed, options);
  const outcome = await applyKubernetesPlan(client, plan);
  return { plan, outcome };
}

async function kubectl(cluster: FakeKubeCluster, ...args: string[]): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'kubecfg-'));
  const file = join(dir, 'config');
  writeFileSync(file, cluster.kubeconfig(token));
  const { stdout } = await run('kubectl', ['--kubeconfig', file, ...args], { timeout: 20_000 });
  return stdout;
}

describe('Kubernetes module against the sandbox API server', () => {
  const desired = desiredWith();
  let main: ReturnType<typeof newCluster>;

  beforeAll(() => {
    main = newCluster([{ name: 'node-a' }, { name: 'node-b' }, { name: 'node-c' }]);
  });

  it('first apply creates every object (a create, which fails if the object exists), then every node is covered', async () => {
    const { plan, outcome } = await reconcile(main.client, desired, main.id);
    expect(plan.actions).toHaveLength(12);
    expect(outcome).toEqual({ applied: 12, rolloutStarted: true });
    const creates = main.cluster.requests.filter((r) => r.method === 'POST');
    expect(creates).toHaveLength(12);
    for (const r of creates) {
      expect(r.contentType).toBe('application/json');
      expect(new URLSearchParams(r.query).get('fieldManager')).toBe('sensorfleet');
      expect(r.status).toBe(201);
    }
    expect(creates[0]!.path).toBe('/api/v1/namespaces');
    expect(creates.at(-1)!.path).toBe('/apis/apps/v1/namespaces/qualys-sensor/daemonsets');

    const coverage = await verifyKubernetes(main.client, desired, FAST);
    expect(coverage).toMatchObject({ total: 3, covered: 3, uncovered: [], sensorVersion: '1.34.1-0' });
    expect(coverage.rollout.state).toBe('complete');
    // the DaemonSet's status or, read a moment later, the pods themselves: every node runs a ready pod
    expect(coverage.rollout.message).toMatch(/3 of 3 updated pods are available|current revision \(3 of 3\)/);

    // what the product created, seen through kubectl
    const ds = JSON.parse(await kubectl(main.cluster, 'get', 'daemonset', '-n', 'qualys-sensor', 'qualys-container-sensor', '-o', 'json', '--show-managed-fields'));
    expect(ds.metadata.managedFields.some((m: any) => m.manager === 'sensorfleet' && m.operation === 'Apply')).toBe(true);
    expect(await kubectl(main.cluster, 'get', 'pods', '-n', 'qualys-sensor', '-o', 'name')).toMatch(/pod\/qualys-container-sensor-/);
  });

  it('in sync: zero actions, zero writes, within the read budget (one per managed object + one node list)', async () => {
    const before = main.cluster.requests.length;
    const counter = new CallCounter();
    const handle: KubeHandle = { kube: main.client };
    const connected: ConnectedCluster<KubeHandle> = { ref: { platform: 'aws-eks', scope: '111122223333', location: 'us-east-1', name: main.id }, status: 'ACTIVE', tags: {}, handle };
    const ops = kubernetesOperations<KubeHandle>();
    const { plan, coverage } = await countCalls(counter, async () => {
      const observed = await ops.observe(connected, desired, main.id);
      const p = ops.plan(desired, observed, {});
      return { plan: p, coverage: await ops.verify(connected, desired, FAST) };
    });
    const requests = main.cluster.requests.slice(before);
    const writes = requests.filter((r) => r.method !== 'GET');
    console.log(`in-sync Kubernetes cluster: ${requests.length} requests (${requests.length - writes.length} reads, ${writes.length} writes): ${requests.map((r) => `${r.method} ${r.path}`).join(', ')}`);
    expect(plan.actions).toEqual([]);
    expect(writes).toEqual([]);
    expect(requests.length).toBeLessThanOrEqual(12 + 1);
    expect(requests.filter((r) => r.path.endsWith('/nodes'))).toHaveLength(1);
    expect(requests.some((r) => r.path.endsWith('/pods'))).toBe(false);
    expect(counter.writes).toBe(0);
    expect(counter.reads).toBe(requests.length);
    expect(coverage).toMatchObject({ total: 3, covered: 3, uncovered: [] });
  });

  it('drift from kubectl edits (image, resources, rolling update) is detected with field and values, fixed, and rolled out', async () => {
    // what `kubectl edit` sends for a container change: a strategic merge patch (containers merge by name)
    await kubectl(main.cluster, 'patch', 'daemonset', '-n', 'qualys-sensor', 'qualys-container-sensor', '--type', 'strategic', '-p',
      JSON.stringify({ spec: { template: { spec: { containers: [{ name: 'qualys-container-sensor', image: 'qualys/qcs-sensor:1.33.2-0', resources: { limits: { memory: '768Mi' } } }] } } } }));
    await kubectl(main.cluster, 'patch', 'daemonset', '-n', 'qualys-sensor', 'qualys-container-sensor', '--type', 'merge', '-p',
      JSON.stringify({ spec: { updateStrategy: { rollingUpdate: { maxUnavailable: 3 } } } }));
    await kubectl(main.cluster, 'label', 'namespace', 'qualys-sensor', '--overwrite', 'pod-security.kubernetes.io/enforce=baseline');
    const { plan, outcome } = await reconcile(main.client, desired, main.id);
    expect(plan.actions.map((a) => a.reason)).toEqual([
      'Namespace qualys-sensor: metadata.labels.pod-security.kubernetes.io/enforce differs (want privileged, have baseline)',
      'DaemonSet qualys-sensor/qualys-container-sensor: spec.updateStrategy.rollingUpdate.maxUnavailable differs (want 10%, have 3); ' +
        'DaemonSet qualys-sensor/qualys-container-sensor: spec.template.spec.containers[qualys-container-sensor].image differs (want qualys/qcs-sensor:1.34.1-0, have qualys/qcs-sensor:1.33.2-0); ' +
        'DaemonSet qualys-sensor/qualys-container-sensor: spec.template.spec.containers[qualys-container-sensor].resources.limits.memory differs (want 1Gi, have 768Mi)',
    ]);
    expect(plan.sensorVersion.current).toBe('1.33.2-0');
    expect(outcome).toEqual({ applied: 2, rolloutStarted: true });
    const coverage = await verifyKubernetes(main.client, desired, FAST);
    expect(coverage).toMatchObject({ total: 3, covered: 3, sensorVersion: '1.34.1-0' });
    expect((await reconcile(main.client, desired, main.id)).plan.actions).toEqual([]);
  });

  it("force 'restart' rolls every pod through a template annotation we own", async () => {
    const podsBefore = main.cluster.list('v1', 'Pod', 'qualys-sensor').map((p) => p.metadata.name).sort();
    const { plan, outcome } = await reconcile(main.client, desired, main.id, { force: 'restart' });
    expect(plan.actions.map((a) => a.type)).toEqual(['restart']);
    expect(outcome).toEqual({ applied: 1, rolloutStarted: true });
    const coverage = await verifyKubernetes(main.client, desired, FAST);
    expect(coverage).toMatchObject({ total: 3, covered: 3 });
    const podsAfter = main.cluster.list('v1', 'Pod', 'qualys-sensor').map((p) => p.metadata.name).sort();
    expect(podsAfter.some((p) => podsBefore.includes(p))).toBe(false);
    // the stamp is kept on later applies: back in sync, nothing written
    expect((await reconcile(main.client, desired, main.id)).plan.actions).toEqual([]);
  });
});

describe('mixed clusters: nodes outside the sensor image\'s OS/architecture are out of scope', () => {
  const desired = desiredWith();
  let mixed: ReturnType<typeof newCluster>;

  beforeAll(() => {
    // AKS-style: Linux amd64 system pool, an arm64 pool, a Windows pool (AKS adds no taint to it) and a
    // GKE-style Windows node with the taint GKE adds (the sensor tolerates every NoSchedule taint anyway)
    mixed = newCluster([
      { name: 'aks-system-0' },
      { name: 'aks-arm64-0', arch: 'arm64' },
      { name: 'akswin000000', os: 'windows' },
      { name: 'gke-win-pool-0', os: 'windows', taints: [WINDOWS_NODE_TAINT] },
    ]);
  });

  it('the DaemonSet runs only on Linux amd64/arm64 nodes; Windows nodes are listed out of scope, not uncovered', async () => {
    await reconcile(mixed.client, desired, mixed.id);
    const coverage = await verifyKubernetes(mixed.client, desired, FAST);
    expect(coverage).toMatchObject({ total: 2, covered: 2, uncovered: [], nodeNames: ['aks-arm64-0', 'aks-system-0'] });
    expect(coverage.outOfScope).toEqual([
      { node: 'akswin000000', reason: 'kubernetes.io/os=windows: the sensor image supports linux only' },
      { node: 'gke-win-pool-0', reason: 'kubernetes.io/os=windows: the sensor image supports linux only' },
    ]);
    expect(coverage.rollout.state).toBe('complete');
    const ds = mixed.cluster.get('apps/v1', 'DaemonSet', 'qualys-sensor', 'qualys-container-sensor');
    expect(ds.status).toMatchObject({ desiredNumberScheduled: 2, numberAvailable: 2, numberMisscheduled: 0 });
    expect(mixed.cluster.list('v1', 'Pod', 'qualys-sensor').map((p) => p.spec.nodeName).sort()).toEqual(['aks-arm64-0', 'aks-system-0']);
  });

  it('in sync on a mixed cluster: answered from DaemonSet status (one read per object + one node list, no pod list, zero writes)', async () => {
    const before = mixed.cluster.requests.length;
    const ops = kubernetesOperations<KubeHandle>();
    const connected: ConnectedCluster<KubeHandle> = { ref: { platform: 'azure-aks', scope: '00000000-0000-0000-0000-0000000000aa', location: 'rg-mixed', name: mixed.id }, status: 'Succeeded', tags: {}, handle: { kube: mixed.client } };
    const observed = await ops.observe(connected, desired, mixed.id);
    const plan = ops.plan(desired, observed, {});
    const coverage = await ops.verify(connected, desired, FAST);
    const requests = mixed.cluster.requests.slice(before);
    expect(plan.actions).toEqual([]);
    expect(requests.filter((r) => r.method !== 'GET')).toEqual([]);
    expect(requests).toHaveLength(12 + 1);
    expect(requests.filter((r) => r.path.endsWith('/nodes'))).toHaveLength(1);
    expect(requests.some((r) => r.path.endsWith('/pods'))).toBe(false);
    expect(coverage).toMatchObject({ total: 2, covered: 2, uncovered: [] });
    expect(coverage.outOfScope?.map((o) => o.node)).toEqual(['akswin000000', 'gke-win-pool-0']);
  });

  it('architectures narrowed in config: arm64 nodes become out of scope and their pods are removed by the controller', async () => {
    const amd64Only = desiredWith({ nodeSelection: { architectures: ['amd64'] } });
    const { plan } = await reconcile(mixed.client, amd64Only, mixed.id);
    expect(plan.actions.map((a) => a.reason)).toEqual([
      'DaemonSet qualys-sensor/qualys-container-sensor: spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms differs (want node affinity kubernetes.io/os in (linux), kubernetes.io/arch in (amd64), have node affinity kubernetes.io/os in (linux), kubernetes.io/arch in (amd64,arm64))',
    ]);
    const coverage = await verifyKubernetes(mixed.client, amd64Only, FAST);
    expect(coverage).toMatchObject({ total: 1, covered: 1, uncovered: [] });
    expect(coverage.outOfScope).toContainEqual({ node: 'aks-arm64-0', reason: 'kubernetes.io/arch=arm64: the sensor image supports amd64 only' });
    await mixed.cluster.settle();
    expect(mixed.cluster.list('v1', 'Pod', 'qualys-sensor').map((p) => p.spec.nodeName)).toEqual(['aks-system-0']);
    await reconcile(mixed.client, desired, mixed.id);
  });

  it('a foreign nodeSelector that excludes in-scope nodes: those are uncovered with the reason, without waiting for the deadline', async () => {
    const { cluster, client, id } = newCluster([{ name: 'pool-a-0', labels: { pool: 'a' } }, { name: 'pool-b-0', labels: { pool: 'b' } }]);
    await reconcile(client, desired, id);
    await kubectl(cluster, 'patch', 'daemonset', '-n', 'qualys-sensor', 'qualys-container-sensor', '--type', 'merge', '-p', JSON.stringify({ spec: { template: { spec: { nodeSelector: { pool: 'a' } } } } }));
    await cluster.settle();
    const started = Date.now();
    const coverage = await verifyKubernetes(client, desired, { deadlineMs: 5_000, pollMs: 100 });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(coverage).toMatchObject({ total: 2, covered: 1 });
    expect(coverage.uncovered).toEqual([{ node: 'pool-b-0', reason: 'not selected by the sensor DaemonSet: its nodeSelector/node affinity excludes this node (not set by sensorfleet)' }]);
    expect(coverage.outOfScope).toBeUndefined();
    // and the plan names the edit for a person (server-side apply cannot remove another manager's field)
    const { plan } = await reconcile(client, desired, id);
    expect(plan.actions.map((a) => [a.type, a.reason])).toEqual([
      ['finding', 'DaemonSet qualys-sensor/qualys-container-sensor: drift not owned by sensorfleet: nodeSelector pool=a (limits the nodes the sensor runs on); remove it by hand or find who added it'],
    ]);
  });
});

describe('on-call redeploy', () => {
  it("force 'redeploy' re-applies every object and replaces every pod, then the cluster is back in sync", async () => {
    const desired = desiredWith();
    const { cluster, client, id } = newCluster([{ name: 'r-1' }, { name: 'r-2' }]);
    await reconcile(client, desired, id);
    expect((await verifyKubernetes(client, desired, FAST)).covered).toBe(2);
    const podsBefore = cluster.list('v1', 'Pod', 'qualys-sensor').map((p) => p.metadata.uid);
    // applies that went through (one the DaemonSet controller's status write beat to it is refused and redone)
    const applied = () => cluster.requests.filter((r) => r.method === 'PATCH' && r.status < 300).length;
    const writesBefore = applied();
    const { plan, outcome } = await reconcile(client, desired, id, { force: 'redeploy' });
    expect(plan.actions.map((a) => a.type)).toEqual([...Array(11).fill('apply'), 'restart']);
    expect(outcome).toEqual({ applied: 12, rolloutStarted: true });
    expect(applied() - writesBefore).toBe(12);
    expect(await verifyKubernetes(client, desired, FAST)).toMatchObject({ total: 2, covered: 2 });
    expect(cluster.list('v1', 'Pod', 'qualys-sensor').some((p) => podsBefore.includes(p.metadata.uid))).toBe(false);
    expect((await reconcile(client, desired, id)).plan.actions).toEqual([]);
  });
});

describe('coverage reasons, findings and stuck rollouts', () => {
  const desired = desiredWith();
  it('a foreign sidecar is reported as a finding and left for a person; an unmarked object is left alone', async () => {
    const side = newCluster([{ name: 'side-1' }]);
    await reconcile(side.client, desired, side.id);
    await kubectl(side.cluster, 'patch', 'daemonset', '-n', 'qualys-sensor', 'qualys-container-sensor', '--type', 'strategic', '-p',
      JSON.stringify({ spec: { template: { spec: { containers: [{ name: 'sidecar', image: 'busybox:1.36' }] } } } }));
    await kubectl(side.cluster, 'label', 'clusterrole', 'sensorfleet-qualys-cluster-reader', `app.kubernetes.io/managed-by-`);
    const before = side.cluster.requests.filter((r) => r.method !== 'GET').length;
    const { plan, outcome } = await reconcile(side.client, desired, side.id);
    expect(plan.actions.map((a) => [a.type, a.reason])).toEqual([
      ['finding', 'ClusterRole sensorfleet-qualys-cluster-reader: exists, not managed by sensorfleet; left alone'],
      ['finding', 'DaemonSet qualys-sensor/qualys-container-sensor: drift not owned by sensorfleet: extra container "sidecar" (image busybox:1.36); remove it by hand or find who added it'],
    ]);
    expect(outcome.applied).toBe(0);
    expect(side.cluster.requests.filter((r) => r.method !== 'GET').length).toBe(before);
  });

  it('lists a tainted node the DaemonSet does not tolerate, naming the taint', async () => {
    const { client, id } = newCluster([{ name: 'plain' }, { name: 'gpu-1', taints: [{ key: 'nvidia.com/gpu', value: 'present', effect: 'NoSchedule' }] }]);
    const desired = desiredWith({ tolerations: [{ key: 'CriticalAddonsOnly', operator: 'Exists' }] });
    await reconcile(client, desired, id);
    const coverage = await verifyKubernetes(client, desired, FAST);
    expect(coverage.total).toBe(2);
    expect(coverage.covered).toBe(1);
    expect(coverage.uncovered).toEqual([{ node: 'gpu-1', reason: 'taint nvidia.com/gpu=present:NoSchedule not tolerated by the sensor DaemonSet' }]);
    // waiting cannot fix a taint: verify returns as soon as the rollout is complete
    expect(coverage.rollout.state).toBe('complete');
  });

  it('negative: a docker-socket-only mount stays pending on containerd nodes (reported stuck), ours then runs', async () => {
    const { client, id } = newCluster([{ name: 'cd-1' }, { name: 'cd-2' }]);
    const seedsLike = desiredWith({ containerRuntime: 'docker' });
    await reconcile(client, seedsLike, id);
    const stuck = await verifyKubernetes(client, seedsLike, { deadlineMs: 1_500, pollMs: 100 });
    expect(stuck.rollout.state).toBe('stuck');
    expect(stuck.covered).toBe(0);
    expect(stuck.uncovered).toHaveLength(2);
    for (const u of stuck.uncovered) expect(u.reason).toMatch(/^pending: ContainerCreating \(FailedMount: .*hostPath type check failed: \/var\/run\/docker\.sock is not a socket file\)$/);
    expect(stuck.rollout.message).toMatch(/not finished within 2 s/);

    const ours = desiredWith();
    const { plan } = await reconcile(client, ours, id);
    expect(plan.actions.map((a) => a.target)).toEqual(['DaemonSet qualys-sensor/qualys-container-sensor']);
    const coverage = await verifyKubernetes(client, ours, FAST);
    expect(coverage).toMatchObject({ total: 2, covered: 2, uncovered: [] });
    expect(coverage.rollout.state).toBe('complete');
  });

  it('a crash-looping image is reported stuck by the deadline with the crash reason', async () => {
    const bad = 'qualys/qcs-sensor:9.9.9-crash';
    const { client, id } = newCluster([{ name: 'w-1' }, { name: 'w-2' }], [bad]);
    const desired = desiredWith({ version: '9.9.9-crash' });
    await reconcile(client, desired, id);
    const started = Date.now();
    const coverage = await verifyKubernetes(client, desired, { deadlineMs: 2_000, pollMs: 200 });
    expect(Date.now() - started).toBeLessThan(6_000);
    expect(coverage.rollout.state).toBe('stuck');
    expect(coverage.rollout.message).toMatch(/0 of 2 updated pods are available; not finished within 2 s; w-1: crash looping \(CrashLoopBackOff, \d+ restarts\)/);
    expect(coverage.covered).toBe(0);
  });
});

describe('Kubernetes client', () => {
  it('retries 429 honouring Retry-After and 5xx, and counts every attempt', async () => {
    const { cluster, client } = newCluster([{ name: 'n1' }]);
    cluster.faults.failNext = { status: 429, count: 1, retryAfterSeconds: 1 };
    const counter = new CallCounter();
    const started = Date.now();
    const nodes = await countCalls(counter, () => client.list('v1', 'Node'));
    expect(nodes.map((n) => n.metadata.name)).toEqual(['n1']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    cluster.faults.failNext = { status: 503, count: 2 };
    expect(await countCalls(counter, () => client.get({ apiVersion: 'v1', kind: 'Namespace', name: 'default' }))).toMatchObject({ metadata: { name: 'default' } });
    expect(counter.byOperation()).toEqual({ 'kubernetes:list nodes': 2, 'kubernetes:get namespaces': 3 });
  });

  it('lists follow continue tokens; merge patch and delete speak the REST verbs', async () => {
    const { cluster, client } = newCluster([{ name: 'p-1' }, { name: 'p-2' }, { name: 'p-3' }]);
    const before = cluster.requests.length;
    expect((await client.list('v1', 'Node', { limit: 2 })).map((n) => n.metadata.name).sort()).toEqual(['p-1', 'p-2', 'p-3']);
    expect(cluster.requests.slice(before).map((r) => new URLSearchParams(r.query).has('continue'))).toEqual([false, true]);
    const ref = { apiVersion: 'v1', kind: 'ServiceAccount', namespace: 'default', name: 'patched' };
    await client.apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'patched', namespace: 'default' } });
    const patched = await client.patch(ref, { metadata: { labels: { tier: 'x' } } });
    expect(patched.metadata.labels).toEqual({ tier: 'x' });
    expect(cluster.requests.at(-1)!.contentType).toBe('application/merge-patch+json');
    expect(await client.delete(ref)).toBe(true);
    expect(await client.delete(ref)).toBe(false);
  });

  it('times out a slow answer on every attempt and gives up after the last one', async () => {
    const { cluster } = newCluster([{ name: 'slow-1' }]);
    cluster.faults.latencyMs = 400;
    const client = new KubeClient({ server: cluster.endpoint, caPem: server.caPem, token: async () => token, timeoutMs: 100, retry: { attempts: 2, baseDelayMs: 10, maxDelayMs: 20 } });
    const counter = new CallCounter();
    await expect(countCalls(counter, () => client.list('v1', 'Node'))).rejects.toThrow(/GET .*\/api\/v1\/nodes: no answer within 100 ms/);
    expect(counter.calls).toHaveLength(2);
    cluster.faults.latencyMs = 0;
  });

  it('retries a dropped connection', async () => {
    const { cluster, client } = newCluster([{ name: 'n1' }]);
    cluster.faults.dropConnections = 1;
    expect(await client.list('v1', 'Node')).toHaveLength(1);
  });

  it('errors carry status and reason from the Status body, never the token; 404 on get is undefined', async () => {
    const { cluster } = newCluster([{ name: 'n1' }]);
    const wrong = `wrong-${randomBytes(8).toString('hex')}`;
    const refused = new KubeClient({ server: cluster.endpoint, caPem: server.caPem, token: async () => wrong });
    const err = await refused.list('v1', 'Node').catch((e) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect(err.status).toBe(401);
    expect(err.reason).toBe('Unauthorized');
    expect(`${err.message} ${err.stack}`).not.toContain(wrong);
    const ok = new KubeClient({ server: cluster.endpoint, caPem: server.caPem, token: async () => token });
    expect(await ok.get({ apiVersion: 'v1', kind: 'Secret', namespace: 'default', name: 'nope' })).toBeUndefined();
    const invalid = await ok.apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'Not_Valid', namespace: 'default' } }).catch((e) => e);
    expect(invalid).toBeInstanceOf(KubeApiError);
    expect(invalid.status).toBe(422);
  });

  it('verifies TLS against the given CA only (not the process-wide store that trusts the sandbox CA)', async () => {
    const { cluster } = newCluster([{ name: 'n1' }]);
    const client = new KubeClient({ server: cluster.endpoint, caPem: createCa('some-other-cluster-ca').certPem, token: async () => token, retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 } });
    await expect(client.list('v1', 'Node')).rejects.toThrow(/certificate/);
  });

  it('server-side apply dryRun=All changes nothing and is not counted as a write', async () => {
    const { cluster, client } = newCluster([{ name: 'n1' }]);
    const counter = new CallCounter();
    const sa = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'dry', namespace: 'default' } };
    const out = await countCalls(counter, () => client.apply(sa, { dryRun: true }));
    expect(out.metadata.name).toBe('dry');
    expect(cluster.get('v1', 'ServiceAccount', 'default', 'dry')).toBeUndefined();
    expect(new URLSearchParams(cluster.requests.at(-1)!.query).get('dryRun')).toBe('All');
    expect(counter.writes).toBe(0);
  });
});
