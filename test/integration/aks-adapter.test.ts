import https from 'node:https';
import { ContainerServiceClient } from '@azure/arm-containerservice';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { formatClusterRef, parseClusterRef } from '../../shared/domain/cluster-ref';
import { createAksCloud } from '../../shared/platforms/aks/adapter';
import { azureScopes, azureTargetSchema, type AzureTarget } from '../../shared/platforms/aks/config';
import { armScope, azureCredential } from '../../shared/platforms/aks/credential';
import { AksClusterDeletingError, AksClusterFailedError, AzureApiError } from '../../shared/platforms/aks/errors';
import { parseKubeconfig } from '../../shared/platforms/aks/kubeconfig';
import { KubeClient } from '../../shared/platforms/kubernetes/client';
import { CallCounter, countCalls } from '../../shared/runtime/call-log';
import { ClusterNotFoundError, ClusterNotReadyError, ClusterSkippedError } from '../../shared/runtime/errors';
import { createCa, issueCertificate } from '../sandbox/kube/tls';
import type { EntraApp } from '../sandbox/azure';
import { startAzureWorld, type AzureWorld } from '../sandbox/azure/world';

/**
 * The AKS cloud half through the real ARM SDK (@azure/arm-containerservice) against the local ARM:
 * discovery with nextLink paging, readiness from provisioningState/powerState, throttling, both ways
 * into the cluster (Entra token, local-account client certificate), private clusters.
 */
const NO_RETRY = { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 };
let world: AzureWorld;
let app: EntraApp;
let target: AzureTarget;

beforeAll(async () => {
  world = await startAzureWorld(inject('motoUrl'));
  app = world.azure.registerApp({ awsAccount: world.sandbox.aws.accountId, subject: world.roleArn });
  target = azureTargetSchema.parse(world.azure.targetConfig(app));
}, 60_000);

afterAll(async () => {
  await world?.stop();
});

const cloud = () => createAksCloud({ targets: [target] });
const pool = (count = 1) => [{ name: 'nodepool1', count }];

async function armRequestsDuring<T>(fn: () => Promise<T>): Promise<{ result: T; requests: typeof world.azure.requests.arm }> {
  const before = world.azure.requests.arm.length;
  const result = await fn();
  return { result, requests: world.azure.requests.arm.slice(before) };
}

describe('discovery', () => {
  it('lists every cluster of the subscription, following nextLink page by page', async () => {
    const created: string[] = [];
    for (const [rg, name] of [['rg-disc-a', 'a1'], ['rg-disc-a', 'a2'], ['rg-disc-a', 'a3'], ['RG-Disc-B', 'b1'], ['RG-Disc-B', 'b2']] as const) {
      created.push((await world.azure.fleet.createAksCluster({ resourceGroup: rg, name, mode: 'entra', nodePools: pool() })).ref);
    }
    const [scope] = azureScopes([target]);
    const { result: refs, requests } = await armRequestsDuring(() => cloud().discover(scope!));
    expect(refs.map(formatClusterRef)).toEqual(expect.arrayContaining(created));
    // the resource group keeps the casing of the resource id; the subscription is lowercased
    expect(refs.map(formatClusterRef)).toContain(`azure-aks:${world.azure.subscriptionId}:RG-Disc-B:b1`);
    expect(requests.length).toBe(Math.ceil(refs.length / world.azure.arm.pageSize));
    expect(requests.slice(1).every((r) => r.operation === 'managedClusters.list' && r.status === 200)).toBe(true);
    expect(new Set(requests.map((r) => r.apiVersion))).toEqual(new Set(['2026-04-01']));
  });

  it('lists only the configured resource groups, each with its own pages', async () => {
    for (const name of ['g1', 'g2', 'g3']) await world.azure.fleet.createAksCluster({ resourceGroup: 'rg-only', name, mode: 'local', nodePools: pool() });
    await world.azure.fleet.createAksCluster({ resourceGroup: 'rg-elsewhere', name: 'x1', mode: 'local', nodePools: pool() });
    const scoped = azureTargetSchema.parse(world.azure.targetConfig(app, { resourceGroups: ['rg-only'] }));
    const scopes = azureScopes([scoped]);
    expect(scopes).toEqual([{ platform: 'azure-aks', scope: world.azure.subscriptionId, location: 'rg-only' }]);
    const { result: refs, requests } = await armRequestsDuring(() => createAksCloud({ targets: [scoped] }).discover(scopes[0]!));
    expect(refs.map((r) => r.name).sort()).toEqual(['g1', 'g2', 'g3']);
    expect(requests.map((r) => r.path)).toEqual(Array(2).fill(`/subscriptions/${world.azure.subscriptionId}/resourceGroups/rg-only/providers/Microsoft.ContainerService/managedClusters`));
  });

  it('a resource group that does not exist is a discovery error naming it', async () => {
    const err = await cloud().discover({ platform: 'azure-aks', scope: world.azure.subscriptionId, location: 'rg-missing' }).catch((e) => e);
    expect(err).toBeInstanceOf(AzureApiError);
    expect(err.message).toMatch(/404 ResourceGroupNotFound: Resource group 'rg-missing' could not be found/);
  });
});

describe('readiness', () => {
  it('Creating is not ready (retried later); once Succeeded/Running it connects with the cluster tags', async () => {
    const { ref } = await world.azure.fleet.createAksCluster({ resourceGroup: 'rg-ready', name: 'creating', mode: 'entra', nodePools: pool(2), tags: { team: 'payments', 'qualys-sensor': 'disabled' }, creatingForMs: 700 });
    const err = await cloud().connect(parseClusterRef(ref)).catch((e) => e);
    expect(err).toBeInstanceOf(ClusterNotReadyError);
    expect(err.status).toBe('Creating/Running');
    await new Promise((r) => setTimeout(r, 750));
    const c = await cloud().connect(parseClusterRef(ref));
    expect(c.status).toBe('Succeeded/Running');
    expect(c.tags).toEqual({ team: 'payments', 'qualys-sensor': 'disabled' });
    expect(c.handle).toMatchObject({ access: 'entra', private: false, version: '1.32.4' });
    c.handle.kube.close();
  });

  it('Updating/Upgrading/Scaling are not ready', async () => {
    const { ref } = await world.azure.fleet.createAksCluster({ resourceGroup: 'rg-ready', name: 'ops', mode: 'entra', nodePools: pool() });
    for (const state of ['Updating', 'Upgrading', 'Scaling'] as const) {
      world.azure.fleet.setOperation(ref, state, 60_000);
      await expect(cloud().connect(parseClusterRef(ref))).rejects.toMatchObject({ name: 'ClusterNotReadyError', status: `${state}/Running` });
    }
  });

  it('Stopped is skipped with the reason; Failed is terminal with AKS provisioning error', async () => {
    const { ref } = await world.azure.fleet.createAksCluster({ resourceGroup: 'rg-ready', name: 'stopped', mode: 'entra', nodePools: pool() });
    world.azure.fleet.stopAksCluster(ref);
    const stopped = await cloud().connect(parseClusterRef(ref)).catch((e) => e);
    expect(stopped).toBeInstanceOf(ClusterSkippedError);
    expect(stopped.status).toBe('Succeeded/Stopped');
    expect(stopped.reason).toMatch(/stopped \(powerState Stopped\).*az aks start/);

    world.azure.fleet.failAksCluster(ref, { code: 'VMExtensionProvisioningError', message: 'Unable to establish outbound connection from agents' });
    const failed = await cloud().connect(parseClusterRef(ref)).catch((e) => e);
    expect(failed).toBeInstanceOf(AksClusterFailedError);
    expect(failed).not.toBeInstanceOf(ClusterNotReadyError);
    expect(failed.message).toContain('is Failed (VMExtensionProvisioningError: Unable to establish outbound connection from agents)');
  });

  it('Deleting is recorded like gone; a deleted cluster and a missing one are ClusterNotFoundError', async () => {
    const { ref } = await world.azure.fleet.createAksCluster({ resourceGroup: 'rg-ready', name: 'doomed', mode: 'entra', nodePools: pool() });
    world.azure.fleet.deleteAksCluster(ref, { deletingForMs: 400 });
    const deleting = await cloud().connect(parseClusterRef(ref)).catch((e) => e);
    expect(deleting).toBeInstanceOf(AksClusterDeletingError);
    expect(deleting).toBeInstanceOf(ClusterNotFoundError);
    await new Promise((r) => setTimeout(r, 450));
    const { result: gone, requests } = await armRequestsDuring(() => cloud().connect(parseClusterRef(ref)).catch((e) => e));
    expect(gone).toBeInstanceOf(ClusterNotFoundError);
    expect(requests.map((r) => [r.status, r.code])).toEqual([[404, 'ResourceNotFound']]);
    await expect(cloud().connect({ platform: 'azure-aks', scope: world.azure.subscriptionId, location: 'rg-nowhere', name: 'x' })).rejects.toBeInstanceOf(ClusterNotFoundError);
  });

  it('a subscription that is not a target is refused before any call', async () => {
    await expect(cloud().connect({ platform: 'azure-aks', scope: '00000000-0000-0000-0000-000000000001', location: 'rg', name: 'x' })).rejects.toThrow(/not a configured target \(targets\.azure\)/);
  });
});

describe('ARM behaviour', () => {
  it('429 with Retry-After is absorbed by the SDK retry after the server-given wait', async () => {
    const { ref } = await world.azure.fleet.createAksCluster({ resourceGroup: 'rg-arm', name: 'throttled', mode: 'entra', nodePools: pool() });
    world.azure.arm.faults.throttle = { count: 1, retryAfterSeconds: 1 };
    const started = Date.now();
    const counter = new CallCounter();
    const { result: c, requests } = await armRequestsDuring(() => countCalls(counter, () => cloud().connect(parseClusterRef(ref))));
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(c.status).toBe('Succeeded/Running');
    expect(requests.map((r) => [r.operation, r.status])).toEqual([['managedClusters.get', 429], ['managedClusters.get', 200], ['managedClusters.listClusterUserCredential', 200]]);
    // each HTTP attempt is counted
    expect(counter.byOperation()['ARM:managedClusters.get']).toBe(2);
    c.handle.kube.close();
  });

  it('the user kubeconfig is read once and reused until the cluster changes (its eTag)', async () => {
    const { ref } = await world.azure.fleet.createAksCluster({ resourceGroup: 'rg-arm', name: 'etag', mode: 'entra', nodePools: pool() });
    const aks = cloud();
    const credentialReads = async () => (await armRequestsDuring(async () => (await aks.connect(parseClusterRef(ref))).handle.kube.close())).requests.filter((r) => r.operation === 'managedClusters.listClusterUserCredential').length;
    expect(await credentialReads()).toBe(1);
    expect(await credentialReads()).toBe(0);
    world.azure.fleet.setOperation(ref, 'Upgrading', 30);
    await new Promise((r) => setTimeout(r, 40));
    expect(await credentialReads()).toBe(1);
    expect(await credentialReads()).toBe(0);
  });

  it('an application without a role on the subscription gets 403 AuthorizationFailed with what to grant', async () => {
    const noRole = world.azure.registerApp({ awsAccount: world.sandbox.aws.accountId, subject: world.roleArn, grant: false });
    const t = azureTargetSchema.parse(world.azure.targetConfig(noRole));
    const err = await createAksCloud({ targets: [t] }).discover(azureScopes([t])[0]!).catch((e) => e);
    expect(err).toBeInstanceOf(AzureApiError);
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/403 AuthorizationFailed: The client '.+' with object id '.+' does not have authorization to perform action 'Microsoft\.ContainerService\/managedClusters\/read'/);
    expect(err.message).toContain('Azure Kubernetes Service Cluster User Role');
    expect(err.message).not.toMatch(/eyJ/);
  });

  it('speaks ARM: api-version checked, bearer token required, agent pools listed with nextLink', async () => {
    const { ref } = await world.azure.fleet.createAksCluster({
      resourceGroup: 'rg-arm',
      name: 'pools',
      mode: 'entra',
      nodePools: [{ name: 'system', count: 1 }, { name: 'spot', count: 1, spot: true }, { name: 'win', count: 1, osType: 'Windows' }],
    });
    const r = parseClusterRef(ref);
    const path = `/subscriptions/${r.scope}/resourceGroups/${r.location}/providers/Microsoft.ContainerService/managedClusters/${r.name}`;
    const token = (await azureCredential(target).getToken(armScope(target)))!.token;
    expect(await raw(`${path}?api-version=2019-01-01`, token)).toMatchObject({ status: 400, body: { error: { code: 'NoRegisteredProviderFound' } } });
    expect(await raw(path, token)).toMatchObject({ status: 400, body: { error: { code: 'MissingApiVersionParameter' } } });
    expect(await raw(`${path}?api-version=2026-04-01`)).toMatchObject({ status: 401, body: { error: { code: 'AuthenticationFailed' } } });
    expect(await raw(`${path}?api-version=2026-04-01`, 'not-a-token')).toMatchObject({ status: 401, body: { error: { code: 'InvalidAuthenticationToken' } } });

    const sdk = new ContainerServiceClient(azureCredential(target), world.azure.subscriptionId, { endpoint: world.azure.armUrl });
    const pools = [];
    for await (const p of sdk.agentPools.list(r.location, r.name)) pools.push(p);
    expect(pools.map((p) => [p.name, p.osType, p.scaleSetPriority ?? 'Regular', p.nodeTaints ?? []])).toEqual([
      ['system', 'Linux', 'Regular', []],
      ['spot', 'Linux', 'Spot', ['kubernetes.azure.com/scalesetpriority=spot:NoSchedule']],
      ['win', 'Windows', 'Regular', []],
    ]);
    const creds = await sdk.managedClusters.listClusterUserCredentials(r.location, r.name, { format: 'azure' });
    expect(parseKubeconfig(Buffer.from(creds.kubeconfigs![0]!.value!).toString()).user).toEqual({ authProvider: 'azure' });
    await expect(sdk.managedClusters.listClusterAdminCredentials(r.location, r.name)).rejects.toMatchObject({ statusCode: 400, message: expect.stringMatching(/disable local accounts/) });
  });
});

describe('into the cluster', () => {
  it('Entra-integrated: the Entra token for the AKS server app is the bearer; the kubeconfig exec plugin is never used', async () => {
    const { ref } = await world.azure.fleet.createAksCluster({ resourceGroup: 'rg-in', name: 'entra', mode: 'entra', nodePools: [{ name: 'system', count: 2 }] });
    const c = await cloud().connect(parseClusterRef(ref));
    expect(c.handle.access).toBe('entra');
    const nodes = await c.handle.kube.list('v1', 'Node');
    expect(nodes.map((n) => n.metadata.name)).toEqual([expect.stringMatching(/^aks-system-\d{8}-vmss000000$/), expect.stringMatching(/^aks-system-\d{8}-vmss000001$/)]);
    expect(nodes[0]!.metadata.labels).toMatchObject({ 'kubernetes.azure.com/agentpool': 'system', 'kubernetes.azure.com/mode': 'system', agentpool: 'system' });
    c.handle.kube.close();
    // an ARM token is not accepted by the API server
    const armToken = (await azureCredential(target).getToken(armScope(target)))!.token;
    const wrong = new KubeClient({ server: c.handle.server, caPem: world.sandbox.kube.caPem, token: async () => armToken, retry: NO_RETRY });
    await expect(wrong.list('v1', 'Node')).rejects.toMatchObject({ status: 401 });
    wrong.close();
  });

  it('local accounts: the kubeconfig client certificate is the credential; a certificate of another CA is refused', async () => {
    const { ref } = await world.azure.fleet.createAksCluster({ resourceGroup: 'rg-in', name: 'local', mode: 'local', nodePools: [{ name: 'nodepool1', count: 1 }] });
    const c = await cloud().connect(parseClusterRef(ref));
    expect(c.handle.access).toBe('local-account');
    expect(await c.handle.kube.list('v1', 'Node')).toHaveLength(1);
    c.handle.kube.close();

    const r = parseClusterRef(ref);
    const sdk = new ContainerServiceClient(azureCredential(target), world.azure.subscriptionId, { endpoint: world.azure.armUrl });
    const kc = parseKubeconfig(Buffer.from((await sdk.managedClusters.listClusterUserCredentials(r.location, r.name)).kubeconfigs![0]!.value!).toString());
    const certOnly = new KubeClient({ server: kc.server, caPem: kc.caPem, clientCertificate: kc.user.clientCertificate!, retry: NO_RETRY });
    expect(await certOnly.list('v1', 'Node')).toHaveLength(1);
    certOnly.close();
    const stranger = issueCertificate(createCa('not-the-cluster-ca'), { commonName: 'masterclient', organizations: ['system:masters'], usage: 'client' });
    const refused = new KubeClient({ server: kc.server, caPem: kc.caPem, clientCertificate: stranger, retry: NO_RETRY });
    await expect(refused.list('v1', 'Node')).rejects.toMatchObject({ status: 401 });
    refused.close();
  });

  it('a private cluster out of reach is skipped at once, naming its private FQDN; reachable from inside it connects', async () => {
    const { ref } = await world.azure.fleet.createAksCluster({ resourceGroup: 'rg-in', name: 'private', mode: 'entra', nodePools: pool(), private: true });
    const started = Date.now();
    const err = await cloud().connect(parseClusterRef(ref)).catch((e) => e);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(err).toBeInstanceOf(ClusterSkippedError);
    expect(err.reason).toMatch(/^private cluster: its API server private-dns-[0-9a-f]{8}\.[0-9a-f-]+\.privatelink\.westeurope\.azmk8s\.io is reachable only from the cluster's virtual network, and from here 127\.0\.0\.1:\d+ refused the connection/);
    // no Kubernetes request was attempted
    expect(world.azure.fleet.kubeCluster(ref)!.requests).toEqual([]);

    const inside = await world.azure.fleet.createAksCluster({ resourceGroup: 'rg-in', name: 'private-vnet', mode: 'entra', nodePools: pool(), private: 'reachable' });
    const c = await cloud().connect(parseClusterRef(inside.ref));
    expect(c.handle.private).toBe(true);
    expect(await c.handle.kube.list('v1', 'Node')).toHaveLength(1);
    c.handle.kube.close();
  });
});

describe('network', () => {
  it('nothing left 127.0.0.1', () => {
    expect(world.loopback.connections.length).toBeGreaterThan(10);
    expect(world.loopback.offLoopback()).toEqual([]);
  });
});

function raw(path: string, token?: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = https.request(`${world.azure.armUrl}${path}`, { method: 'GET', headers: token ? { authorization: `Bearer ${token}` } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString() || '{}') }));
    });
    req.on('error', reject);
    req.end();
  });
}
