import { GetWebIdentityTokenCommand, STSClient } from '@aws-sdk/client-sts';
import { ConfigError, SensorfleetError } from '../../runtime/errors';
import { awsClient } from './clients';

/**
 * IAM outbound identity federation: a short-lived JWT for the functions' own role (iss = the
 * account's issuer URL, sub = the role ARN, aud = `audience`), which Entra and GCP workload identity
 * federation accept instead of a stored secret. Regional STS only (the global endpoint does not
 * serve GetWebIdentityToken): the client is built for the function's region.
 * Tokens are cached per audience until shortly before they expire and never logged.
 */
const DURATION_SECONDS = 900;
/** A token is renewed when less than this remains, so an exchange never carries one about to expire. */
const RENEW_BEFORE_MS = 120_000;

const cache = new Map<string, { token: string; expiresAt: number }>();
const pending = new Map<string, Promise<string>>();

export async function awsWebIdentityToken(o: { audience: string; region?: string }): Promise<string> {
  const region = o.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (!region) throw new ConfigError('AWS outbound identity federation needs a region (AWS_REGION): STS GetWebIdentityToken is served by regional endpoints only');
  const key = `${region}|${o.audience}`;
  const hit = cache.get(key);
  if (hit && hit.expiresAt - Date.now() > RENEW_BEFORE_MS) return hit.token;
  let p = pending.get(key);
  if (!p) {
    p = fetchToken(o.audience, region, key).finally(() => pending.delete(key));
    pending.set(key, p);
  }
  return p;
}

async function fetchToken(audience: string, region: string, key: string): Promise<string> {
  const sts = awsClient(STSClient, { region });
  let out;
  try {
    out = await sts.send(new GetWebIdentityTokenCommand({ Audience: [audience], SigningAlgorithm: 'RS256', DurationSeconds: DURATION_SECONDS }));
  } catch (err) {
    const e = err as { name?: string; message?: string };
    const hint = e.name === 'OutboundWebIdentityFederationDisabledException' ? ' (enable it once per account: aws iam enable-outbound-web-identity-federation; infra/aws-control-plane does)' : '';
    throw new SensorfleetError(`STS GetWebIdentityToken for audience ${audience} in ${region} failed: ${e.name ?? 'Error'}: ${e.message ?? String(err)}${hint}`, { cause: err });
  }
  if (!out.WebIdentityToken) throw new SensorfleetError(`STS GetWebIdentityToken for audience ${audience} in ${region} returned no token`);
  const expiresAt = out.Expiration?.getTime() ?? Date.now() + DURATION_SECONDS * 1000;
  cache.set(key, { token: out.WebIdentityToken, expiresAt });
  return out.WebIdentityToken;
}

/** Tests: forget cached tokens. */
export function resetWebIdentityTokens(): void {
  cache.clear();
}
