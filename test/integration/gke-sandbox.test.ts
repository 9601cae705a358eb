import { randomBytes } from 'node:crypto';
import { v1 } from '@google-cloud/container';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { resetAwsClients } from '../../shared/platforms/aws/clients';
import { resetWebIdentityTokens } from '../../shared/platforms/aws/web-identity-token';
import { gcpTargetSchema } from '../../shared/platforms/gke/config';
import { googleCredential, resetGoogleCredentials, type GoogleCredential } from '../../shared/platforms/gke/credential';
import { startSandbox, type Sandbox } from '../sandbox';
import { startGcpSandbox, type GcpSandbox } from '../sandbox/gcp';

/**
 * The local GKE API's wire format, seen through the real @google-cloud/container client (REST
 * fallback) and through plain HTTPS: create -> Operation -> PROVISIONING -> RUNNING, node pools as
 * GKE names and labels them, enum-encoding=int, Google error bodies, bearer checks.
 */
const id = randomBytes(3).toString('hex');
const PROJECT = `wire-proj-${id}`;
const PROJECT_NUMBER = `6${Date.now().toString().slice(-9)}`;
let sandbox: Sandbox;
let gcp: GcpSandbox;
let restoreEnv: () => void;
let credential: GoogleCredential;
let client: v1.ClusterManagerClient;

beforeAll(async () => {
  sandbox = await startSandbox({ motoUrl: inject('motoUrl') });
  restoreEnv = sandbox.useAwsEnv();
  resetAwsClients();
  resetWebIdentityTokens();
  resetGoogleCredentials();
  gcp = await startGcpSandbox({ kube: sandbox.kube, front: sandbox.front, sensors: sandbox.sensors });
  await gcp.fleet.createGkeCluster({ projectId: PROJECT, projectNumber: PROJECT_NUMBER, location: 'europe-west4', name: `seed-${id}`, nodePools: [] });
  credential = await googleCredential(gcpTargetSchema.parse(gcp.target(PROJECT)));
  const u = new URL(gcp.containerUrl);
  client = new v1.ClusterManagerClient({ fallback: true, authClient: credential.client, apiEndpoint: u.hostname, port: Number(u.port), protocol: 'https' } as never);
});
afterAll(async () => {
  await client?.close();
  resetGoogleCredentials();
  restoreEnv?.();
  await gcp?.stop();
  await sandbox?.stop();
});

const raw = async (path: string, token?: string) => {
  const res = await fetch(`${gcp.containerUrl}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, body: (await res.json()) as any };
};

describe('local GKE API', () => {
  it('createCluster returns an operation; the cluster is PROVISIONING without endpoint, then RUNNING with one', async () => {
    const parent = `projects/${PROJECT}/locations/europe-west4`;
    const [op] = await client.createCluster({ parent, cluster: { name: `made-${id}`, initialNodeCount: 2 } });
    expect(op).toMatchObject({ operationType: 'CREATE_CLUSTER', status: 'RUNNING', targetLink: expect.stringContaining(`/clusters/made-${id}`) });
    const [provisioning] = await client.getCluster({ name: `${parent}/clusters/made-${id}` });
    expect(provisioning.status).toBe('PROVISIONING');
    expect(provisioning.endpoint).toBe('');
    await new Promise((r) => setTimeout(r, 1_600));
    const [done] = await client.getOperation({ name: `${parent}/operations/${op.name}` });
    expect(done.status).toBe('DONE');
    const [running] = await client.getCluster({ name: `${parent}/clusters/made-${id}` });
    expect(running.status).toBe('RUNNING');
    expect(running.endpoint).toMatch(/^127\.0\.0\.1:\d+\/clusters\//);
    expect(Buffer.from(running.masterAuth!.clusterCaCertificate!, 'base64').toString()).toContain('BEGIN CERTIFICATE');
    const [pools] = await client.listNodePools({ parent: `${parent}/clusters/made-${id}` });
    expect(pools.nodePools!.map((p) => [p.name, p.initialNodeCount, p.status])).toEqual([['default-pool', 2, 'RUNNING']]);
    await expect(client.createCluster({ parent, cluster: { name: `made-${id}` } })).rejects.toThrow(/ALREADY_EXISTS|Already exists/);
  });

  it('node pools: GKE node names and labels, spot and Arm (tainted) nodes; scale-out adds nodes', async () => {
    const { ref } = await gcp.fleet.createGkeCluster({
      projectId: PROJECT,
      projectNumber: PROJECT_NUMBER,
      location: 'europe-west4-a',
      name: `pools-${id}`,
      nodePools: [
        { name: 'default-pool', nodeCount: 1 },
        { name: 'spot', nodeCount: 1, spot: true },
        { name: 'arm', nodeCount: 1, arch: 'arm64' },
      ],
    });
    const nodes = gcp.fleet.kubeCluster(ref)!.list('v1', 'Node');
    const byPool = Object.fromEntries(nodes.map((n: any) => [n.metadata.labels['cloud.google.com/gke-nodepool'], n]));
    expect(byPool['default-pool'].metadata.name).toMatch(new RegExp(`^gke-pools-${id}-default-pool-[0-9a-f]{8}-[a-z0-9]{4}$`));
    expect(byPool.spot.metadata.labels['cloud.google.com/gke-spot']).toBe('true');
    expect(byPool.arm.metadata.labels['kubernetes.io/arch']).toBe('arm64');
    expect(byPool.arm.spec.taints).toEqual([{ key: 'kubernetes.io/arch', value: 'arm64', effect: 'NoSchedule' }]);
    const added = gcp.fleet.addNodes(ref, 'spot', 2);
    expect(gcp.fleet.kubeCluster(ref)!.list('v1', 'Node').map((n: any) => n.metadata.name)).toEqual(expect.arrayContaining(added));
    const [pool] = await client.getNodePool({ name: `projects/${PROJECT}/locations/europe-west4-a/clusters/pools-${id}/nodePools/spot` });
    expect(pool).toMatchObject({ initialNodeCount: 3, config: { spot: true } });
  });

  it('enum-encoding=int gives numbers, plain JSON gives names; errors are Google JSON errors; the bearer is checked', async () => {
    const token = await credential.accessToken();
    const path = `/v1/projects/${PROJECT_NUMBER}/locations/europe-west4/clusters/seed-${id}`; // by number, as GKE accepts
    expect((await raw(`${path}?$alt=json%3Benum-encoding=int`, token)).body.status).toBe(2);
    expect((await raw(path, token)).body.status).toBe('RUNNING');
    expect(await raw(`/v1/projects/${PROJECT}/locations/europe-west4/clusters/nope`, token)).toMatchObject({
      status: 404,
      body: { error: { code: 404, status: 'NOT_FOUND', message: `Not found: projects/${PROJECT}/locations/europe-west4/clusters/nope.` } },
    });
    expect(await raw(path)).toMatchObject({ status: 401, body: { error: { code: 401, status: 'UNAUTHENTICATED' } } });
    expect(await raw(path, 'ya29.not-issued-here')).toMatchObject({ status: 401 });
    gcp.identity.revokeProject(PROJECT, `serviceAccount:${gcp.serviceAccountEmail}`);
    try {
      expect(await raw(path, token)).toMatchObject({ status: 403, body: { error: { status: 'PERMISSION_DENIED', details: [{ reason: 'IAM_PERMISSION_DENIED' }] } } });
    } finally {
      gcp.identity.grantProject(PROJECT, `serviceAccount:${gcp.serviceAccountEmail}`);
    }
  });

  it('STS and IAM Credentials answer Google\'s error shapes', async () => {
    const sts = await fetch(`${gcp.stsUrl}/v1/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', audience: 'projects/1/pools', requested_token_type: 'urn:ietf:params:oauth:token-type:access_token', subject_token: 'x', subject_token_type: 'urn:ietf:params:oauth:token-type:jwt', scope: 'https://www.googleapis.com/auth/cloud-platform' }),
    });
    expect(sts.status).toBe(400);
    expect(await sts.json()).toEqual({ error: 'invalid_request', error_description: expect.stringContaining('Invalid value for "audience"') });
    const iam = await fetch(`${gcp.iamUrl}/v1/projects/-/serviceAccounts/${gcp.serviceAccountEmail}:generateAccessToken`, { method: 'POST', body: '{"scope":["https://www.googleapis.com/auth/cloud-platform"]}' });
    expect(iam.status).toBe(401);
    expect(((await iam.json()) as any).error.status).toBe('UNAUTHENTICATED');
  });
});
