import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gkeApi, resetGkeApis } from '../../shared/platforms/gke/container-api';
import { gcpTargetSchema } from '../../shared/platforms/gke/config';
import { resetGoogleCredentials } from '../../shared/platforms/gke/credential';
import { resetWebIdentityTokens } from '../../shared/platforms/aws/web-identity-token';
import { unsignedJwt } from '../sim/azure';
import { runSettled, VirtualClock } from '../sim/clock';
import { SIM_CA_PEM } from '../sim/eks';
import { SimGke, SimGoogleTokens } from '../sim/gcp';
import { PROVIDER_LIMITS } from '../sim/limits';
import { RateLimits } from '../sim/rate-limit';
import { installSimTransport } from '../sim/transport';

const PROVIDER = 'projects/123456789012/locations/global/workloadIdentityPools/sensorfleet/providers/aws';
const clock = new VirtualClock(Date.parse('2026-12-02T02:00:00Z'));
const limits = new RateLimits(PROVIDER_LIMITS, () => clock.now());
const gke = new SimGke('container.sim.invalid', limits);
const tokens = new SimGoogleTokens('sts.sim.invalid', 'iamcredentials.sim.invalid', limits, `//iam.googleapis.com/${PROVIDER}`);
const savedEnv = { ...process.env };
let uninstall: () => void;
let webIdentityTokens = 0;

const sim = <T>(work: () => Promise<T>): Promise<T> => runSettled(clock, work);

beforeAll(() => {
  Object.assign(process.env, { AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'AKIASIM100000000000', AWS_SECRET_ACCESS_KEY: 'x', AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent' });
  uninstall = installSimTransport(clock, {
    accountOf: () => '100000000000',
    // the one AWS call of the federation: STS GetWebIdentityToken (Query protocol, XML)
    aws: async (route) => {
      const form = new URLSearchParams(route.body);
      if (route.service !== 'sts' || form.get('Action') !== 'GetWebIdentityToken') throw new Error(`unexpected AWS call ${route.service} ${form.get('Action')}`);
      webIdentityTokens++;
      const exp = Math.floor(Date.now() / 1000) + 900;
      const token = unsignedJwt({ iss: 'https://sim.tokens.sts.global.api.aws', sub: 'arn:aws:iam::100000000000:role/worker', aud: form.get('Audience.member.1'), exp });
      return { reply: { status: 200, body: `<GetWebIdentityTokenResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetWebIdentityTokenResult><WebIdentityToken>${token}</WebIdentityToken><Expiration>${new Date(exp * 1000).toISOString()}</Expiration></GetWebIdentityTokenResult><ResponseMetadata><RequestId>sim</RequestId></ResponseMetadata></GetWebIdentityTokenResponse>`, headers: { 'content-type': 'text/xml' } }, latencyMs: 40 };
    },
    kube: () => {
      throw new Error('no Kubernetes here');
    },
    web: async (host, method, url, body, headers) => {
      const authorization = headers.authorization as string | undefined;
      if (host === 'container.sim.invalid') return { reply: gke.handle(method, url, authorization), latencyMs: 70 };
      return { reply: tokens.handle(host, method, url, body, authorization), latencyMs: 60 };
    },
  });
  for (let i = 0; i < 6; i++) gke.add({ project: 'sf-fleet-00', location: i < 4 ? 'europe-west1' : 'us-central1', name: `gke-${i}`, endpoint: `gke-${i}.kube.sim.invalid`, caPem: SIM_CA_PEM, labels: { team: 'search' } });
});
afterAll(() => {
  uninstall?.();
  resetGkeApis();
  resetGoogleCredentials();
  resetWebIdentityTokens();
  process.env = savedEnv;
});

const target = gcpTargetSchema.parse({
  projectId: 'sf-fleet-00',
  locations: ['europe-west1', 'us-central1'],
  auth: { method: 'aws-federation', workloadIdentityProvider: PROVIDER, serviceAccountEmail: 'sensorfleet@sf-fleet-hub.iam.gserviceaccount.com' },
  endpoints: { container: 'https://container.sim.invalid', sts: 'https://sts.sim.invalid', iamCredentials: 'https://iamcredentials.sim.invalid' },
});

describe('simulated GKE API and Google token services (through @google-cloud/container REST fallback and google-auth-library)', () => {
  it('federates the AWS JWT through Google STS and IAM Credentials once, then lists and reads clusters', async () => {
    const api = await sim(() => gkeApi(target));
    const europe = await sim(() => api.listClusters('sf-fleet-00', 'europe-west1'));
    expect(europe.clusters.map((c) => c.name)).toEqual(['gke-0', 'gke-1', 'gke-2', 'gke-3']);
    expect(europe.missingZones).toEqual([]);
    const everywhere = await sim(() => api.listClusters('sf-fleet-00', '-'));
    expect(everywhere.clusters).toHaveLength(6);
    const c = await sim(() => api.getCluster('sf-fleet-00', 'us-central1', 'gke-5'));
    // enum-encoding=int on the wire, decoded by the library
    expect(c).toMatchObject({ name: 'gke-5', location: 'us-central1', endpoint: 'gke-5.kube.sim.invalid', resourceLabels: { team: 'search' } });
    expect(['RUNNING', 2]).toContain(c!.status);
    expect(Buffer.from(c!.masterAuth!.clusterCaCertificate!, 'base64').toString('utf8')).toBe(SIM_CA_PEM);
    expect(await sim(() => api.getCluster('sf-fleet-00', 'us-central1', 'missing'))).toBeUndefined();
    expect(await sim(() => api.credential.accessToken())).toMatch(/^ya29\.sim-sa-/);
    // one AWS JWT, one exchange, one impersonation: the library caches the token
    expect([webIdentityTokens, tokens.exchanges, tokens.impersonations]).toEqual([1, 1, 1]);
  });

  it('answers RESOURCE_EXHAUSTED with RetryInfo over the per-project quota, and refuses calls without a token', () => {
    let now = 0;
    const l = new RateLimits(PROVIDER_LIMITS, () => now);
    const g = new SimGke('container.sim.invalid', l);
    g.add({ project: 'p-one-1', location: 'europe-west1', name: 'c', endpoint: 'c.kube.sim.invalid', caPem: SIM_CA_PEM });
    const get = (project = 'p-one-1') => g.handle('GET', new URL(`https://container.sim.invalid/v1/projects/${project}/locations/europe-west1/clusters/c?$alt=json%3Benum-encoding=int`), 'Bearer ya29.x');
    // 3,000 per minute, enforced per 100 s: 5,000 calls in one window
    const quota = PROVIDER_LIMITS['gke.api']!.ratePerSecond * PROVIDER_LIMITS['gke.api']!.windowSeconds!;
    expect(quota).toBe(5_000);
    for (let i = 0; i < quota; i++) expect(get().status).toBe(200);
    const over = get();
    const err = JSON.parse(over.body).error;
    expect([over.status, err.status, err.details[0].retryDelay]).toEqual([429, 'RESOURCE_EXHAUSTED', '2s']);
    // another project has its own quota
    expect(get('p-two-2').status).toBe(404);
    now = 99_999;
    expect(get().status).toBe(429);
    now = 100_000;
    expect(get().status).toBe(200);
    expect(JSON.parse(get().body).status).toBe(2);
    expect(g.handle('GET', new URL('https://container.sim.invalid/v1/projects/p-one-1/locations/-/clusters'), undefined).status).toBe(401);
  });

  it('refuses a token exchange for another provider audience, as Google STS does', () => {
    const r = tokens.handle('sts.sim.invalid', 'POST', new URL('https://sts.sim.invalid/v1/token'), new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', audience: '//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/x/providers/y', subject_token: 'j' }).toString(), undefined);
    expect([r.status, JSON.parse(r.body).error]).toEqual([400, 'invalid_target']);
  });
});
