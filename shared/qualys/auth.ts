import type { AxiosInstance } from 'axios';
import { recordApiCall } from '../runtime/call-log';
import { QualysAuthError, QualysNetworkError } from './errors';

/** API credentials as read from Secrets Manager. Held in private fields so they never print. */
export type QualysCredentials = { kind: 'password'; username: string; password: string } | { kind: 'oauth'; clientId: string; clientSecret: string };

/** "The token expires in 4 hours" (DOCS-GW-AUTH [C]). */
export const TOKEN_LIFETIME_MS = 4 * 60 * 60 * 1000;
const MAX_REFRESH_MARGIN_MS = 5 * 60 * 1000;

interface Token {
  jwt: string;
  expiresAt: number;
  issuedAt: number;
}

/**
 * JWT for the gateway: POST /auth (form username, password, token=true) or POST /auth/oidc (headers
 * clientId/clientSecret); the answer is the raw JWT as text, 200 or 201 (qualys-cs-api.md §1.2).
 * Refreshed before it expires (exp claim, else issued-at + 4 h) and when a call gets 401 "JWT expired".
 * Concurrent callers share one refresh.
 */
export class TokenSource {
  #credentials: QualysCredentials;
  #token: Token | undefined;
  #pending: Promise<Token> | undefined;
  authCalls = 0;

  constructor(
    private readonly http: AxiosInstance,
    credentials: QualysCredentials,
    private readonly now: () => number = Date.now,
  ) {
    this.#credentials = credentials;
  }

  async bearer(): Promise<string> {
    const t = this.#token;
    if (t && this.now() < t.expiresAt - refreshMargin(t)) return t.jwt;
    return (await this.refresh(t?.jwt)).jwt;
  }

  /** Drop `jwt` (the server said it expired) and get a new one, unless another caller already did. */
  async invalidate(jwt: string): Promise<void> {
    if (this.#token?.jwt === jwt) this.#token = undefined;
  }

  private refresh(stale: string | undefined): Promise<Token> {
    if (this.#token && this.#token.jwt !== stale) return Promise.resolve(this.#token);
    this.#pending ??= this.fetchToken().finally(() => (this.#pending = undefined));
    return this.#pending;
  }

  private async fetchToken(): Promise<Token> {
    const c = this.#credentials;
    const operation = c.kind === 'password' ? 'auth' : 'auth-oidc';
    // Counted as mutating: every non-GET call is, by the call-log rule. /auth is exempt from the rate
    // limit (DOCS-RATE [C] for VMDR Mobile; assumed for CS [I]), so it does not take a budget slot.
    recordApiCall({ service: 'qualys', operation, mutating: true });
    this.authCalls++;
    let res;
    try {
      res =
        c.kind === 'password'
          ? await this.http.post('/auth', new URLSearchParams({ username: c.username, password: c.password, token: 'true' }).toString(), {
              headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
            })
          : await this.http.post('/auth/oidc', '', { headers: { clientId: c.clientId, clientSecret: c.clientSecret } });
    } catch (err) {
      throw new QualysNetworkError(operation, (err as { code?: string }).code ?? 'ERROR');
    }
    if (res.status !== 200 && res.status !== 201) {
      throw new QualysAuthError(`Qualys ${operation} answered HTTP ${res.status}: check the API credentials in Secrets Manager and that the user has CS API access`);
    }
    const jwt = String(res.data ?? '').trim();
    if (jwt.split('.').length !== 3) throw new QualysAuthError(`Qualys ${operation} did not answer with a JWT`);
    const issuedAt = this.now();
    const token = { jwt, issuedAt, expiresAt: jwtExpiry(jwt) ?? issuedAt + TOKEN_LIFETIME_MS };
    this.#token = token;
    return token;
  }
}

/** Refresh a little before expiry: 5 min, or a tenth of the token's life when it is short. */
function refreshMargin(t: Token): number {
  return Math.min(MAX_REFRESH_MARGIN_MS, Math.max(0, (t.expiresAt - t.issuedAt) / 10));
}

/** `exp` claim in ms, when the payload decodes and carries one. */
export function jwtExpiry(jwt: string): number | undefined {
  try {
    const payload = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as { exp?: unknown };
    return typeof payload.exp === 'number' && Number.isFinite(payload.exp) ? payload.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** 401 whose message says the JWT expired (JENKINS QualysCSClient [C]). */
export function isJwtExpired(status: number, body: unknown): boolean {
  if (status !== 401) return false;
  const text = typeof body === 'string' ? body : JSON.stringify(body ?? '');
  return /jwt expired/i.test(text);
}
