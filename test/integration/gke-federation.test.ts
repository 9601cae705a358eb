import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { parseClusterRef } from '../../shared/domain/cluster-ref';
import { resetAwsClients } from '../../shared/platforms/aws/clients';
import { awsWebIdentityToken, resetWebIdentityTokens } from '../../shared/platforms/aws/web-identity-token';
import { createGkeCloud } from '../../shared/platforms/gke/adapter';
import { gcpTargetSchema } from '../../shared/platforms/gke/config';
import { resetGkeApis } from '../../shared/platforms/gke/container-api';
import { resetGoogleCredentials } from '../../shared/platforms/gke/credential';
import { GoogleCredentialError } from '../../shared/platforms/gke/errors';
import { KubeApiError } from '../../shared/platforms/kubernetes/errors';
import { CallCounter, countCalls } from '../../shared/runtime/call-log';
import { ExternalCallError } from '../../shared/runtime/errors';
import { startSandbox, type Sandbox } from '../sandbox';
import { startGcpSandbox, type GcpSandbox } from '../sandbox/gcp';
import { principalFor } from '../sandbox/gcp/identity';
import { guardLoopback } from '../sandbox/loopback-guard';

/**
 * The secretless chain end to end, through google-auth-library over HTTPS: the functions' AWS JWT
 * (STS GetWebIdentityToken at the AWS front) -> Google STS token exchange (signature against the AWS
 * issuer's JWKS, issuer, audience, expiry) -> IAM Credentials generateAccessToken (impersonation
 * right) -> the token reads the GKE API and is the clusters' Kubernetes bearer. Refusals name the
 * step and never carry a token. Nothing leaves loopback.
 */
const id = randomBytes(3).toString('hex');
const PROJECT = `fed-proj-${id}`;
const PROJECT_NUMBER = `7${Date.now().toString().slice(-9)}`;
const TOKENISH = /ya29\.|eyJ[\w-]+\./;
let sandbox: Sandbox;
let gcp: GcpSandbox;
let restoreEnv: () => void;
let ref: string;
const guard = guardLoopback();

beforeAll(async () => {
  sandbox = await startSandbox({ motoUrl: inject('motoUrl') });
  restoreEnv = sandbox.useAwsEnv();
  resetAwsClients();
  gcp = await startGcpSandbox({ kube: sandbox.kube, front: sandbox.front, sensors: sandbox.sensors });
  ({ ref } = await gcp.fleet.createGkeCluster({ projectId: PROJECT, projectNumber: PROJECT_NUMBER, location: 'us-central1', name: `fed-${id}`, nodePools: [{ name: 'default-pool', nodeCount: 1 }] }));
});
afterAll(async () => {
  guard.stop();
  resetGkeApis();
  resetGoogleCredentials();
  restoreEnv?.();
  await gcp?.stop();
  await sandbox?.stop();
});
beforeEach(() => {
  // every case starts without cached tokens: each exchange is visible in the stand-ins' logs
  resetWebIdentityTokens();
  resetGoogleCredentials();
  resetGkeApis();
});

const cloud = (extra: Record<string, unknown> = {}, auth: Record<string, unknown> = {}) => {
  const base = gcp.target(PROJECT, { projectNumber: PROJECT_NUMBER, ...extra }) as { auth: Record<string, unknown> };
  const merged = Object.fromEntries(Object.entries({ ...base.auth, ...auth }).filter(([, v]) => v !== undefined));
  return createGkeCloud({ targets: [gcpTargetSchema.parse({ ...base, auth: merged })] });
};

describe('AWS JWT -> Google STS -> IAM Credentials', () => {
  it('exchanges once and reuses the token for the GKE API and the Kubernetes API over several connects', async () => {
    const counter = new CallCounter();
    const sts = gcp.requests.sts.length;
    const iam = gcp.requests.iam.length;
    const gke = cloud();
    await countCalls(counter, async () => {
      for (let i = 0; i < 4; i++) {
        const c = await gke.connect(parseClusterRef(ref));
        expect((await c.handle.kube.list('v1', 'Node')).length).toBe(1);
      }
    });
    expect(counter.byOperation()).toMatchObject({ 'STS:GetWebIdentityToken': 1, 'GoogleSTS:ExchangeToken': 1, 'IAMCredentials:GenerateAccessToken': 1, 'GKE:GetCluster': 4, 'kubernetes:list nodes': 4 });
    // the stand-ins saw the same: one exchange for the AWS role's identity, one impersonation
    const exchanges = gcp.requests.sts.slice(sts);
    expect(exchanges).toEqual([{ method: 'POST', path: '/v1/token', status: 200, principal: principalFor(gcp.providerName, 'arn:aws:sts::123456789012:user/moto') }]);
    expect(gcp.requests.iam.slice(iam)).toMatchObject([{ status: 200, principal: exchanges[0]!.principal }]);
    // the JWT the AWS front signed was for the provider's default audience
    expect(sandbox.front.webIdentity.issued.at(-1)!.aud).toEqual([`//iam.googleapis.com/${gcp.providerName}`]);
    // both APIs saw the service account's token
    expect(gcp.requests.gke.at(-1)!.principal).toBe(gcp.serviceAccountEmail);
  });

  it('renews the access token shortly before it expires', async () => {
    gcp.identity.maxTokenLifetimeSeconds = 302; // the library renews 5 minutes before expiry: 2 s from now
    try {
      const gke = cloud();
      const counter = new CallCounter();
      await countCalls(counter, () => gke.connect(parseClusterRef(ref)));
      await countCalls(counter, () => gke.connect(parseClusterRef(ref)));
      expect(counter.byOperation()['IAMCredentials:GenerateAccessToken']).toBe(1);
      await new Promise((r) => setTimeout(r, 2_200));
      const c = await countCalls(counter, () => gke.connect(parseClusterRef(ref)));
      expect(counter.byOperation()['IAMCredentials:GenerateAccessToken']).toBe(2);
      expect((await c.handle.kube.list('v1', 'Node')).length).toBe(1);
    } finally {
      gcp.identity.maxTokenLifetimeSeconds = undefined;
    }
  });

  it('absorbs a transient STS and IAM Credentials failure (bounded retries), without a second subject token', async () => {
    gcp.faults.sts.failNext = { status: 503, count: 1 };
    gcp.faults.iam.failNext = { status: 503, count: 1 };
    const sts = gcp.requests.sts.length;
    const iam = gcp.requests.iam.length;
    const counter = new CallCounter();
    const c = await countCalls(counter, () => cloud().connect(parseClusterRef(ref)));
    expect(c.status).toBe('RUNNING');
    expect(gcp.requests.sts.slice(sts).map((r) => r.status)).toEqual([503, 200]);
    expect(gcp.requests.iam.slice(iam).map((r) => r.status)).toEqual([503, 200]);
    expect(counter.byOperation()['STS:GetWebIdentityToken']).toBe(1);
  });

  it('refuses a JWT with the wrong audience', async () => {
    const err = await cloud({}, { audience: 'https://sts.amazonaws.com/wrong' }).connect(parseClusterRef(ref)).catch((e) => e);
    expect(err).toBeInstanceOf(GoogleCredentialError);
    expect(err.message).toMatch(/^Google STS token exchange for workload identity provider .* failed \(HTTP 400\): invalid_grant: The audience in ID Token \[https:\/\/sts\.amazonaws\.com\/wrong\] does not match/);
    expect(err.message).not.toMatch(TOKENISH);
    expect(err.terminal).toBe(true); // Google refused it: retrying the same identity cannot help
    expect(gcp.requests.sts.at(-1)!.status).toBe(400);
  });

  it('refuses a JWT from an issuer the provider does not trust', async () => {
    const other = gcp.providerName.replace(/providers\/[^/]+$/, 'providers/other-aws-account');
    gcp.identity.addProvider({ name: other, issuer: sandbox.front.webIdentity.issuerFor('210987654321'), allowedAudiences: [] });
    const err = await cloud({}, { workloadIdentityProvider: other }).connect(parseClusterRef(ref)).catch((e) => e);
    expect(err).toBeInstanceOf(GoogleCredentialError);
    expect(err.message).toContain('invalid_grant: The issuer in ID Token');
    expect(err.message).toContain(sandbox.front.webIdentity.issuerFor('210987654321'));
    expect(err.message).not.toMatch(TOKENISH);
  });

  it('refuses an expired JWT', async () => {
    await awsWebIdentityToken({ audience: `//iam.googleapis.com/${gcp.providerName}` }); // cached by the AWS half, 900 s
    gcp.identity.advanceClock(16 * 60_000);
    try {
      const err = await cloud().connect(parseClusterRef(ref)).catch((e) => e);
      expect(err).toBeInstanceOf(GoogleCredentialError);
      expect(err.message).toMatch(/invalid_grant: ID Token issued at \d+ is stale to sign-in/);
      expect(err.message).not.toMatch(TOKENISH);
    } finally {
      gcp.identity.advanceClock(-16 * 60_000);
    }
  });

  it('refuses impersonation of a service account the pool may not impersonate', async () => {
    const email = `no-rights-${id}@sensorfleet-host.iam.gserviceaccount.com`;
    gcp.identity.addServiceAccount(email, []);
    const err = await cloud({}, { serviceAccountEmail: email }).connect(parseClusterRef(ref)).catch((e) => e);
    expect(err).toBeInstanceOf(GoogleCredentialError);
    expect(err.message).toBe(
      `IAM Credentials generateAccessToken for workload identity provider ${gcp.providerName} as ${email} failed (HTTP 403): PERMISSION_DENIED: Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).; grant the pool principal roles/iam.workloadIdentityUser on the service account`,
    );
    expect(gcp.requests.sts.at(-1)!.status).toBe(200); // the exchange itself worked
  });

  it('without impersonation the federated principal needs its own grant (direct resource access); the API servers check it', async () => {
    const gke = cloud({}, { serviceAccountEmail: undefined });
    const denied = await gke.connect(parseClusterRef(ref)).catch((e) => e);
    expect(denied).toBeInstanceOf(ExternalCallError);
    expect(denied.message).toMatch(/GKE GetCluster failed \(HTTP 403 PERMISSION_DENIED\): Required "container.clusters.get" permission/);
    expect(denied.message).not.toMatch(TOKENISH);

    const principal = principalFor(gcp.providerName, 'arn:aws:sts::123456789012:user/moto');
    gcp.identity.grantProject(PROJECT, principal);
    const c = await gke.connect(parseClusterRef(ref));
    expect((await c.handle.kube.list('v1', 'Node')).length).toBe(1);
    // the Kubernetes API server asks IAM on every request: revoked, the same token is refused
    gcp.identity.revokeProject(PROJECT, principal);
    const refused = await c.handle.kube.list('v1', 'Node').catch((e) => e);
    expect(refused).toBeInstanceOf(KubeApiError);
    expect(refused.status).toBe(401);
  });

  it('a credential configuration file from Secrets Manager (external_account, file-sourced OIDC token)', async () => {
    const audience = `//iam.googleapis.com/${gcp.providerName}`;
    const dir = mkdtempSync(join(tmpdir(), 'gke-cred-'));
    const tokenFile = join(dir, 'token.jwt');
    writeFileSync(tokenFile, await awsWebIdentityToken({ audience }));
    const secretId = `sensorfleet/gcp-credential-${id}`;
    const sm = new SecretsManagerClient({ region: sandbox.aws.region, endpoint: sandbox.aws.endpoint, credentials: sandbox.aws.credentials });
    await sm.send(
      new CreateSecretCommand({
        Name: secretId,
        // what `gcloud iam workload-identity-pools create-cred-config … --credential-source-file` writes
        SecretString: JSON.stringify({
          universe_domain: 'googleapis.com',
          type: 'external_account',
          audience,
          subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
          token_url: `${gcp.stsUrl}/v1/token`,
          service_account_impersonation_url: `${gcp.iamUrl}/v1/projects/-/serviceAccounts/${gcp.serviceAccountEmail}:generateAccessToken`,
          credential_source: { file: tokenFile, format: { type: 'text' } },
        }),
      }),
    );
    sm.destroy();
    const gke = cloud({}, { method: 'credential-file', secretId, workloadIdentityProvider: undefined, serviceAccountEmail: undefined });
    const c = await gke.connect(parseClusterRef(ref));
    expect((await c.handle.kube.list('v1', 'Node')).length).toBe(1);
    expect(gcp.requests.iam.at(-1)).toMatchObject({ status: 200 });

    // a service account key is not a credential configuration: refused with the reason, not sent anywhere
    const keyId = `sensorfleet/gcp-sa-key-${id}`;
    const sm2 = new SecretsManagerClient({ region: sandbox.aws.region, endpoint: sandbox.aws.endpoint, credentials: sandbox.aws.credentials });
    await sm2.send(new CreateSecretCommand({ Name: keyId, SecretString: JSON.stringify({ type: 'service_account', client_email: 'x@y.iam.gserviceaccount.com', private_key: 'not-a-key' }) }));
    sm2.destroy();
    const err = await cloud({}, { method: 'credential-file', secretId: keyId, workloadIdentityProvider: undefined, serviceAccountEmail: undefined }).connect(parseClusterRef(ref)).catch((e) => e);
    expect(err.message).toContain('not a service account key');
  });
});

describe('nothing leaves loopback', () => {
  it('no connection in this file went anywhere but 127.0.0.1 / localhost (and the guard does see connections)', () => {
    expect(guard.connections.length).toBeGreaterThan(0);
    expect(guard.offLoopback()).toEqual([]);
  });
});
