import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { configSchema } from '../../shared/config/schema';
import { formatClusterRef, parseClusterRef } from '../../shared/domain/cluster-ref';
import { discoverFleet } from '../../shared/engine/discover';
import { kubernetesAdapter } from '../../shared/platforms/kubernetes/cloud-adapter';
import { resetAwsClients } from '../../shared/platforms/aws/clients';
import { resetWebIdentityTokens } from '../../shared/platforms/aws/web-identity-token';
import { AUTOPILOT_ALLOWLIST_REASON, createGkeCloud } from '../../shared/platforms/gke/adapter';
import { gcpTargetSchema } from '../../shared/platforms/gke/config';
import { resetGkeApis } from '../../shared/platforms/gke/container-api';
import { resetGoogleCredentials } from '../../shared/platforms/gke/credential';
import { GkeClusterStoppingError, GkeClusterUnhealthyError } from '../../shared/platforms/gke/errors';
import { CallCounter, countCalls } from '../../shared/runtime/call-log';
import { ClusterNotFoundError, ClusterNotReadyError, ClusterSkippedError, ConfigError, PartialDiscoveryError } from '../../shared/runtime/errors';
import { startSandbox, type Sandbox } from '../sandbox';
import { startGcpSandbox, type GcpSandbox } from '../sandbox/gcp';

/**
 * The GKE cloud half against the local GKE API through the real @google-cloud/container client in
 * REST fallback mode, with real Google credentials (AWS JWT -> Google STS -> IAM Credentials) over
 * HTTPS: discovery across locations, readiness states, a deleted cluster, throttling, endpoints.
 */
const id = randomBytes(3).toString('hex');
const PROJECT = `shop-prod-${id}`;
const PROJECT_NUMBER = `4${Date.now().toString().slice(-9)}`;
let sandbox: Sandbox;
let gcp: GcpSandbox;
let restoreEnv: () => void;

beforeAll(async () => {
  sandbox = await startSandbox({ motoUrl: inject('motoUrl') });
  restoreEnv = sandbox.useAwsEnv();
  resetAwsClients();
  resetWebIdentityTokens();
  gcp = await startGcpSandbox({ kube: sandbox.kube, front: sandbox.front, sensors: sandbox.sensors });
});
afterAll(async () => {
  resetGkeApis();
  resetGoogleCredentials();
  restoreEnv?.();
  await gcp?.stop();
  await sandbox?.stop();
});

const target = (extra: Record<string, unknown> = {}) => gcpTargetSchema.parse(gcp.target(PROJECT, { projectNumber: PROJECT_NUMBER, ...extra }));
const cloud = (extra: Record<string, unknown> = {}) => createGkeCloud({ targets: [target(extra)] });
const create = (name: string, o: Partial<Parameters<GcpSandbox['fleet']['createGkeCluster']>[0]> = {}) =>
  gcp.fleet.createGkeCluster({ projectId: PROJECT, projectNumber: PROJECT_NUMBER, location: 'europe-west1', name, nodePools: [{ name: 'default-pool', nodeCount: 2 }], ...o });

describe('GKE discovery', () => {
  it('lists every location with "-", refs by project id; an unreachable zone is a discovery error that keeps the clusters found', async () => {
    const a = await create(`disc-a-${id}`, { location: 'europe-west1' });
    const b = await create(`disc-b-${id}`, { location: 'us-central1-a' });
    const c = await create(`disc-c-${id}`, { location: 'asia-east1-b' });
    const gke = cloud();
    const all = await gke.discover({ platform: 'gcp-gke', scope: PROJECT, location: '-' });
    expect(all.map(formatClusterRef)).toEqual(expect.arrayContaining([a.ref, b.ref, c.ref]));
    expect(all.every((r) => r.scope === PROJECT)).toBe(true);
    // one location only
    expect((await gke.discover({ platform: 'gcp-gke', scope: PROJECT, location: 'us-central1-a' })).map(formatClusterRef)).toEqual([b.ref]);

    gcp.faults.gke.unreachableZones = new Set(['asia-east1-b']);
    try {
      const err = await gke.discover({ platform: 'gcp-gke', scope: PROJECT, location: '-' }).catch((e) => e);
      expect(err).toBeInstanceOf(PartialDiscoveryError);
      expect(err.message).toMatch(/asia-east1-b/);
      expect(err.found.map(formatClusterRef)).toEqual(expect.arrayContaining([a.ref, b.ref]));
      expect(err.found.map(formatClusterRef)).not.toContain(c.ref);

      // through the engine's discovery: the clusters found are kept, the scope's error is reported
      const config = configSchema.parse({ targets: { gcp: [gcp.target(PROJECT, { projectNumber: PROJECT_NUMBER })] } });
      const fleet = await discoverFleet(config, { 'gcp-gke': kubernetesAdapter('gcp-gke', async () => gke) });
      expect(fleet.clusters.map(formatClusterRef)).toEqual(expect.arrayContaining([a.ref, b.ref]));
      expect(fleet.errors).toEqual([{ scope: `gcp-gke:${PROJECT}:-`, message: expect.stringContaining('missingZones') }]);
    } finally {
      gcp.faults.gke.unreachableZones = new Set();
    }
  });

  it('refuses a project that is not a target, and a ref that names the project by number', async () => {
    const gke = cloud();
    await expect(gke.discover({ platform: 'gcp-gke', scope: 'other-project-1', location: '-' })).rejects.toBeInstanceOf(ConfigError);
    const err = await gke.connect({ platform: 'gcp-gke', scope: PROJECT_NUMBER, location: 'europe-west1', name: 'x' }).catch((e) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toContain(`gcp-gke:${PROJECT}:`);
  });
});

describe('GKE connect', () => {
  it('RUNNING connects (status decoded from enum-encoding=int), labels are the tags, the Google token is the Kubernetes bearer', async () => {
    const { ref, nodes } = await create(`run-${id}`, { labels: { team: 'payments', env: 'prod' } });
    const before = gcp.requests.gke.length;
    const c = await cloud().connect(parseClusterRef(ref));
    const get = gcp.requests.gke.slice(before).find((r) => r.path.endsWith(`/clusters/run-${id}`))!;
    expect(decodeURIComponent(get.query ?? '')).toContain('$alt=json;enum-encoding=int');
    expect(c.status).toBe('RUNNING');
    expect(c.tags).toEqual({ team: 'payments', env: 'prod' });
    expect(c.handle.endpoint).toMatch(/^127\.0\.0\.1:\d+\/clusters\//);
    const listed = await c.handle.kube.list('v1', 'Node');
    expect(listed.map((n) => n.metadata.name).sort()).toEqual([...nodes].sort());
    const kube = gcp.fleet.kubeCluster(ref)!;
    expect(kube.requests.at(-1)).toMatchObject({ method: 'GET', status: 200 });
  });

  it('PROVISIONING and RECONCILING are not ready; ERROR and DEGRADED are named terminal errors with GKE\'s reason', async () => {
    const { ref } = await create(`states-${id}`, { provisioningForMs: 800 });
    const r = parseClusterRef(ref);
    const gke = cloud();
    const provisioning = await gke.connect(r).catch((e) => e);
    expect(provisioning).toBeInstanceOf(ClusterNotReadyError);
    expect(provisioning.status).toBe('PROVISIONING');
    await new Promise((res) => setTimeout(res, 900));
    expect((await gke.connect(r)).status).toBe('RUNNING');

    gcp.fleet.setClusterStatus(ref, 'RECONCILING', 'Upgrading master to 1.32.5-gke.100.');
    const reconciling = await gke.connect(r).catch((e) => e);
    expect(reconciling).toBeInstanceOf(ClusterNotReadyError);
    expect(reconciling.message).toContain('Upgrading master');

    gcp.fleet.setClusterStatus(ref, 'ERROR', 'Failed to create cluster: quota exceeded.', [{ code: 'GCE_QUOTA_EXCEEDED', message: "Insufficient regional quota to satisfy request: resource \"CPUS\"" }]);
    const failed = await gke.connect(r).catch((e) => e);
    expect(failed).toBeInstanceOf(GkeClusterUnhealthyError);
    expect(failed.message).toContain('quota exceeded');
    expect(failed.message).toContain('GCE_QUOTA_EXCEEDED: Insufficient regional quota');
    expect(failed.terminal).toBe(true);

    gcp.fleet.setClusterStatus(ref, 'DEGRADED', undefined, [{ code: 'GKE_SERVICE_ACCOUNT_DELETED', message: 'The default GKE service account was deleted.' }]);
    const degraded = await gke.connect(r).catch((e) => e);
    expect(degraded).toBeInstanceOf(GkeClusterUnhealthyError);
    expect(degraded.message).toMatch(/DEGRADED \(GKE_SERVICE_ACCOUNT_DELETED: The default GKE service account was deleted\.\)/);
    gcp.fleet.setClusterStatus(ref, 'RUNNING');
  });

  it('STOPPING is gone; a deleted cluster is ClusterNotFoundError (GKE 404 NOT_FOUND)', async () => {
    const { ref } = await create(`del-${id}`);
    const r = parseClusterRef(ref);
    const gke = cloud();
    gcp.fleet.deleteGkeCluster(ref, { stoppingForMs: 500 });
    const stopping = await gke.connect(r).catch((e) => e);
    expect(stopping).toBeInstanceOf(GkeClusterStoppingError);
    expect(stopping).toBeInstanceOf(ClusterNotFoundError);
    await new Promise((res) => setTimeout(res, 600));
    const gone = await gke.connect(r).catch((e) => e);
    expect(gone).toBeInstanceOf(ClusterNotFoundError);
    expect(gone).not.toBeInstanceOf(GkeClusterStoppingError);
    expect(gcp.requests.gke.at(-1)).toMatchObject({ status: 404 });
    expect(gcp.fleet.kubeCluster(ref)).toBeUndefined();
  });

  it('absorbs throttling (429 RESOURCE_EXHAUSTED with RetryInfo) and a 503 through one retry policy, counting each attempt', async () => {
    const { ref } = await create(`throttle-${id}`);
    const gke = cloud();
    await gke.connect(parseClusterRef(ref)); // credentials warm
    gcp.faults.gke.failNext = { status: 429, count: 2, retryAfterSeconds: 1 };
    const counter = new CallCounter();
    const started = Date.now();
    const c = await countCalls(counter, () => gke.connect(parseClusterRef(ref)));
    expect(c.status).toBe('RUNNING');
    expect(counter.byOperation()['GKE:GetCluster']).toBe(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_900); // RetryInfo's 1 s, twice

    gcp.faults.gke.failNext = { status: 503, count: 1 };
    const before = gcp.requests.gke.length;
    await gke.connect(parseClusterRef(ref));
    // the client's own retry is off: exactly one more attempt, ours
    expect(gcp.requests.gke.slice(before).map((x) => x.status)).toEqual([503, 200]);
  });

  it('connects through the DNS-based endpoint when configured', async () => {
    const { ref } = await create(`dns-${id}`);
    const c = await cloud({ useDnsEndpoint: true }).connect(parseClusterRef(ref));
    expect(c.handle.endpoint).toMatch(/^localhost:\d+\/clusters\//);
    expect((await c.handle.kube.list('v1', 'Node')).length).toBe(2);
  });

  it('Autopilot without the allowlist is skipped with the reason, before any Kubernetes call', async () => {
    const { ref } = await create(`ap-${id}`, { autopilot: true, nodePools: [] });
    const err = await cloud().connect(parseClusterRef(ref)).catch((e) => e);
    expect(err).toBeInstanceOf(ClusterSkippedError);
    expect(err.reason).toBe(AUTOPILOT_ALLOWLIST_REASON);
    expect(err.message).toContain('GKE Autopilot: the Qualys sensor needs the Autopilot partner allowlist');
    expect(gcp.fleet.kubeCluster(ref)!.requests).toEqual([]);
    const allowed = await cloud({ autopilotAllowlist: { name: 'qualys-qcs-sensor-v1.0.0' } }).connect(parseClusterRef(ref));
    expect(allowed.handle.autopilot).toEqual({ matchingAllowlist: 'qualys-qcs-sensor-v1.0.0' });
  });
});
