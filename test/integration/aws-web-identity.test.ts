import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { resetAwsClients } from '../../shared/platforms/aws/clients';
import { awsWebIdentityToken, resetWebIdentityTokens } from '../../shared/platforms/aws/web-identity-token';
import { startSandbox, type Sandbox } from '../sandbox/index';

/** AWS IAM outbound identity federation through the real STS client against the sandbox AWS front. */
let sandbox: Sandbox;
let restore: () => void;

beforeAll(async () => {
  sandbox = await startSandbox({ motoUrl: inject('motoUrl'), region: 'eu-central-1' });
  restore = sandbox.useAwsEnv();
  resetAwsClients();
  resetWebIdentityTokens();
});

afterAll(async () => {
  restore?.();
  resetAwsClients();
  await sandbox?.stop();
});

describe('awsWebIdentityToken', () => {
  it('returns a JWT signed by the account issuer for the requested audience, cached until near expiry', async () => {
    const before = sandbox.front.count('sts', 'GetWebIdentityToken');
    const token = await awsWebIdentityToken({ audience: 'api://AzureADTokenExchange' });
    const again = await awsWebIdentityToken({ audience: 'api://AzureADTokenExchange' });
    expect(again).toBe(token);
    expect(sandbox.front.count('sts', 'GetWebIdentityToken') - before).toBe(1);

    const jwks = createLocalJWKSet(await sandbox.front.webIdentity.jwks());
    const issuer = sandbox.front.webIdentity.issuerFor(sandbox.aws.accountId);
    const { payload, protectedHeader } = await jwtVerify(token, jwks, { issuer, audience: 'api://AzureADTokenExchange' });
    expect(protectedHeader.alg).toBe('RS256');
    expect(issuer).toMatch(/^https:\/\/[0-9a-f-]{36}\.tokens\.sts\.global\.api\.aws$/);
    expect(payload.sub).toMatch(/^arn:aws:(iam|sts)::\d{12}:/);
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(900);
    expect((payload['https://sts.amazonaws.com/'] as Record<string, string>).aws_account).toBe(sandbox.aws.accountId);
  });

  it('asks again for another audience', async () => {
    const before = sandbox.front.count('sts', 'GetWebIdentityToken');
    const token = await awsWebIdentityToken({ audience: '//iam.googleapis.com/projects/123456/locations/global/workloadIdentityPools/p/providers/aws' });
    expect(decodeJwt(token).aud).toBe('//iam.googleapis.com/projects/123456/locations/global/workloadIdentityPools/p/providers/aws');
    expect(sandbox.front.count('sts', 'GetWebIdentityToken') - before).toBe(1);
  });

  it('names the role (not the session) as subject for an assumed role', async () => {
    const sts = new STSClient({ region: sandbox.aws.region, endpoint: sandbox.aws.endpoint, credentials: sandbox.aws.credentials });
    const roleArn = `arn:aws:iam::${sandbox.aws.accountId}:role/sensorfleet-reconcile-worker`;
    const c = (await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'lambda-session' }))).Credentials!;
    const saved = { ...process.env };
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: c.AccessKeyId, AWS_SECRET_ACCESS_KEY: c.SecretAccessKey, AWS_SESSION_TOKEN: c.SessionToken });
    try {
      resetAwsClients();
      resetWebIdentityTokens();
      const token = await awsWebIdentityToken({ audience: 'api://AzureADTokenExchange' });
      expect(decodeJwt(token).sub).toBe(roleArn);
    } finally {
      for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
      resetAwsClients();
      resetWebIdentityTokens();
    }
  });

  it('says how to enable the feature when the account has not, without a token in the message', async () => {
    sandbox.front.webIdentity.disableFor(sandbox.aws.accountId);
    resetWebIdentityTokens();
    const err = await awsWebIdentityToken({ audience: 'api://AzureADTokenExchange' }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain('OutboundWebIdentityFederationDisabledException');
    expect((err as Error).message).toContain('enable-outbound-web-identity-federation');
  });
});
