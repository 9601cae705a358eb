import { createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyOptions } from 'jose';

/**
 * JWT checks shared by the Entra (Event Grid) and Google (Pub/Sub push) verifiers, with jose: the
 * signing keys from a JWKS URL (fetched once, kept 10 minutes, refetched at most every 30 s when a
 * token names a key id the set does not hold), RS256 only (`alg: none` and HMAC are refused), and
 * the time claims with the configured clock tolerance. The outcome is a reason of our own words:
 * never the token, never jose's message (which may quote claims).
 */
export type AuthOutcome =
  | { ok: true; claims: JWTPayload }
  /** 401: no or bad credentials; 403: a valid token that is not allowed; 503: the keys could not be fetched. */
  | { ok: false; status: 401 | 403 | 503; reason: string };

const keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

function keySet(url: string): ReturnType<typeof createRemoteJWKSet> {
  let set = keySets.get(url);
  if (!set) {
    set = createRemoteJWKSet(new URL(url), { timeoutDuration: 5_000, cooldownDuration: 30_000, cacheMaxAge: 600_000 });
    keySets.set(url, set);
  }
  return set;
}

/** Tests: forget fetched key sets (a new sandbox serves new keys). */
export function resetKeySets(): void {
  keySets.clear();
}

export async function verifyJwt(token: string, jwksUrl: string, options: JWTVerifyOptions & { issuer: string[]; audience: string[] }): Promise<AuthOutcome> {
  try {
    const { payload } = await jwtVerify(token, keySet(jwksUrl), { algorithms: ['RS256'], ...options });
    return { ok: true, claims: payload };
  } catch (err) {
    return { ok: false, ...describe(err, options) };
  }
}

function describe(err: unknown, options: { issuer: string[]; audience: string[] }): { status: 401 | 503; reason: string } {
  const code = (err as { code?: string }).code ?? '';
  const claim = (err as { claim?: string }).claim;
  const payload = (err as { payload?: JWTPayload }).payload;
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return { status: 401, reason: claim === 'iat' ? 'token too old (iat)' : 'token expired' };
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (claim === 'nbf') return { status: 401, reason: 'token not yet valid (nbf)' };
      if (claim === 'iat') return { status: 401, reason: 'token not yet valid (iat in the future)' };
      if (claim === 'iss') return { status: 401, reason: `issuer ${JSON.stringify(payload?.iss ?? null)} is not ${options.issuer.join(' or ')}` };
      if (claim === 'aud') return { status: 401, reason: `audience ${JSON.stringify(payload?.aud ?? null)} is not ${options.audience.join(' or ')}` };
      return { status: 401, reason: `claim ${claim ?? '?'} is missing or invalid` };
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return { status: 401, reason: 'signed by a key that is not in the issuer key set' };
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return { status: 401, reason: 'signature does not verify' };
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return { status: 401, reason: 'token algorithm is not RS256' };
    case 'ERR_JWKS_TIMEOUT':
      return { status: 503, reason: 'the signing keys could not be fetched in time' };
    case 'ERR_JWKS_INVALID':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return { status: 503, reason: 'the signing key set could not be used' };
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return { status: 401, reason: 'not a valid signed JWT' };
    default:
      // fetch failures (connection refused, TLS, HTTP errors of the JWKS endpoint) carry no jose code
      if (err instanceof TypeError || /fetch|ECONN|certificate|status code/i.test((err as Error)?.message ?? '')) return { status: 503, reason: 'the signing keys could not be fetched' };
      return { status: 401, reason: 'token could not be verified' };
  }
}
