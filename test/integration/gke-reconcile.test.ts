import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { SensorfleetConfig } from '../../shared/config/schema';
import { parseClusterRef } from '../../shared/domain/cluster-ref';
import { buildEngine } from '../../shared/engine/build';
import { reconcileCluster } from '../../shared/engine/reconcile';
import { decideAfterAttempt } from '../../shared/engine/work-decision';
import { resetWebIdentityTokens } from '../../shared/platforms/aws/web-identity-token';
import { AUTOPILOT_ALLOWLIST_REASON } from '../../shared/platforms/gke/adapter';
import { resetGkeApis } from '../../shared/platforms/gke/container-api';
import { resetGoogleCredentials } from '../../shared/platforms/gke/credential';
import { CallCounter, countCalls } from '../../shared/runtime/call-log';
import { startGcpSandbox, type GcpSandbox } from '../sandbox/gcp';
import type { WorkloadAllowlist } from '../sandbox/kube';
import { startTestWorld, type TestWorld } from '../support/world';

/**
 * GKE through the engine, as the worker runs it (buildEngine + reconcileCluster): a Standard cluster
 * with a spot and an Arm pool converges, the second reconcile is in sync and cheap; an Autopilot
 * cluster without the allowlist is reported with the reason, writes nothing, and is not retried.
 */
const id = randomBytes(3).toString('hex');
const PROJECT = `gke-eng-${id}`;
const PROJECT_NUMBER = `5${Date.now().toString().slice(-9)}`;
const ALLOWLIST = JSON.parse(readFileSync('test/fixtures/kubernetes/workloadallowlist-qualys-sensor.json', 'utf8')) as WorkloadAllowlist;
let world: TestWorld;
let gcp: GcpSandbox;

beforeAll(async () => {
  world = await startTestWorld(inject('motoUrl'));
  resetWebIdentityTokens();
  resetGoogleCredentials();
  resetGkeApis();
  gcp = await startGcpSandbox({ kube: world.sandbox.kube, front: world.sandbox.front, sensors: world.sandbox.sensors });
}, 120_000);
afterAll(async () => {
  resetGkeApis();
  resetGoogleCredentials();
  await gcp?.stop();
  await world?.stop();
});

function config(gcpExtra: Record<string, unknown> = {}): SensorfleetConfig {
  return world.qualys.config(
    {},
    {
      targets: { aws: [{ accountId: world.sandbox.aws.accountId, regions: [world.sandbox.aws.region] }], gcp: [gcp.target(PROJECT, { projectNumber: PROJECT_NUMBER, ...gcpExtra })] },
      rollout: { deadlineSeconds: 15, pollSeconds: 0.2 },
    },
  );
}

const trigger = { kind: 'reconcile-requested' as const, source: 'test' };

describe('GKE through the engine', () => {
  it('a Standard cluster (default, spot and Arm pools) converges; the second reconcile reads only and makes no writes', async () => {
    const { ref, nodes } = await gcp.fleet.createGkeCluster({
      projectId: PROJECT,
      projectNumber: PROJECT_NUMBER,
      location: 'europe-west1',
      name: `std-${id}`,
      labels: { team: 'platform' },
      nodePools: [
        { name: 'default-pool', nodeCount: 2 },
        { name: 'spot-pool', nodeCount: 1, spot: true },
        { name: 'arm-pool', nodeCount: 1, arch: 'arm64' },
      ],
    });
    const cluster = parseClusterRef(ref);
    const deps = await buildEngine(config(), [cluster], { store: false });
    const first = await reconcileCluster(cluster, deps, { trigger });
    expect(first.outcome, first.message).toBe('converged');
    expect(first.verified).toMatchObject({ total: 4, covered: 4, uncovered: [] });
    expect([...(first.verified?.nodeNames ?? [])].sort()).toEqual([...nodes].sort());
    const kube = gcp.fleet.kubeCluster(ref)!;
    const spot = kube.list('v1', 'Node').find((n: any) => n.metadata.labels['cloud.google.com/gke-nodepool'] === 'spot-pool');
    expect(spot.metadata.labels['cloud.google.com/gke-spot']).toBe('true');
    expect(kube.list('v1', 'Pod', 'qualys-sensor').filter((p: any) => p.status?.phase === 'Running')).toHaveLength(4);

    // in sync: counted by the product (every API) and by the stand-ins
    const before = { gke: gcp.requests.gke.length, sts: gcp.requests.sts.length, iam: gcp.requests.iam.length, kube: kube.requests.length };
    const counter = new CallCounter();
    const again = await countCalls(counter, () => reconcileCluster(cluster, deps, { trigger }));
    const seen = { gke: gcp.requests.gke.length - before.gke, sts: gcp.requests.sts.length - before.sts, iam: gcp.requests.iam.length - before.iam, kube: kube.requests.length - before.kube };
    console.log(`in-sync GKE cluster: ${counter.calls.length} calls ${JSON.stringify(counter.byOperation())}; stand-ins saw GKE ${seen.gke}, STS ${seen.sts}, IAM ${seen.iam}, Kubernetes ${seen.kube}`);
    expect(again.outcome, again.message).toBe('in-sync');
    expect(again.changed.writes).toBe(0);
    expect(counter.writes).toBe(0);
    expect(seen).toMatchObject({ gke: 1, sts: 0, iam: 0 });
    expect(kube.requests.slice(before.kube).every((r) => r.method === 'GET' && r.status === 200)).toBe(true);
    expect(seen.kube).toBeLessThanOrEqual(13); // one read per managed object + one node list
  });

  it('an Autopilot cluster without the allowlist is skipped with the reason: no Kubernetes call, no write, no retry loop', async () => {
    const { ref } = await gcp.fleet.createGkeCluster({ projectId: PROJECT, projectNumber: PROJECT_NUMBER, location: 'us-east1', name: `auto-${id}`, autopilot: true, nodePools: [] });
    const cluster = parseClusterRef(ref);
    const cfg = config();
    const deps = await buildEngine(cfg, [cluster], { store: false });
    for (let attempt = 1; attempt <= 2; attempt++) {
      const record = await reconcileCluster(cluster, deps, { trigger });
      expect(record.outcome).toBe('skipped');
      expect(record.message).toBe(`cluster ${ref} skipped: ${AUTOPILOT_ALLOWLIST_REASON}`);
      expect(record.observed.status).toBe('RUNNING');
      expect(record.changed.writes).toBe(0);
      const event = { id: `e-${attempt}`, time: new Date().toISOString(), kind: 'cluster-created' as const, cluster: ref, source: 'test', detail: {} };
      expect(decideAfterAttempt(event, record, attempt, cfg.rollout, new Date())).toEqual({ kind: 'done' });
    }
    expect(gcp.fleet.kubeCluster(ref)!.requests).toEqual([]);
  });

  it('an Autopilot cluster with the allowlist installed and configured: the pods name it, GKE Warden admits them, it converges', async () => {
    const { ref } = await gcp.fleet.createGkeCluster({
      projectId: PROJECT,
      projectNumber: PROJECT_NUMBER,
      location: 'us-east1',
      name: `auto-ok-${id}`,
      autopilot: true,
      nodePools: [{ name: 'pool-1', nodeCount: 2 }],
      autopilotAllowlists: [ALLOWLIST],
    });
    const cluster = parseClusterRef(ref);
    const deps = await buildEngine(config({ autopilotAllowlist: { name: ALLOWLIST.metadata.name } }), [cluster], { store: false });
    const record = await reconcileCluster(cluster, deps, { trigger });
    expect(record.outcome, record.message).toBe('converged');
    expect(record.verified).toMatchObject({ total: 2, covered: 2 });
    const kube = gcp.fleet.kubeCluster(ref)!;
    const ds = kube.get('apps/v1', 'DaemonSet', 'qualys-sensor', 'qualys-container-sensor');
    expect(ds.spec.template.metadata.labels['cloud.google.com/matching-allowlist']).toBe(ALLOWLIST.metadata.name);
    expect((await reconcileCluster(cluster, deps, { trigger })).outcome).toBe('in-sync');
  });

  it('an Autopilot allowlist configured but not installed on the cluster: Warden\'s denial is the recorded reason, not a silent failure', async () => {
    const { ref } = await gcp.fleet.createGkeCluster({ projectId: PROJECT, projectNumber: PROJECT_NUMBER, location: 'us-east1', name: `auto-missing-${id}`, autopilot: true, nodePools: [{ name: 'pool-1', nodeCount: 1 }] });
    const cluster = parseClusterRef(ref);
    const deps = await buildEngine(config({ autopilotAllowlist: { name: ALLOWLIST.metadata.name } }), [cluster], { store: false });
    const record = await reconcileCluster(cluster, deps, { trigger });
    // terminal: recorded with Warden's reason and dead-lettered at once, never retried in a loop
    expect(record.outcome).toBe('failed');
    expect(record.terminal).toBe(true);
    expect(record.message).toContain(`WorkloadAllowlist "${ALLOWLIST.metadata.name}" is not installed on this cluster`);
    expect(gcp.fleet.kubeCluster(ref)!.get('apps/v1', 'DaemonSet', 'qualys-sensor', 'qualys-container-sensor')).toBeUndefined();
  });
});
