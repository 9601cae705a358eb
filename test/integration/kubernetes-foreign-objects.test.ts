import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../shared/config/schema';
import { reconcileCluster } from '../../shared/engine/reconcile';
import { applyKubernetesPlan } from '../../shared/platforms/kubernetes/apply';
import { KubeClient } from '../../shared/platforms/kubernetes/client';
import { ForeignObjectError } from '../../shared/platforms/kubernetes/errors';
import { kubernetesOperations, observeKubernetes, verifyKubernetes, type KubeHandle } from '../../shared/platforms/kubernetes/lifecycle';
import { planKubernetes } from '../../shared/platforms/kubernetes/plan';
import type { DesiredSensor, PlatformAdapter } from '../../shared/platforms/types';
import { FakeKubeApiServer, type FakeKubeCluster, type NodeSpec } from '../sandbox/kube';

/**
 * Objects that are not ours are never changed (issue 7, Safety): an object someone else creates
 * between observe and apply makes our create fail (POST, 409 AlreadyExists) instead of being merged
 * into, and a DaemonSet with the sensor's name but without our mark is neither converged nor coverage.
 */
const CREDS = { activationId: 'ours-activation-51c2', customerId: 'ours-customer-7d10' };
const FAST = { deadlineMs: 6_000, pollMs: 100 };
const token = `itest-${randomBytes(12).toString('hex')}`;
const desired: DesiredSensor = { config: configSchema.parse({}), credentials: CREDS, podUrl: 'https://cmsqagpublic.qg2.apps.qualys.com/ContainerSensor' };
const NS = desired.config.sensor.namespace;

let server: FakeKubeApiServer;
beforeAll(async () => {
  server = await FakeKubeApiServer.start();
});
afterAll(async () => {
  await server?.stop();
});

function newCluster(nodes: NodeSpec[] = [{ name: 'n-1' }, { name: 'n-2' }]): { cluster: FakeKubeCluster; client: KubeClient; id: string } {
  const id = `f-${randomBytes(4).toString('hex')}`;
  const cluster = server.addCluster(id, { nodes, authenticate: async (t) => (t === token ? 'system:serviceaccount:sensorfleet:itest' : null) });
  const client = new KubeClient({ server: cluster.endpoint, caPem: server.caPem, token: async () => token, retry: { attempts: 3, baseDelayMs: 20, maxDelayMs: 100 } });
  return { cluster, client, id };
}

/** Someone else's create (field manager kubectl-create, no sensorfleet mark), straight over the REST API. */
async function createAsSomeoneElse(cluster: FakeKubeCluster, path: string, body: unknown): Promise<void> {
  const res = await fetch(`${cluster.endpoint}${path}?fieldManager=kubectl-create`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status, await res.clone().text()).toBe(201);
}

async function mergePatchAsSomeoneElse(cluster: FakeKubeCluster, path: string, patch: unknown): Promise<void> {
  const res = await fetch(`${cluster.endpoint}${path}?fieldManager=kubectl-edit`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/merge-patch+json', accept: 'application/json' },
    body: JSON.stringify(patch),
  });
  expect(res.status, await res.clone().text()).toBe(200);
}

const someonesNamespace = (cluster: FakeKubeCluster) => createAsSomeoneElse(cluster, '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, labels: { team: 'payments' } } });

const live = (cluster: FakeKubeCluster, apiVersion: string, kind: string, name: string, ns?: string) => cluster.list(apiVersion, kind, ns).find((o: any) => o.metadata.name === name);

describe('create, never merge: objects created by someone else between observe and apply', () => {
  it('a Namespace that appeared after observe: the create fails with AlreadyExists, nothing is merged into it, nothing after it is created', async () => {
    const { cluster, client, id } = newCluster();
    const observed = await observeKubernetes(client, id, desired);
    const plan = planKubernetes(desired, observed);
    expect(plan.actions[0]).toMatchObject({ type: 'apply', target: `Namespace ${NS}`, create: true });

    await someonesNamespace(cluster);
    const theirs = structuredClone(live(cluster, 'v1', 'Namespace', NS));
    const mark = cluster.requests.length;

    const failure = await applyKubernetesPlan(client, plan).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ForeignObjectError);
    expect((failure as Error).message).toBe(
      `cluster ${id}: Namespace ${NS}: exists, not managed by sensorfleet; left alone (it was created by someone else after sensorfleet looked; nothing was merged into it)`,
    );
    // the POST was refused by the API server; nothing else was written
    const writes = cluster.requests.slice(mark).filter((r) => r.method !== 'GET');
    expect(writes.map((r) => [r.method, r.path, r.status])).toEqual([['POST', '/api/v1/namespaces', 409]]);
    const after = live(cluster, 'v1', 'Namespace', NS);
    expect(after.metadata.labels).toEqual(theirs.metadata.labels);
    expect(after.metadata.labels['app.kubernetes.io/managed-by']).toBeUndefined();
    expect(after.metadata.resourceVersion).toBe(theirs.metadata.resourceVersion);
    expect(after.metadata.managedFields.map((m: any) => m.manager)).not.toContain('sensorfleet');

    // the next reconcile observes it: a finding, and the Namespace is still left alone
    const again = planKubernetes(desired, await observeKubernetes(client, id, desired));
    expect(again.actions[0]).toEqual({ type: 'finding', target: `Namespace ${NS}`, reason: `Namespace ${NS}: exists, not managed by sensorfleet; left alone` });
  });

  it('a Secret that appeared after observe keeps exactly its own keys; the objects before it are ours', async () => {
    const { cluster, client, id } = newCluster();
    const plan = planKubernetes(desired, await observeKubernetes(client, id, desired));
    // the Namespace, ServiceAccount, then the Secret: someone creates it between our observe and our create
    const order = plan.actions.map((a) => a.target);
    const secretAt = order.indexOf(`Secret ${NS}/qualys-credentials`);
    expect(secretAt).toBeGreaterThan(0);
    const before = { ...plan, actions: plan.actions.slice(0, secretAt) };
    await applyKubernetesPlan(client, before);
    await createAsSomeoneElse(cluster, `/api/v1/namespaces/${NS}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'qualys-credentials' }, data: { token: Buffer.from('their-own-value').toString('base64') } });

    const rest = { ...plan, actions: plan.actions.slice(secretAt) };
    await expect(applyKubernetesPlan(client, rest)).rejects.toThrow(`Secret ${NS}/qualys-credentials: exists, not managed by sensorfleet; left alone`);
    const secret = live(cluster, 'v1', 'Secret', 'qualys-credentials', NS);
    expect(Object.keys(secret.data)).toEqual(['token']);
    expect(secret.metadata.labels?.['app.kubernetes.io/managed-by']).toBeUndefined();
    // the DaemonSet (after the Secret) was not created: the plan stopped at the object that was not ours
    expect(live(cluster, 'apps/v1', 'DaemonSet', 'qualys-container-sensor', NS)).toBeUndefined();
    // what we did create carries our mark
    expect(live(cluster, 'v1', 'Namespace', NS).metadata.labels['app.kubernetes.io/managed-by']).toBe('sensorfleet');
  });

  it('every create is a POST (fails if the object exists); our fields are then owned as an applier, so a field we stop setting is removed', async () => {
    const { cluster, client, id } = newCluster([{ name: 'c-1' }]);
    const plan = planKubernetes(desired, await observeKubernetes(client, id, desired));
    const outcome = await applyKubernetesPlan(client, plan);
    expect(outcome).toEqual({ applied: plan.actions.length, rolloutStarted: true });
    const creates = cluster.requests.filter((r) => r.method === 'POST');
    expect(creates).toHaveLength(plan.actions.length);
    expect(creates.every((r) => r.status === 201 && new URLSearchParams(r.query).get('fieldManager') === 'sensorfleet')).toBe(true);
    expect(cluster.requests.some((r) => r.contentType === 'application/apply-patch+yaml')).toBe(false);
    for (const obj of [live(cluster, 'v1', 'Namespace', NS), live(cluster, 'apps/v1', 'DaemonSet', 'qualys-container-sensor', NS)]) {
      const ours = obj.metadata.managedFields.filter((m: any) => m.manager === 'sensorfleet');
      expect(ours.map((m: any) => m.operation)).toEqual(['Apply']);
    }
    expect((await verifyKubernetes(client, desired, FAST)).covered).toBe(1);

    // a manifest change that drops a field: server-side apply removes what our Apply entry alone owns
    const docker = { ...desired, config: configSchema.parse({ sensor: { containerRuntime: 'docker' } }) };
    const toDocker = planKubernetes(docker, await observeKubernetes(client, id, docker));
    await applyKubernetesPlan(client, toDocker);
    const volumes = (live(cluster, 'apps/v1', 'DaemonSet', 'qualys-container-sensor', NS).spec.template.spec.volumes as any[]).map((v) => v.hostPath?.path).filter(Boolean);
    expect(volumes.some((p: string) => p.includes('containerd'))).toBe(false);
    expect(planKubernetes(docker, await observeKubernetes(client, id, docker)).actions).toEqual([]);
  });

  it('a create whose answer was lost (the object is ours already) goes on: re-read, marked, applied', async () => {
    const { cluster, client, id } = newCluster([{ name: 'l-1' }]);
    const plan = planKubernetes(desired, await observeKubernetes(client, id, desired));
    const nsOnly = { ...plan, actions: plan.actions.slice(0, 1) };
    await applyKubernetesPlan(client, nsOnly);
    // the same plan again, as a retried work item would run it: the Namespace exists and is ours
    const outcome = await applyKubernetesPlan(client, plan);
    expect(outcome.applied).toBe(plan.actions.length);
    expect(live(cluster, 'apps/v1', 'DaemonSet', 'qualys-container-sensor', NS)).toBeDefined();
    expect(planKubernetes(desired, await observeKubernetes(client, id, desired)).actions).toEqual([]);
  });
});

describe('an update applies only to an object that still carries our mark', () => {
  it('our mark removed between observe and apply: left alone; a mere change by someone else: applied against the new revision', async () => {
    const { cluster, client, id } = newCluster([{ name: 'u-1' }]);
    await applyKubernetesPlan(client, planKubernetes(desired, await observeKubernetes(client, id, desired)));
    const bumped = { ...desired, config: configSchema.parse({ sensor: { version: '1.35.0-0' } }) };

    // a label someone adds moves the resourceVersion; the object is still ours, so the upgrade goes on
    const plan = planKubernetes(bumped, await observeKubernetes(client, id, bumped));
    expect(plan.actions.map((a) => a.target)).toContain(`DaemonSet ${NS}/qualys-container-sensor`);
    await mergePatchAsSomeoneElse(cluster, `/apis/apps/v1/namespaces/${NS}/daemonsets/qualys-container-sensor`, { metadata: { labels: { team: 'payments' } } });
    const mark = cluster.requests.length;
    await applyKubernetesPlan(client, plan);
    const dsPath = `/apis/apps/v1/namespaces/${NS}/daemonsets/qualys-container-sensor`;
    // the apply against the revision observe saw is refused, the DaemonSet is read again (still ours) and applied
    // (again if the DaemonSet controller wrote its status in between)
    const calls = cluster.requests.slice(mark).filter((r) => r.path === dsPath).map((r) => `${r.method} ${r.status}`);
    expect(calls.slice(0, 2)).toEqual(['PATCH 409', 'GET 200']);
    expect(calls.at(-1)).toBe('PATCH 200');
    expect(calls.slice(0, -1).every((c) => c === 'PATCH 409' || c === 'GET 200')).toBe(true);
    const ds = live(cluster, 'apps/v1', 'DaemonSet', 'qualys-container-sensor', NS);
    expect(ds.spec.template.spec.containers[0].image).toBe('qualys/qcs-sensor:1.35.0-0');
    expect(ds.metadata.labels.team).toBe('payments');

    // someone takes the DaemonSet over (removes our mark) after observe: it is not changed
    const back = planKubernetes(desired, await observeKubernetes(client, id, desired));
    await mergePatchAsSomeoneElse(cluster, `/apis/apps/v1/namespaces/${NS}/daemonsets/qualys-container-sensor`, { metadata: { labels: { 'app.kubernetes.io/managed-by': null } } });
    const beforeApply = cluster.requests.length;
    await expect(applyKubernetesPlan(client, back)).rejects.toThrow(
      `DaemonSet ${NS}/qualys-container-sensor: exists, not managed by sensorfleet; left alone (its sensorfleet mark was removed after sensorfleet looked`,
    );
    // our only write to it was refused (the precondition); the re-read found it unmarked; nothing else was sent
    expect(cluster.requests.slice(beforeApply).filter((r) => r.path === dsPath).map((r) => `${r.method} ${r.status}`)).toEqual(['PATCH 409', 'GET 200']);
    const after = live(cluster, 'apps/v1', 'DaemonSet', 'qualys-container-sensor', NS);
    expect(after.metadata.labels['app.kubernetes.io/managed-by']).toBeUndefined();
    expect(after.spec.template.spec.containers[0].image).toBe('qualys/qcs-sensor:1.35.0-0');
  });
});

describe('a DaemonSet with the sensor name that is not ours', () => {
  async function foreignDaemonSet(cluster: FakeKubeCluster): Promise<void> {
    await someonesNamespace(cluster);
    const ds = {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'qualys-container-sensor', namespace: NS, labels: { app: 'someone-elses' } },
      spec: {
        selector: { matchLabels: { app: 'someone-elses' } },
        template: { metadata: { labels: { app: 'someone-elses' } }, spec: { containers: [{ name: 'qualys-container-sensor', image: 'qualys/qcs-sensor:1.20.0-0' }] } },
      },
    };
    await createAsSomeoneElse(cluster, `/apis/apps/v1/namespaces/${NS}/daemonsets`, ds);
  }

  it('verify counts none of its pods and says why; the reconcile is not converged, the record names no sensor version of ours', async () => {
    const { cluster, client, id } = newCluster();
    await foreignDaemonSet(cluster);
    await cluster.settle();
    // its pods run on every node
    await expect.poll(() => cluster.list('v1', 'Pod', NS).filter((p: any) => p.status?.phase === 'Running').length, { timeout: 5_000 }).toBe(2);

    const plan = planKubernetes(desired, await observeKubernetes(client, id, desired));
    expect(plan.actions.filter((a) => a.type === 'finding').map((a) => a.reason)).toEqual([
      `Namespace ${NS}: exists, not managed by sensorfleet; left alone`,
      `DaemonSet ${NS}/qualys-container-sensor: exists, not managed by sensorfleet; left alone`,
    ]);
    expect(plan.sensorVersion.current).toBeUndefined();

    const started = Date.now();
    const coverage = await verifyKubernetes(client, desired, FAST);
    expect(Date.now() - started).toBeLessThan(FAST.deadlineMs / 2); // waiting cannot make it ours
    expect(coverage.covered).toBe(0);
    expect(coverage.total).toBe(2);
    expect(coverage.sensorVersion).toBeUndefined();
    expect(coverage.uncovered.map((u) => u.reason)).toEqual([
      `DaemonSet ${NS}/qualys-container-sensor exists, not managed by sensorfleet: its pods are not counted as the sensor`,
      `DaemonSet ${NS}/qualys-container-sensor exists, not managed by sensorfleet: its pods are not counted as the sensor`,
    ]);
    expect(coverage.rollout.state).toBe('stuck');

    // through the engine: observe, plan, apply what is ours, verify, record
    const ops = kubernetesOperations<KubeHandle>();
    const adapter: PlatformAdapter<KubeHandle, any, any> = {
      platform: 'aws-eks',
      discover: async () => [],
      connect: async (ref) => ({ ref, status: 'ACTIVE', tags: {}, handle: { kube: client } }),
      observe: (c, d) => ops.observe(c, d, id),
      plan: ops.plan,
      apply: ops.apply,
      verify: ops.verify,
      release: () => undefined,
    };
    const record = await reconcileCluster(
      { platform: 'aws-eks', scope: '111122223333', location: 'eu-west-1', name: id },
      { adapters: { 'aws-eks': adapter }, desired: { ...desired, config: configSchema.parse({ rollout: { deadlineSeconds: 5, pollSeconds: 0.1 } }) } },
      { trigger: { kind: 'reconcile-requested', source: 'test' } },
    );
    expect(record.outcome).not.toBe('converged');
    expect(record.outcome).not.toBe('in-sync');
    expect(record.message).toContain('not managed by sensorfleet');
    expect(record.verified?.covered).toBe(0);
    expect(record.observed.sensorVersion).toBeUndefined();
    // its object was never written to
    const ds = live(cluster, 'apps/v1', 'DaemonSet', 'qualys-container-sensor', NS);
    expect(ds.metadata.labels).toEqual({ app: 'someone-elses' });
    expect(ds.spec.template.spec.containers.map((c: any) => c.image)).toEqual(['qualys/qcs-sensor:1.20.0-0']);
  });
});
