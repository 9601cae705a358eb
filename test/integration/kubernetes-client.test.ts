import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../shared/config/schema';
import { reconcileCluster } from '../../shared/engine/reconcile';
import { KubeClient } from '../../shared/platforms/kubernetes/client';
import { kubernetesAdapter } from '../../shared/platforms/kubernetes/cloud-adapter';
import { KubeApiError } from '../../shared/platforms/kubernetes/errors';
import type { KubeHandle } from '../../shared/platforms/kubernetes/lifecycle';
import type { DesiredSensor } from '../../shared/platforms/types';
import { ConfigError } from '../../shared/runtime/errors';
import { clientCaAuthenticator, FakeKubeApiServer, type FakeKubeCluster } from '../sandbox/kube';
import { createCa, issueCertificate } from '../sandbox/kube/tls';

const NO_RETRY = { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 };
const CREDS = { activationId: 'itest-activation-c3', customerId: 'itest-customer-c3' };
const desired: DesiredSensor = { config: configSchema.parse({}), credentials: CREDS, podUrl: 'https://cmsqagpublic.qg2.apps.qualys.com/ContainerSensor' };

let server: FakeKubeApiServer;
const clientCa = createCa('itest-cluster-client-ca');

beforeAll(async () => {
  server = await FakeKubeApiServer.start();
});
afterAll(async () => {
  await server?.stop();
});

/** A cluster that admits only TLS client certificates issued by its own client CA (AKS local accounts). */
function certOnlyCluster(): FakeKubeCluster {
  return server.addCluster(`c-${randomBytes(4).toString('hex')}`, { nodes: [{ name: 'aks-nodepool1-0' }, { name: 'aks-nodepool1-1' }], authenticateCertificate: clientCaAuthenticator(clientCa.certPem) });
}

async function waitFor(check: () => Promise<boolean>, ms = 3_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return check();
}

describe('KubeClient authentication', () => {
  it('authenticates with a client certificate alone: reads and server-side applies', async () => {
    const cluster = certOnlyCluster();
    const cert = issueCertificate(clientCa, { commonName: 'masterclient', organizations: ['system:masters'], usage: 'client' });
    const client = new KubeClient({ server: cluster.endpoint, caPem: server.caPem, clientCertificate: cert, retry: NO_RETRY });
    try {
      expect((await client.list('v1', 'Node')).map((n) => n.metadata.name)).toEqual(['aks-nodepool1-0', 'aks-nodepool1-1']);
      const applied = await client.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'qualys-sensor', labels: { 'app.kubernetes.io/managed-by': 'sensorfleet' } } });
      expect(applied.metadata.managedFields).toEqual([expect.objectContaining({ manager: 'sensorfleet', operation: 'Apply' })]);
      expect(cluster.get('v1', 'Namespace', undefined, 'qualys-sensor')).toBeDefined();
      // the cluster has no token authenticator: the certificate alone admitted each request
      expect(cluster.requests.map((r) => `${r.method} ${r.status}`)).toEqual(['GET 200', 'PATCH 201']);
    } finally {
      client.close();
    }
  });

  it('a certificate from another CA is refused with 401 and the cloud\'s hint, never retried', async () => {
    const cluster = certOnlyCluster();
    const foreign = issueCertificate(createCa('someone-elses-ca'), { commonName: 'masterclient', organizations: ['system:masters'], usage: 'client' });
    const client = new KubeClient({ server: cluster.endpoint, caPem: server.caPem, clientCertificate: foreign, unauthorizedHint: 'fetch the cluster user credential again', retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 1 } });
    try {
      const err = await client.list('v1', 'Node').catch((e) => e);
      expect(err).toBeInstanceOf(KubeApiError);
      expect(err.status).toBe(401);
      expect(err.message).toMatch(/401 Unauthorized: Unauthorized \(the cluster refused our credentials: fetch the cluster user credential again\)/);
      expect(cluster.requests).toHaveLength(1);
    } finally {
      client.close();
    }
  });

  it('needs a token provider or a client certificate', () => {
    expect(() => new KubeClient({ server: 'https://127.0.0.1:1/clusters/x', caPem: server.caPem })).toThrow(ConfigError);
    expect(() => new KubeClient({ server: 'https://127.0.0.1:1/clusters/x', caPem: server.caPem })).toThrow(/bearer token provider or a client certificate/);
  });

  it('a key that does not belong to the certificate fails at construction, without the key in the message', () => {
    const a = issueCertificate(clientCa, { commonName: 'a', usage: 'client' });
    const b = issueCertificate(clientCa, { commonName: 'b', usage: 'client' });
    let message = '';
    try {
      new KubeClient({ server: 'https://127.0.0.1:1/clusters/x', caPem: server.caPem, clientCertificate: { certPem: a.certPem, keyPem: b.keyPem } });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/client certificate for https:\/\/127\.0\.0\.1:1\/clusters\/x is not usable: .*key values mismatch/);
    expect(message).not.toContain('PRIVATE KEY');
  });
});

describe('connections are released when a reconcile ends', () => {
  it('the engine releases the Kubernetes handle: no kept-alive socket stays open after reconcileCluster', async () => {
    const cluster = certOnlyCluster();
    const cert = issueCertificate(clientCa, { commonName: 'masterclient', organizations: ['system:masters'], usage: 'client' });
    // the measure is live: a kept-alive client holds its socket open until closed
    const probe = new KubeClient({ server: cluster.endpoint, caPem: server.caPem, clientCertificate: cert, retry: NO_RETRY });
    await probe.list('v1', 'Node');
    expect(await server.openConnections()).toBeGreaterThan(0);
    probe.close();
    expect(await waitFor(async () => (await server.openConnections()) === 0)).toBe(true);

    let client: KubeClient | undefined;
    const adapter = kubernetesAdapter<KubeHandle>('azure-aks', async () => ({
      platform: 'azure-aks',
      discover: async () => [],
      connect: async (ref) => {
        client = new KubeClient({ server: cluster.endpoint, caPem: server.caPem, clientCertificate: cert, retry: NO_RETRY });
        return { ref, status: 'Succeeded/Running', tags: {}, handle: { kube: client } };
      },
    }));
    const ref = { platform: 'azure-aks' as const, scope: '00000000-0000-0000-0000-000000000001', location: 'rg-itest', name: 'aks-local' };
    const record = await reconcileCluster(ref, { adapters: { 'azure-aks': adapter }, desired }, { trigger: { kind: 'test' }, dryRun: true });
    expect(record.outcome).toBe('planned');
    expect(client).toBeDefined();
    expect(cluster.requests.length).toBeGreaterThan(1);
    expect(await waitFor(async () => (await server.openConnections()) === 0)).toBe(true);
  });
});
