import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseClusterRef } from '../../shared/domain/cluster-ref';
import { createAksCloud } from '../../shared/platforms/aks/adapter';
import { azureTargetSchema } from '../../shared/platforms/aks/config';
import { AKS_SCOPE, armScope, azureCredential } from '../../shared/platforms/aks/credential';
import { AzureAuthenticationError } from '../../shared/platforms/aks/errors';
import { CallCounter, countCalls } from '../../shared/runtime/call-log';
import { createCa } from '../sandbox/kube/tls';
import type { EntraApp } from '../sandbox/azure';
import { startAzureWorld, type AzureWorld } from '../sandbox/azure/world';

/**
 * Entra identity through @azure/identity against the Entra stand-in: the function role's STS web
 * identity token as the federated client assertion, and the secret/certificate alternatives from
 * Secrets Manager; refusals carry Entra's AADSTS code and never a token; tokens are reused.
 */
let world: AzureWorld;

beforeAll(async () => {
  world = await startAzureWorld(inject('motoUrl'));
}, 60_000);

afterAll(async () => {
  await world?.stop();
});

function target(app: EntraApp, auth?: Record<string, unknown>) {
  return azureTargetSchema.parse(world.azure.targetConfig(app, auth ? { auth } : {}));
}

function federatedApp(o: { subject?: string; audiences?: string[] } = {}): EntraApp {
  return world.azure.registerApp({ awsAccount: world.sandbox.aws.accountId, subject: o.subject ?? world.roleArn, ...(o.audiences ? { audiences: o.audiences } : {}) });
}

function tokenRequests(clientId: string): number {
  return world.azure.requests.entra.filter((r) => r.clientId === clientId && r.path.endsWith('/oauth2/v2.0/token')).length;
}

async function refusal(app: EntraApp, auth?: Record<string, unknown>): Promise<AzureAuthenticationError> {
  world.resetCaches();
  const err = await azureCredential(target(app, auth)).getToken(armScope(target(app, auth))).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(AzureAuthenticationError);
  return err as AzureAuthenticationError;
}

function expectNoToken(message: string): void {
  expect(message).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);
}

describe('AWS -> Entra federation (ClientAssertionCredential with the STS web identity token)', () => {
  it('exchanges the function role JWT for ARM and AKS tokens whose claims name the app', async () => {
    world.resetCaches();
    const app = federatedApp();
    const cred = azureCredential(target(app));
    const arm = await cred.getToken(armScope(target(app)));
    const aks = await cred.getToken(AKS_SCOPE);
    const armCheck = await world.azure.entra.verifyAccessToken(arm!.token, { audiences: ['https://management.azure.com'], tenantId: world.azure.tenantId });
    const aksCheck = await world.azure.entra.verifyAccessToken(aks!.token, { audiences: ['6dae42f8-4368-4678-94ff-3960e28e3630'], tenantId: world.azure.tenantId });
    expect(armCheck.ok && armCheck.claims.appid).toBe(app.clientId);
    expect(aksCheck.ok && aksCheck.claims.oid).toBe(app.objectId);
    const fed = world.azure.requests.entra.filter((r) => r.clientId === app.clientId);
    expect(fed.map((r) => [r.credential, r.status])).toEqual([['federated', 200], ['federated', 200]]);
    // the assertion really was the role's STS token: the sandbox STS issued one for the role, audience api://AzureADTokenExchange
    expect(world.sandbox.front.webIdentity.issued.some((t) => t.sub === world.roleArn && t.aud.includes('api://AzureADTokenExchange'))).toBe(true);
  });

  it('a federated credential for another audience is refused with AADSTS700212, without the token in the error', async () => {
    const err = await refusal(federatedApp({ audiences: ['api://SomethingElse'] }));
    expect(err.message).toMatch(/AADSTS700212: No matching federated identity record found for presented assertion audience 'api:\/\/AzureADTokenExchange'/);
    expectNoToken(err.message);
  });

  it('a federated credential for another role is refused with AADSTS700213 naming the presented subject', async () => {
    const err = await refusal(federatedApp({ subject: `arn:aws:iam::${world.sandbox.aws.accountId}:role/someone-else` }));
    expect(err.message).toContain(`AADSTS700213: No matching federated identity record found for presented assertion subject '${world.roleArn}'`);
    expect(err.message).toContain('(aws-federation, scope https://management.azure.com/.default)');
    expectNoToken(err.message);
  });

  it('a subject that differs only in case is refused with AADSTS7002138', async () => {
    const err = await refusal(federatedApp({ subject: world.roleArn.toUpperCase().replace('ARN:AWS:IAM', 'arn:aws:iam') }));
    expect(err.message).toMatch(/AADSTS7002138: .*case-insensitive comparison, but not with case-sensitive/);
  });

  it('an assertion Entra sees as expired (its clock ahead) is refused with AADSTS700024', async () => {
    const app = federatedApp();
    world.azure.entra.assertionClockSkewSeconds = 3600;
    try {
      const err = await refusal(app);
      expect(err.message).toMatch(/AADSTS700024: Client assertion is not within its valid time range/);
      expectNoToken(err.message);
    } finally {
      world.azure.entra.assertionClockSkewSeconds = 0;
    }
  });

  it('an assertion signed by a key the issuer does not publish is refused with AADSTS50013', async () => {
    const app = federatedApp();
    const issuer = world.sandbox.front.webIdentity.issuerFor(world.sandbox.aws.accountId);
    const { publicKey } = await generateKeyPair('RS256');
    const rotated: JWK = { ...(await exportJWK(publicKey)), kid: 'rotated-away', alg: 'RS256', use: 'sig' };
    world.azure.entra.trustIssuer(issuer, async () => ({ keys: [rotated] }));
    try {
      const err = await refusal(app);
      expect(err.message).toMatch(/AADSTS50013: Assertion failed signature validation\. \[Reason - The key was not found\./);
      expectNoToken(err.message);
    } finally {
      world.azure.entra.trustIssuer(issuer, () => world.sandbox.front.webIdentity.jwks());
    }
  });

  it('outbound identity federation disabled for the account: the STS reason reaches the error', async () => {
    const app = federatedApp();
    const account = world.sandbox.aws.accountId;
    world.sandbox.front.webIdentity.disableFor(account);
    try {
      const err = await refusal(app);
      expect(err.message).toMatch(/OutboundWebIdentityFederationDisabledException/);
    } finally {
      world.sandbox.front.webIdentity.enableFor(account);
    }
  });

  it('Entra answering 503 once is retried by the identity pipeline', async () => {
    world.resetCaches();
    const app = federatedApp();
    world.azure.entra.faults.failNext = { status: 503, count: 1, retryAfterSeconds: 0 };
    const t = await azureCredential(target(app)).getToken(armScope(target(app)));
    expect(t?.token).toBeTruthy();
    expect(world.azure.requests.entra.filter((r) => r.clientId === app.clientId || r.status === 503).map((r) => r.status).slice(-2)).toEqual([503, 200]);
  });
});

describe('token reuse', () => {
  it('several connects and Kubernetes calls cost one Entra token per scope; an expiring AKS token is renewed', async () => {
    world.resetCaches();
    const app = federatedApp();
    const t = target(app);
    const refs: string[] = [];
    for (const name of ['reuse-a', 'reuse-b', 'reuse-c']) refs.push((await world.azure.fleet.createAksCluster({ resourceGroup: 'rg-reuse', name, mode: 'entra', nodePools: [{ name: 'system', count: 1 }] })).ref);
    const counter = new CallCounter();
    await countCalls(counter, async () => {
      for (let round = 0; round < 2; round++) {
        const cloud = createAksCloud({ targets: [t] });
        for (const ref of refs) {
          const c = await cloud.connect(parseClusterRef(ref));
          expect(await c.handle.kube.list('v1', 'Node')).toHaveLength(1);
          c.handle.kube.close();
        }
      }
    });
    // 6 connects, 6 node lists: one ARM token and one AKS token
    expect(tokenRequests(app.clientId)).toBe(2);
    expect(counter.byOperation()['Entra:token']).toBe(2);
    expect(counter.byOperation()['ARM:managedClusters.get']).toBe(6);

    // MSAL renews a token 5 minutes before it expires (whole seconds): a 301 s token is reused for about a second, then renewed
    world.resetCaches();
    world.azure.entra.tokenLifetimeSeconds = 301;
    try {
      const cloud = createAksCloud({ targets: [t] });
      const c = await cloud.connect(parseClusterRef(refs[0]!));
      await c.handle.kube.list('v1', 'Node');
      await c.handle.kube.list('v1', 'Node');
      const before = tokenRequests(app.clientId);
      await new Promise((r) => setTimeout(r, 2_200));
      await c.handle.kube.list('v1', 'Node');
      expect(tokenRequests(app.clientId)).toBe(before + 1);
      c.handle.kube.close();
    } finally {
      world.azure.entra.tokenLifetimeSeconds = 3599;
    }
  });
});

describe('secrets kept in Secrets Manager', () => {
  it('client-secret: read once from Secrets Manager, accepted; a wrong secret is AADSTS7000215 without the secret', async () => {
    world.resetCaches();
    const client = new SecretsManagerClient({ endpoint: world.sandbox.aws.endpoint, region: world.sandbox.aws.region, credentials: world.sandbox.aws.credentials });
    const good = `sandbox-secret-${Date.now()}-good`;
    const app = world.azure.registerApp({ secret: good });
    const id = `sensorfleet/azure/${app.clientId}`;
    await client.send(new CreateSecretCommand({ Name: id, SecretString: JSON.stringify({ clientSecret: good }) }));
    const badId = `${id}-wrong`;
    const bad = 'not-the-secret-value-41f3';
    await client.send(new CreateSecretCommand({ Name: badId, SecretString: JSON.stringify({ clientSecret: bad }) }));
    client.destroy();

    const t = target(app, { method: 'client-secret', secretId: id });
    const token = await azureCredential(t).getToken(armScope(t));
    expect(token?.token).toBeTruthy();
    expect(world.azure.requests.entra.filter((r) => r.clientId === app.clientId).map((r) => r.credential)).toEqual(['client_secret']);

    const err = await refusal(app, { method: 'client-secret', secretId: badId });
    expect(err.message).toMatch(/AADSTS7000215: Invalid client secret provided/);
    expect(err.message).not.toContain(bad);
  });

  it('client-certificate: the PEM (certificate + key) from Secrets Manager signs the assertion; an unregistered certificate is AADSTS700027', async () => {
    world.resetCaches();
    const client = new SecretsManagerClient({ endpoint: world.sandbox.aws.endpoint, region: world.sandbox.aws.region, credentials: world.sandbox.aws.credentials });
    const cert = createCa('sensorfleet-app-cert');
    const other = createCa('some-other-cert');
    const app = world.azure.registerApp({ certificatePem: cert.certPem });
    const id = `sensorfleet/azure/${app.clientId}-cert`;
    await client.send(new CreateSecretCommand({ Name: id, SecretString: JSON.stringify({ certificatePem: `${cert.certPem}\n${cert.keyPem}` }) }));
    await client.send(new CreateSecretCommand({ Name: `${id}-other`, SecretString: JSON.stringify({ certificatePem: `${other.certPem}\n${other.keyPem}` }) }));
    client.destroy();

    const t = target(app, { method: 'client-certificate', secretId: id });
    expect((await azureCredential(t).getToken(AKS_SCOPE))?.token).toBeTruthy();
    expect(world.azure.requests.entra.filter((r) => r.clientId === app.clientId).map((r) => [r.credential, r.status])).toEqual([['certificate', 200]]);

    const err = await refusal(app, { method: 'client-certificate', secretId: `${id}-other` });
    expect(err.message).toMatch(/AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application/);
    expect(err.message).not.toContain('PRIVATE KEY');
  });
});

describe('network', () => {
  it('nothing left 127.0.0.1 (no instance discovery against login.microsoftonline.com)', () => {
    expect(world.loopback.connections.length).toBeGreaterThan(10);
    expect(world.loopback.offLoopback()).toEqual([]);
    expect(world.azure.requests.entra.some((r) => r.path.includes('/discovery/instance'))).toBe(false);
  });
});
