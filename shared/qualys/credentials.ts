import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { awsClient, whereLabel } from '../platforms/aws/clients';
import { ConfigError, withContext } from '../runtime/errors';
import type { QualysCredentials } from './auth';
import type { QualysConfig } from './config';

function secretRegion(region?: string): string {
  return region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
}

/** A JSON secret as string fields. Errors name the secret, never its content. */
export async function readJsonSecret(secretId: string, region?: string): Promise<Record<string, string>> {
  const access = { region: secretRegion(region) };
  const sm = awsClient(SecretsManagerClient, access);
  const out = await withContext(async () => `reading secret ${secretId} in ${await whereLabel(access)}`, () => sm.send(new GetSecretValueCommand({ SecretId: secretId })));
  try {
    const parsed = JSON.parse(out.SecretString ?? '') as unknown;
    if (!parsed || typeof parsed !== 'object') throw new Error('not an object');
    return Object.fromEntries(Object.entries(parsed).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
  } catch {
    throw new ConfigError(`secret ${secretId} is not a JSON object`);
  }
}

/** API credentials: {username, password} for /auth or {clientId, clientSecret} for /auth/oidc. */
export async function loadQualysCredentials(auth: QualysConfig['auth']): Promise<QualysCredentials> {
  const s = await readJsonSecret(auth.secretId, auth.secretRegion);
  if (auth.method === 'oauth') {
    if (!s.clientId || !s.clientSecret) throw new ConfigError(`secret ${auth.secretId} needs clientId and clientSecret for qualys.auth.method oauth`);
    return { kind: 'oauth', clientId: s.clientId, clientSecret: s.clientSecret };
  }
  if (!s.username || !s.password) throw new ConfigError(`secret ${auth.secretId} needs username and password`);
  return { kind: 'password', username: s.username, password: s.password };
}
