import { request } from 'node:http';

/**
 * Which AWS account a request acts in, resolved the way moto does it (moto/core/responses.py
 * `get_current_account`): an `x-moto-account-id` header wins; otherwise the access key is looked up
 * among the IAM/STS keys moto issued (STS AssumeRole into arn:aws:iam::<acct>:role/<name> issues a key
 * that belongs to <acct>, moto/sts/models.py `assume_role`); unknown keys (e.g. `test`) are the default
 * account 123456789012. We ask moto's own STS GetCallerIdentity with the same key once and cache it.
 */
export interface CallerIdentity {
  account: string;
  arn: string;
}

export class CallerIdentityError extends Error {
  override name = 'CallerIdentityError';
}

/**
 * moto routes a request to STS only by the SigV4 credential scope of its Authorization header and
 * reads the access key only from there, and it never checks signatures; so a request carrying the
 * key in its Authorization header is enough to get moto's answer for that key.
 */
export async function motoCallerIdentity(motoUrl: string, accessKeyId: string, region = 'us-east-1'): Promise<CallerIdentity> {
  const date = new Date().toISOString().slice(0, 10).replace(/-/g, '');
  const body = 'Action=GetCallerIdentity&Version=2011-06-15';
  const u = new URL(motoUrl);
  const text = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        method: 'POST',
        path: '/',
        headers: {
          'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
          'content-length': Buffer.byteLength(body),
          authorization: `AWS4-HMAC-SHA256 Credential=${accessKeyId}/${date}/${region}/sts/aws4_request, SignedHeaders=content-type;host, Signature=${'0'.repeat(64)}`,
        },
      },
      (res) => {
        let b = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (b += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
  const account = /<Account>([^<]+)<\/Account>/.exec(text.body)?.[1];
  const arn = /<Arn>([^<]+)<\/Arn>/.exec(text.body)?.[1];
  if (text.status !== 200 || !account || !arn) throw new CallerIdentityError(`moto GetCallerIdentity answered ${text.status}`);
  return { account, arn };
}

export class AccountResolver {
  private readonly byKey = new Map<string, Promise<CallerIdentity>>();

  constructor(private readonly motoUrl: string) {}

  identity(accessKeyId: string, region?: string): Promise<CallerIdentity> {
    let p = this.byKey.get(accessKeyId);
    if (!p) {
      p = motoCallerIdentity(this.motoUrl, accessKeyId, region);
      p.catch(() => this.byKey.delete(accessKeyId));
      this.byKey.set(accessKeyId, p);
    }
    return p;
  }

  async account(accessKeyId: string | undefined, region: string | undefined, motoAccountHeader?: string): Promise<string> {
    if (motoAccountHeader) return motoAccountHeader;
    if (!accessKeyId) return DEFAULT_ACCOUNT;
    return (await this.identity(accessKeyId, region)).account;
  }
}

export const DEFAULT_ACCOUNT = '123456789012';

export interface KnownCredentials {
  secretAccessKey: string;
  sessionToken?: string;
}

/**
 * Secret keys of the credentials the sandbox knows: the default `test`/`test` and every set STS
 * handed out through the front (AssumeRole answers are read on the way back). Real STS verifies a
 * presigned GetCallerIdentity signature with the key's secret; moto does not verify signatures, so the
 * EKS token check uses this ledger to do it (an unknown key is refused like STS's InvalidClientTokenId).
 */
export class CredentialLedger {
  private readonly keys = new Map<string, KnownCredentials>([['test', { secretAccessKey: 'test' }]]);

  add(accessKeyId: string, creds: KnownCredentials): void {
    this.keys.set(accessKeyId, creds);
  }

  get(accessKeyId: string): KnownCredentials | undefined {
    return this.keys.get(accessKeyId);
  }

  /** Reads an STS AssumeRole / AssumeRoleWithWebIdentity XML answer and records its credentials. */
  recordStsAnswer(xml: string): void {
    const ak = /<AccessKeyId>([^<]+)<\/AccessKeyId>/.exec(xml)?.[1];
    const sk = /<SecretAccessKey>([^<]+)<\/SecretAccessKey>/.exec(xml)?.[1];
    const st = /<SessionToken>([^<]+)<\/SessionToken>/.exec(xml)?.[1];
    if (ak && sk) this.add(ak, { secretAccessKey: sk, ...(st ? { sessionToken: st } : {}) });
  }
}
