import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../shared/config/schema';
import { reconcileCluster } from '../../shared/engine/reconcile';
import { KubeClient } from '../../shared/platforms/kubernetes/client';
import { kubernetesAdapter } from '../../shared/platforms/kubernetes/cloud-adapter';
import { AutopilotRejectedError } from '../../shared/platforms/kubernetes/errors';
import { kubernetesOperations, type KubeHandle } from '../../shared/platforms/kubernetes/lifecycle';
import type { ConnectedCluster, DesiredSensor } from '../../shared/platforms/types';
import { CallCounter, countCalls } from '../../shared/runtime/call-log';
import { FakeKubeApiServer, type FakeKubeCluster, type WorkloadAllowlist } from '../sandbox/kube';

const CREDS = { activationId: 'itest-activation-ap', customerId: 'itest-customer-ap' };
const FAST = { deadlineMs: 8_000, pollMs: 100 };
const desired: DesiredSensor = { config: configSchema.parse({}), credentials: CREDS, podUrl: 'https://cmsqagpublic.qg2.apps.qualys.com/ContainerSensor' };
const ALLOWLIST = JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/kubernetes/workloadallowlist-qualys-sensor.json'), 'utf8')) as WorkloadAllowlist;
const token = `itest-${randomBytes(12).toString('hex')}`;
const ops = kubernetesOperations<KubeHandle>();

let server: FakeKubeApiServer;
beforeAll(async () => {
  server = await FakeKubeApiServer.start();
});
afterAll(async () => {
  await server?.stop();
});

function autopilotCluster(allowlists: WorkloadAllowlist[]): { cluster: FakeKubeCluster; id: string } {
  const id = `ap-${randomBytes(4).toString('hex')}`;
  const cluster = server.addCluster(id, {
    nodes: [{ name: 'gk3-ap-pool-1-a' }, { name: 'gk3-ap-pool-1-b', arch: 'arm64' }],
    authenticate: async (t) => (t === token ? 'sensorfleet@itest-project.iam.gserviceaccount.com' : null),
    admission: 'gke-autopilot',
    autopilotAllowlists: allowlists,
  });
  return { cluster, id };
}

function connected(cluster: FakeKubeCluster, id: string, autopilot?: { matchingAllowlist: string }): ConnectedCluster<KubeHandle> {
  const kube = new KubeClient({ server: cluster.endpoint, caPem: server.caPem, token: async () => token, retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 50 } });
  return { ref: { platform: 'gcp-gke', scope: 'itest-project', location: 'europe-west1', name: id }, status: 'RUNNING', tags: {}, handle: { kube, ...(autopilot ? { autopilot } : {}) } };
}

async function reconcileOnce(c: ConnectedCluster<KubeHandle>) {
  const observed = await ops.observe(c, desired, c.ref.name);
  const plan = ops.plan(desired, observed, {});
  const outcome = await ops.apply(c, plan);
  return { plan, outcome };
}

describe('GKE Autopilot with the partner allowlist', () => {
  it('deploys the shape the allowlist admits (pods name it), covers every node, then stays in sync with zero writes', async () => {
    const { cluster, id } = autopilotCluster([ALLOWLIST]);
    const c = connected(cluster, id, { matchingAllowlist: ALLOWLIST.metadata.name });
    try {
      const { outcome } = await reconcileOnce(c);
      expect(outcome).toEqual({ applied: 12, rolloutStarted: true });
      const ds = cluster.get('apps/v1', 'DaemonSet', 'qualys-sensor', 'qualys-container-sensor');
      expect(ds.spec.template.metadata.labels['cloud.google.com/matching-allowlist']).toBe(ALLOWLIST.metadata.name);
      expect(ds.spec.selector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'qualys-container-sensor' });
      expect(await ops.verify(c, desired, FAST)).toMatchObject({ total: 2, covered: 2, uncovered: [] });

      const before = cluster.requests.length;
      const counter = new CallCounter();
      const again = await countCalls(counter, async () => {
        const r = await reconcileOnce(c);
        return { ...r, coverage: await ops.verify(c, desired, FAST) };
      });
      expect(again.plan.actions).toEqual([]);
      expect(counter.writes).toBe(0);
      expect(cluster.requests.slice(before)).toHaveLength(12 + 1);
      expect(again.coverage).toMatchObject({ total: 2, covered: 2 });
    } finally {
      c.handle.kube.close();
    }
  });

  it('a DaemonSet deployed before the allowlist was configured gets the label by one apply (a template change)', async () => {
    const { cluster, id } = autopilotCluster([ALLOWLIST]);
    const first = connected(cluster, id);
    const labelled = connected(cluster, id, { matchingAllowlist: ALLOWLIST.metadata.name });
    try {
      await reconcileOnce(first); // Warden matches installed allowlists without the label too
      const { plan } = await reconcileOnce(labelled);
      expect(plan.actions.map((a) => a.reason)).toEqual([
        `DaemonSet qualys-sensor/qualys-container-sensor: spec.template.metadata.labels.cloud.google.com/matching-allowlist missing (want ${ALLOWLIST.metadata.name})`,
      ]);
      expect((await reconcileOnce(labelled)).plan.actions).toEqual([]);
    } finally {
      first.handle.kube.close();
      labelled.handle.kube.close();
    }
  });
});

describe('GKE Autopilot refuses the sensor: a terminal reason, never a retry loop', () => {
  it('the allowlist is configured but not installed: a terminal failure naming it and the Warden constraints; one DaemonSet attempt per reconcile', async () => {
    const { cluster, id } = autopilotCluster([]);
    const ref = { platform: 'gcp-gke' as const, scope: 'itest-project', location: 'europe-west1', name: id };
    const adapter = kubernetesAdapter<KubeHandle>('gcp-gke', async () => ({
      platform: 'gcp-gke',
      discover: async () => [ref],
      connect: async () => connected(cluster, id, { matchingAllowlist: ALLOWLIST.metadata.name }),
    }));
    const deps = { adapters: { 'gcp-gke': adapter }, desired };
    const dsCreate = '/apis/apps/v1/namespaces/qualys-sensor/daemonsets';
    for (let run = 1; run <= 2; run++) {
      const record = await reconcileCluster(ref, deps, { trigger: { kind: 'test' } });
      // terminal: a work item that meets it is dead-lettered at once, not retried (work-decision.ts)
      expect(record).toMatchObject({ outcome: 'failed', terminal: true });
      expect(record.message).toBe(
        `cluster gcp-gke:itest-project:europe-west1:${id}: GKE Autopilot (Warden) rejected DaemonSet qualys-sensor/qualys-container-sensor for autogke-default-linux-capabilities, autogke-no-write-mode-hostpath: ` +
          `the WorkloadAllowlist "${ALLOWLIST.metadata.name}" is not installed on this cluster or does not admit this sensor version; check \`kubectl get workloadallowlist ${ALLOWLIST.metadata.name}\` and the AllowlistSynchronizer's status`,
      );
      const dsAttempts = cluster.requests.filter((r) => r.method === 'POST' && r.path === dsCreate);
      expect(dsAttempts.map((r) => r.status)).toEqual(Array(run).fill(403));
    }
    expect(cluster.get('apps/v1', 'DaemonSet', 'qualys-sensor', 'qualys-container-sensor')).toBeUndefined();
  });

  it('Autopilot not known to the adapter (no allowlist configured): the reason says the sensor needs the allowlist', async () => {
    const { cluster, id } = autopilotCluster([]);
    const c = connected(cluster, id);
    try {
      const err = await reconcileOnce(c).catch((e) => e);
      expect(err).toBeInstanceOf(AutopilotRejectedError);
      expect(err.reason).toMatch(/^GKE Autopilot \(Warden\) rejected DaemonSet qualys-sensor\/qualys-container-sensor for .*: the sensor needs the Autopilot partner allowlist: install it with an AllowlistSynchronizer and set targets\.gcp\[\]\.autopilotAllowlist$/);
      expect(err.message).not.toContain(token);
    } finally {
      c.handle.kube.close();
    }
  });

  it('an allowlist for another image (a registry mirror in config) is refused with the same terminal reason', async () => {
    const { cluster, id } = autopilotCluster([ALLOWLIST]);
    const mirror: DesiredSensor = { ...desired, config: configSchema.parse({ sensor: { image: 'europe-docker.pkg.dev/itest/mirror/qcs-sensor' } }) };
    const c = connected(cluster, id, { matchingAllowlist: ALLOWLIST.metadata.name });
    try {
      const observed = await ops.observe(c, mirror, id);
      const err = await ops.apply(c, ops.plan(mirror, observed, {})).catch((e) => e);
      expect(err).toBeInstanceOf(AutopilotRejectedError);
      expect(err.reason).toContain(`the WorkloadAllowlist "${ALLOWLIST.metadata.name}" is not installed on this cluster or does not admit this sensor version`);
    } finally {
      c.handle.kube.close();
    }
  });
});
