import { ContainerServiceClient } from '@azure/arm-containerservice';
import { ClientAssertionCredential } from '@azure/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseKubeconfig } from '../../shared/platforms/aks/kubeconfig';
import { jwtClaims, SimArm, SimEntra, unsignedJwt } from '../sim/azure';
import { runSettled, VirtualClock } from '../sim/clock';
import { SIM_CA_PEM } from '../sim/eks';
import { PROVIDER_LIMITS } from '../sim/limits';
import { RateLimits } from '../sim/rate-limit';
import { installSimTransport } from '../sim/transport';

const TENANT = '72f988bf-0000-4000-8000-00000000a2e1';
const CLIENT_ID = '5e0e5e0e-0000-4000-8000-00000000c11e';
const SUB = '00000000-0000-4000-8000-000000000001';
const clock = new VirtualClock(Date.parse('2026-12-02T02:00:00Z'));
const limits = new RateLimits(PROVIDER_LIMITS, () => clock.now());
const arm = new SimArm('arm.sim.invalid', limits, TENANT);
const entra = new SimEntra('login.sim.invalid', limits, TENANT);
entra.registerApp(CLIENT_ID);
let uninstall: () => void;

const sim = <T>(work: () => Promise<T>): Promise<T> => runSettled(clock, work);

beforeAll(() => {
  uninstall = installSimTransport(clock, {
    accountOf: () => '000000000000',
    aws: async () => {
      throw new Error('no AWS here');
    },
    kube: () => {
      throw new Error('no Kubernetes here');
    },
    web: async (host, method, url, body, headers) => {
      if (host === 'arm.sim.invalid') return { reply: arm.handle(method, url, headers.authorization as string | undefined), latencyMs: 60 };
      if (host === 'login.sim.invalid') return { reply: entra.handle(method, url, body), latencyMs: 80 };
      throw new Error(`unexpected ${host}`);
    },
  });
  for (let i = 0; i < 130; i++) arm.add({ subscription: SUB, resourceGroup: i < 65 ? 'rg-a' : 'rg-b', name: `aks-${i}`, location: 'westeurope', server: `https://aks-${i}.kube.sim.invalid:443`, caPem: SIM_CA_PEM });
});
afterAll(() => uninstall?.());

const assertion = () => unsignedJwt({ iss: 'https://sim.tokens.sts.global.api.aws', sub: 'arn:aws:iam::100000000000:role/worker', aud: 'api://AzureADTokenExchange', exp: Math.floor(Date.now() / 1000) + 900 });

describe('simulated Entra ID token endpoint (through @azure/identity / MSAL)', () => {
  it('issues an app token for a federated client assertion, for the scope asked', async () => {
    const credential = new ClientAssertionCredential(TENANT, CLIENT_ID, async () => assertion(), { authorityHost: 'https://login.sim.invalid', disableInstanceDiscovery: true });
    const token = await sim(() => credential.getToken('https://management.azure.com/.default'));
    expect(jwtClaims(token.token)).toMatchObject({ aud: 'https://management.azure.com', tid: TENANT, appid: CLIENT_ID, idtyp: 'app' });
    expect(token.expiresOnTimestamp).toBeGreaterThan(Date.now());
    expect(entra.tokensIssued).toBe(1);
  });

  it('refuses a wrong audience and an unknown app with Entra\'s AADSTS codes, and throttles with 429 + Retry-After', () => {
    const form = (o: Record<string, string>) => new URLSearchParams({ grant_type: 'client_credentials', client_id: CLIENT_ID, scope: 'https://management.azure.com/.default', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion(), ...o }).toString();
    const url = new URL(`https://login.sim.invalid/${TENANT}/oauth2/v2.0/token`);
    const wrongAud = entra.handle('POST', url, form({ client_assertion: unsignedJwt({ aud: 'sts.amazonaws.com', exp: Math.floor(Date.now() / 1000) + 900 }) }));
    expect([wrongAud.status, JSON.parse(wrongAud.body).error_codes]).toEqual([400, [700212]]);
    const unknown = entra.handle('POST', url, form({ client_id: '00000000-0000-4000-8000-00000000dead' }));
    expect(JSON.parse(unknown.body).error_description).toMatch(/^AADSTS700016: /);

    let now = 0;
    const l = new RateLimits(PROVIDER_LIMITS, () => now);
    const e = new SimEntra('login.sim.invalid', l, TENANT);
    e.registerApp(CLIENT_ID);
    const burst = PROVIDER_LIMITS['entra.token']!.burst;
    for (let i = 0; i < burst; i++) expect(e.handle('POST', url, form({})).status).toBe(200);
    const over = e.handle('POST', url, form({}));
    expect([over.status, over.headers?.['retry-after'], JSON.parse(over.body).error_codes]).toEqual([429, '60', [50196]]);
  });
});

describe('simulated ARM for AKS (through @azure/arm-containerservice)', () => {
  const client = new ContainerServiceClient({ getToken: async () => ({ token: 'sim-arm-token', expiresOnTimestamp: Date.now() + 3600_000 }) }, SUB, { endpoint: 'https://arm.sim.invalid', retryOptions: { maxRetries: 0 } });

  it('lists a subscription\'s clusters over nextLink pages, reads one (flattened model) and its user kubeconfig', async () => {
    const all = await sim(async () => {
      const ids: string[] = [];
      for await (const mc of client.managedClusters.list()) ids.push(mc.id!);
      return ids;
    });
    expect(all).toHaveLength(130);
    expect(all[0]).toBe(`/subscriptions/${SUB}/resourceGroups/rg-a/providers/Microsoft.ContainerService/managedClusters/aks-0`);
    const byGroup = await sim(async () => {
      let n = 0;
      for await (const _ of client.managedClusters.listByResourceGroup('rg-b')) n++;
      return n;
    });
    expect(byGroup).toBe(65);
    const mc = await sim(() => client.managedClusters.get('rg-a', 'aks-3'));
    expect(mc).toMatchObject({ name: 'aks-3', provisioningState: 'Succeeded', powerState: { code: 'Running' }, fqdn: 'aks-3.kube.sim.invalid', aadProfile: { tenantID: TENANT }, disableLocalAccounts: true });
    const creds = await sim(() => client.managedClusters.listClusterUserCredentials('rg-a', 'aks-3'));
    const kubeconfig = parseKubeconfig(Buffer.from(creds.kubeconfigs![0]!.value!).toString('utf8'), 'sim kubeconfig');
    expect(kubeconfig).toMatchObject({ server: 'https://aks-3.kube.sim.invalid:443', caPem: SIM_CA_PEM, user: { exec: 'kubelogin' } });
    await expect(sim(() => client.managedClusters.get('rg-a', 'missing'))).rejects.toMatchObject({ statusCode: 404, code: 'ResourceNotFound' });
  });

  it('throttles reads and writes in separate token buckets per subscription (429 + Retry-After)', () => {
    let now = 0;
    const l = new RateLimits(PROVIDER_LIMITS, () => now);
    const a = new SimArm('arm.sim.invalid', l, TENANT);
    a.add({ subscription: SUB, resourceGroup: 'rg', name: 'c', location: 'westeurope', server: 'https://c.kube.sim.invalid:443', caPem: SIM_CA_PEM });
    const get = () => a.handle('GET', new URL(`https://arm.sim.invalid/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c?api-version=2026-04-01`), 'Bearer t');
    const creds = () => a.handle('POST', new URL(`https://arm.sim.invalid/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c/listClusterUserCredential?api-version=2026-04-01`), 'Bearer t');
    for (let i = 0; i < 250; i++) expect(get().status).toBe(200);
    const over = get();
    expect([over.status, over.headers?.['retry-after'], JSON.parse(over.body).error.code]).toEqual([429, '1', 'TooManyRequests']);
    for (let i = 0; i < 200; i++) expect(creds().status).toBe(200);
    expect(creds().status).toBe(429);
    now = 1_000;
    for (let i = 0; i < 25; i++) expect(get().status).toBe(200);
    expect(get().status).toBe(429);
    expect(a.handle('GET', new URL(`https://arm.sim.invalid/subscriptions/${SUB}/providers/Microsoft.ContainerService/managedClusters`), 'Bearer t').status).toBe(400);
  });
});
