import { createHash, randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';

/**
 * STS GetWebIdentityToken (IAM outbound identity federation), which moto lacks (toolchain.md §7).
 * As AWS documents it (https://docs.aws.amazon.com/STS/latest/APIReference/API_GetWebIdentityToken.html,
 * IAM/latest/UserGuide/id_roles_providers_outbound_token_claims.html): a JWT signed with the account's
 * key (RS256 or ES384), `iss` the account's issuer URL `https://<id>.tokens.sts.global.api.aws`,
 * `sub` the caller's ARN (a role for assumed-role sessions), `aud` the requested audience(s), a
 * lifetime of 60-3600 s (default 300), and AWS claims under `https://sts.amazonaws.com/`. Only
 * regional endpoints serve it. Verifiers in the sandbox (Entra, Google STS) check tokens against
 * `jwks()` themselves, as real ones fetch `<issuer>/.well-known/jwks.json`.
 */
export interface WebIdentityCaller {
  account: string;
  /** moto's GetCallerIdentity ARN: user/… or assumed-role/<role>/<session>. */
  arn: string;
  accessKeyId: string;
}

interface SigningKey {
  kid: string;
  alg: 'RS256' | 'ES384';
  privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
  publicJwk: JWK;
}

export class SandboxWebIdentityIssuer {
  /** Tokens handed out, for tests (claims only, never the token). */
  readonly issued: { sub: string; aud: string[]; account: string; exp: number }[] = [];
  private readonly disabled = new Set<string>();
  private keys: Promise<SigningKey[]> | undefined;

  /** The issuer URL EnableOutboundWebIdentityFederation would have given this account (stable per account). */
  issuerFor(account: string): string {
    const h = createHash('sha256').update(`sensorfleet-sandbox|${account}`).digest('hex');
    return `https://${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}.tokens.sts.global.api.aws`;
  }

  /** As if EnableOutboundWebIdentityFederation had never been called for the account. */
  disableFor(account: string): void {
    this.disabled.add(account);
  }

  /** EnableOutboundWebIdentityFederation again (undoes disableFor). */
  enableFor(account: string): void {
    this.disabled.delete(account);
  }

  async jwks(): Promise<{ keys: JWK[] }> {
    return { keys: (await this.signingKeys()).map((k) => k.publicJwk) };
  }

  /** Answers the Query-protocol request (form body already parsed) the way STS does. */
  async answer(form: URLSearchParams, caller: WebIdentityCaller, region: string): Promise<{ status: number; body: string }> {
    const audiences = [...form.entries()].filter(([k]) => /^Audience\.member\.\d+$/.test(k)).map(([, v]) => v);
    const alg = form.get('SigningAlgorithm') ?? '';
    const duration = form.has('DurationSeconds') ? Number(form.get('DurationSeconds')) : 300;
    if (audiences.length === 0) return stsError(400, 'ValidationError', "1 validation error detected: Value null at 'audience' failed to satisfy constraint: Member must not be null");
    if (alg !== 'RS256' && alg !== 'ES384') return stsError(400, 'ValidationError', `1 validation error detected: Value '${alg}' at 'signingAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [RS256, ES384]`);
    if (!Number.isInteger(duration) || duration < 60 || duration > 3600) return stsError(400, 'ValidationError', `1 validation error detected: Value '${form.get('DurationSeconds')}' at 'durationSeconds' failed to satisfy constraint: Member must have value between 60 and 3600`);
    if (this.disabled.has(caller.account)) {
      return stsError(403, 'OutboundWebIdentityFederationDisabledException', 'The outbound web identity federation feature is not enabled for this account.');
    }
    const key = (await this.signingKeys()).find((k) => k.alg === alg)!;
    const now = Math.floor(Date.now() / 1000);
    const sub = principalArn(caller.arn);
    const token = await new SignJWT({
      'https://sts.amazonaws.com/': { aws_account: caller.account, source_region: region, principal_id: sub },
    })
      .setProtectedHeader({ alg, kid: key.kid, typ: 'JWT' })
      .setIssuer(this.issuerFor(caller.account))
      .setSubject(sub)
      .setAudience(audiences.length === 1 ? audiences[0]! : audiences)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + duration)
      .setJti(randomUUID())
      .sign(key.privateKey);
    this.issued.push({ sub, aud: audiences, account: caller.account, exp: now + duration });
    const expiration = new Date((now + duration) * 1000).toISOString();
    return {
      status: 200,
      body:
        `<GetWebIdentityTokenResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetWebIdentityTokenResult>` +
        `<WebIdentityToken>${token}</WebIdentityToken><Expiration>${expiration}</Expiration>` +
        `</GetWebIdentityTokenResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></GetWebIdentityTokenResponse>`,
    };
  }

  private signingKeys(): Promise<SigningKey[]> {
    this.keys ??= Promise.all(
      (['RS256', 'ES384'] as const).map(async (alg) => {
        const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
        const kid = randomUUID();
        return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
      }),
    );
    return this.keys;
  }
}

/** arn:aws:sts::<acct>:assumed-role/<role>/<session> → arn:aws:iam::<acct>:role/<role>; other ARNs as they are. */
export function principalArn(callerArn: string): string {
  const m = /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([^/]+)\/.+$/.exec(callerArn);
  return m ? `arn:${m[1]}:iam::${m[2]}:role/${m[3]}` : callerArn;
}

function stsError(status: number, code: string, message: string): { status: number; body: string } {
  return {
    status,
    body: `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
  };
}
