import { createHash, timingSafeEqual } from 'node:crypto';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { awsClient } from '../platforms/aws/clients';
import type { SharedSecretAuthConfig } from './config';
import type { AuthOutcome } from './jwt';
import type { WebhookRequest } from './http';

/**
 * Event Grid's alternative to Entra: a secret in a query parameter of the endpoint URL or in a secret
 * delivery-property header (https://learn.microsoft.com/azure/event-grid/security-authentication),
 * compared in constant time with the one in Secrets Manager. The stored secret is cached five minutes;
 * a mismatch re-reads it at most once a minute, so a rotated secret is picked up without a cold start.
 */
export interface SecretReader {
  (secretId: string, region: string | undefined): Promise<string>;
}

export const secretsManagerReader: SecretReader = async (secretId, region) => {
  const sm = awsClient(SecretsManagerClient, { region: region ?? process.env.AWS_REGION ?? 'us-east-1' });
  const out = await sm.send(new GetSecretValueCommand({ SecretId: secretId }));
  const text = out.SecretString ?? '';
  try {
    const json = JSON.parse(text) as unknown;
    if (json && typeof json === 'object' && typeof (json as { secret?: unknown }).secret === 'string') return (json as { secret: string }).secret;
  } catch {
    // not JSON: the whole string is the secret
  }
  return text;
};

const CACHE_MS = 300_000;
const REFRESH_ON_MISS_MS = 60_000;

export class SharedSecretVerifier {
  private cached: { value: string; at: number } | undefined;

  constructor(
    private readonly cfg: SharedSecretAuthConfig,
    private readonly read: SecretReader = secretsManagerReader,
    private readonly now: () => number = Date.now,
  ) {}

  async verify(req: WebhookRequest): Promise<AuthOutcome> {
    const fromQuery = req.query.getAll(this.cfg.queryParameter);
    const fromHeader = req.headers[this.cfg.header.toLowerCase()];
    const presented = [...fromQuery, ...(fromHeader !== undefined ? [fromHeader] : [])];
    if (presented.length === 0) return { ok: false, status: 401, reason: `no secret (query parameter ${this.cfg.queryParameter} or header ${this.cfg.header})` };
    if (new Set(presented).size > 1) return { ok: false, status: 401, reason: 'more than one different secret presented' };
    let stored: string;
    try {
      stored = await this.secret(false);
      if (!same(presented[0]!, stored) && this.now() - this.cached!.at > REFRESH_ON_MISS_MS) stored = await this.secret(true);
    } catch {
      return { ok: false, status: 503, reason: `the secret ${this.cfg.secretId} could not be read` };
    }
    if (!stored) return { ok: false, status: 503, reason: `the secret ${this.cfg.secretId} is empty` };
    return same(presented[0]!, stored) ? { ok: true, claims: {} } : { ok: false, status: 401, reason: 'secret does not match' };
  }

  private async secret(fresh: boolean): Promise<string> {
    if (!fresh && this.cached && this.now() - this.cached.at < CACHE_MS) return this.cached.value;
    const value = await this.read(this.cfg.secretId, this.cfg.secretRegion);
    this.cached = { value, at: this.now() };
    return value;
  }
}

/** Equal-length digests, so neither the comparison time nor an early length check says anything about the secret. */
function same(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}
