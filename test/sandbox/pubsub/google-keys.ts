import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SignJWT, type JWK, type JWTPayload } from 'jose';
import { sendJson, startHttpsServer, type SandboxHttpsServer } from '../https';

/**
 * The sandbox's Google OAuth2 signing keys: what https://www.googleapis.com/oauth2/v3/certs serves
 * (a JWKS of RS256 keys with `kid`), on 127.0.0.1 over HTTPS, and the ID tokens Pub/Sub push attaches
 * (https://cloud.google.com/pubsub/docs/authenticate-push-subscriptions, "JWT format": iss
 * https://accounts.google.com, aud, azp = sub = the service account's numeric id, email,
 * email_verified, iat, exp one hour later; header alg RS256, kid, typ JWT).
 */
export interface GoogleIdTokenOptions {
  audience: string;
  email: string;
  /** Defaults: a stable numeric id per email, email_verified true, issued now, valid one hour. */
  subject?: string;
  emailVerified?: boolean;
  issuer?: string;
  issuedAt?: number;
  expiresAt?: number;
  /** Sign with a key the JWKS does not serve (a forged token). */
  unknownKey?: boolean;
}

interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  jwk: JWK;
}

export class SandboxGoogleKeys {
  readonly requests: { path: string; status: number }[] = [];
  private readonly keys: SigningKey[];
  private readonly stranger: SigningKey;

  private constructor(private readonly server: SandboxHttpsServer) {
    this.keys = [newKey(), newKey()];
    this.stranger = newKey();
  }

  static async start(): Promise<SandboxGoogleKeys> {
    let self: SandboxGoogleKeys | undefined;
    const server = await startHttpsServer((req, res) => self!.handle(req, res), (message) => ({ error: { code: 500, message, status: 'INTERNAL' } }));
    self = new SandboxGoogleKeys(server);
    return self;
  }

  /** What webhooks.pubsub.jwksUrl points at. */
  get jwksUrl(): string {
    return `${this.server.url}/oauth2/v3/certs`;
  }

  jwks(): { keys: JWK[] } {
    return { keys: this.keys.map((k) => k.jwk) };
  }

  async idToken(o: GoogleIdTokenOptions): Promise<string> {
    const key = o.unknownKey ? this.stranger : this.keys[0]!;
    const now = Math.floor(Date.now() / 1000);
    const iat = o.issuedAt ?? now;
    const sub = o.subject ?? numericIdOf(o.email);
    const claims: JWTPayload = { azp: sub, email: o.email, email_verified: o.emailVerified ?? true };
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT' })
      .setIssuer(o.issuer ?? 'https://accounts.google.com')
      .setAudience(o.audience)
      .setSubject(sub)
      .setIssuedAt(iat)
      .setExpirationTime(o.expiresAt ?? iat + 3600)
      .sign(key.privateKey);
  }

  stop(): Promise<void> {
    return this.server.stop();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', this.server.url).pathname;
    const status = req.method === 'GET' && path === '/oauth2/v3/certs' ? 200 : 404;
    this.requests.push({ path, status });
    if (status !== 200) return sendJson(res, 404, { error: { code: 404, message: `sandbox Google: no ${path}`, status: 'NOT_FOUND' } });
    // Google's certs endpoint is cacheable for hours; jose keeps the set as long as we let it
    sendJson(res, 200, this.jwks(), { 'cache-control': 'public, max-age=21600, must-revalidate, no-transform' });
  }
}

function newKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = createHash('sha1').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex');
  return { kid, privateKey, jwk: { ...(publicKey.export({ format: 'jwk' }) as JWK), kid, use: 'sig', alg: 'RS256' } };
}

/** Service accounts have a 21-digit numeric unique id (the token's sub and azp). */
function numericIdOf(email: string): string {
  return (BigInt(`0x${createHash('sha256').update(email).digest('hex').slice(0, 16)}`) % 10n ** 21n).toString().padStart(21, '1');
}
