import type { IncomingMessage, ServerResponse } from 'node:http';
import { createLocalJWKSet, errors as joseErrors, jwtVerify, type JWK } from 'jose';
import { OAuthError, sendJson } from './google-errors';
import { readBody, type GoogleFaults, type RecordedGoogleRequest } from './https';
import { principalFor, type GoogleIdentity } from './identity';

/**
 * Google Security Token Service, `POST /v1/token` (https://cloud.google.com/iam/docs/reference/sts/rest/v1/TopLevel/token):
 * RFC 8693 token exchange of an OIDC JWT through a workload identity pool provider. The request is
 * form-encoded (grant_type, audience, scope, requested_token_type, subject_token, subject_token_type);
 * `audience` is the provider's full resource name `//iam.googleapis.com/projects/<n>/locations/global/
 * workloadIdentityPools/<pool>/providers/<provider>`. The JWT is checked as GCP documents for OIDC
 * providers (https://cloud.google.com/iam/docs/workload-identity-federation-with-other-providers):
 * signature against the issuer's JWKS, `iss` = the provider's issuer, `aud` one of the allowed audiences
 * (default: the provider's resource name with or without `https:`), not expired. The answer is a
 * federated access token for principal://…/subject/<sub> (attribute mapping google.subject=assertion.sub).
 * Errors are OAuth error bodies ({error, error_description}).
 */
const GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
const SUBJECT_TYPES = new Set(['urn:ietf:params:oauth:token-type:jwt', 'urn:ietf:params:oauth:token-type:id_token']);
const AUDIENCE = /^\/\/iam\.googleapis\.com\/(projects\/\d+\/locations\/global\/workloadIdentityPools\/[^/]+\/providers\/[^/]+)$/;
const FEDERATED_LIFETIME_SECONDS = 3600;

export interface StsDeps {
  identity: GoogleIdentity;
  /** JWKS of the issuers the providers trust (the sandbox AWS issuer's public keys). */
  jwks: () => Promise<{ keys: JWK[] }>;
  faults: GoogleFaults;
  requests: RecordedGoogleRequest[];
}

export function stsHandler(d: StsDeps) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const entry: RecordedGoogleRequest = { method: req.method ?? 'GET', path: new URL(req.url ?? '/', 'https://sts').pathname, status: 0 };
    d.requests.push(entry);
    if (d.faults.latencyMs) await new Promise((r) => setTimeout(r, d.faults.latencyMs));
    const fail = d.faults.failNext;
    if (fail && fail.count > 0) {
      fail.count--;
      entry.status = fail.status;
      return sendJson(res, fail.status, { error: fail.status === 429 ? 'rate_limit_exceeded' : 'temporarily_unavailable', error_description: 'sandbox fault' }, fail.retryAfterSeconds ? { 'retry-after': String(fail.retryAfterSeconds) } : {});
    }
    try {
      if (req.method !== 'POST' || entry.path !== '/v1/token') throw new OAuthError('invalid_request', `sandbox STS serves POST /v1/token, not ${req.method} ${entry.path}`, 404);
      const form = await parseForm(req);
      const answer = await exchange(form, d);
      entry.status = 200;
      entry.principal = answer.principal;
      sendJson(res, 200, answer.body);
    } catch (e) {
      const err = e instanceof OAuthError ? e : new OAuthError('invalid_request', (e as Error).message);
      entry.status = err.http;
      sendJson(res, err.http, { error: err.error, error_description: err.description });
    }
  };
}

async function parseForm(req: IncomingMessage): Promise<URLSearchParams> {
  const body = await readBody(req);
  const type = String(req.headers['content-type'] ?? '');
  if (type.includes('application/json')) return new URLSearchParams(Object.entries(JSON.parse(body) as Record<string, string>).map(([k, v]): [string, string] => [snake(k), String(v)]));
  return new URLSearchParams(body);
}

async function exchange(form: URLSearchParams, d: StsDeps): Promise<{ principal: string; body: unknown }> {
  if (form.get('grant_type') !== GRANT) throw new OAuthError('unsupported_grant_type', `Invalid value for "grant_type". Must be ${GRANT}.`);
  if (form.get('requested_token_type') !== ACCESS_TOKEN) throw new OAuthError('invalid_request', `Invalid value for "requested_token_type". Must be ${ACCESS_TOKEN}.`);
  const subjectType = form.get('subject_token_type') ?? '';
  if (!SUBJECT_TYPES.has(subjectType)) throw new OAuthError('invalid_request', 'Invalid value for "subject_token_type". This value must be one of the supported token types for OIDC providers.');
  const m = AUDIENCE.exec(form.get('audience') ?? '');
  if (!m) {
    throw new OAuthError('invalid_request', 'Invalid value for "audience". This value should be the full resource name of the Identity Provider. See https://cloud.google.com/iam/docs/reference/sts/rest/v1/TopLevel/token for the list of possible formats.');
  }
  const provider = d.identity.provider(m[1]!);
  if (!provider || provider.disabled) {
    throw new OAuthError('invalid_target', 'The target service indicated by the "audience" parameters is invalid. This might either be because the pool or provider is disabled or deleted or because it doesn\'t exist.');
  }
  const scopes = (form.get('scope') ?? '').split(/\s+/).filter(Boolean);
  if (scopes.length === 0) throw new OAuthError('invalid_scope', 'Invalid value for "scope". At least one scope is required.');
  const subjectToken = form.get('subject_token') ?? '';
  if (!subjectToken) throw new OAuthError('invalid_request', 'Invalid value for "subject_token". The subject token must not be empty.');

  const resource = `//iam.googleapis.com/${provider.name}`;
  const audiences = provider.allowedAudiences.length > 0 ? provider.allowedAudiences : [resource, `https://iam.googleapis.com/${provider.name}`];
  let sub: string;
  try {
    const { payload } = await jwtVerify(subjectToken, createLocalJWKSet(await d.jwks()), {
      issuer: provider.issuer,
      audience: audiences,
      currentDate: new Date(d.identity.now()),
      clockTolerance: 0,
    });
    if (typeof payload.sub !== 'string' || !payload.sub) throw new OAuthError('invalid_grant', 'The ID Token has no "sub" claim; the attribute mapping google.subject=assertion.sub yields nothing.');
    sub = payload.sub;
  } catch (err) {
    if (err instanceof OAuthError) throw err;
    throw new OAuthError('invalid_grant', jwtRefusal(err, subjectToken, provider.issuer, audiences));
  }
  const principal = principalFor(provider.name, sub);
  const { token, expiresAt } = d.identity.issue({ principal, scopes, kind: 'federated' }, FEDERATED_LIFETIME_SECONDS);
  return { principal, body: { access_token: token, issued_token_type: ACCESS_TOKEN, token_type: 'Bearer', expires_in: Math.floor((expiresAt - d.identity.now()) / 1000) } };
}

/** Google's wording for the common refusals; never echoes the token itself. */
function jwtRefusal(err: unknown, token: string, issuer: string, audiences: string[]): string {
  const claims = peekClaims(token);
  if (err instanceof joseErrors.JWTExpired) return `ID Token issued at ${claims.iat ?? '?'} is stale to sign-in.`;
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'iss') return `The issuer in ID Token ${String(claims.iss)} does not match the expected ones: ${issuer}.`;
    if (err.claim === 'aud') return `The audience in ID Token [${[claims.aud].flat().join(', ')}] does not match the expected audience ${audiences[0]}.`;
    if (err.claim === 'nbf') return 'The ID Token is not yet valid.';
    return `The ID Token claim ${err.claim} is invalid: ${err.reason}.`;
  }
  if (err instanceof joseErrors.JWSSignatureVerificationFailed || err instanceof joseErrors.JWKSNoMatchingKey) return 'Invalid ID Token signature: no key of the issuer\'s JWKS verifies it.';
  return 'Unable to parse the ID Token.';
}

function peekClaims(token: string): { iss?: unknown; aud?: unknown; iat?: unknown } {
  try {
    return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { iss?: unknown; aud?: unknown; iat?: unknown };
  } catch {
    return {};
  }
}

function snake(k: string): string {
  return k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
