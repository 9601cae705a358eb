import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { motoCallerIdentity, type CredentialLedger } from './accounts';

/**
 * The EKS API server's webhook token check, done the way aws-iam-authenticator's server does it
 * (https://github.com/kubernetes-sigs/aws-iam-authenticator/blob/master/pkg/token/token.go, `Verify`):
 * the bearer token is `k8s-aws-v1.` + base64url(presigned STS GetCallerIdentity URL); the URL must be
 * https, host sts.amazonaws.com or sts.<region>.amazonaws.com, path `/`, only the known query
 * parameters, Action=GetCallerIdentity, `x-k8s-aws-id` among the signed headers, and not expired
 * (X-Amz-Date + X-Amz-Expires, at most 15 minutes). The authenticator then sends the presigned request
 * to STS with header `x-k8s-aws-id: <cluster name>`; STS verifies the signature (so a token made for
 * another cluster fails) and answers the caller's ARN.
 *
 * Our STS is moto, which verifies no signature: we verify it here with the secret from the credential
 * ledger, then ask moto's STS for the identity of the key. moto routes STS only by an Authorization
 * header's credential scope, so the presigned query's credential is sent that way.
 * Who may then get in is EKS's access entries (not in moto): `authorize` asks the front's access book
 * (eks-access.ts); without it any identity of the cluster's own account is admitted. A verified
 * identity that is refused gets the same 401 as an unverified one, as EKS answers a principal it cannot map.
 */
export const TOKEN_PREFIX = 'k8s-aws-v1.';
const MAX_TOKEN_BYTES = 4096;
const MAX_EXPIRES_SECONDS = 900;
const ALLOWED_PARAMS = new Set([
  'action',
  'version',
  'x-amz-algorithm',
  'x-amz-credential',
  'x-amz-date',
  'x-amz-expires',
  'x-amz-security-token',
  'x-amz-signature',
  'x-amz-signedheaders',
]);

export interface EksTokenCheck {
  clusterName: string;
  accountId: string;
  motoUrl: string;
  ledger: CredentialLedger;
  /** The access decision for a verified caller ARN (the cluster's access entries and creator). */
  authorize?: (callerArn: string) => boolean;
  now?: () => number;
}

export type EksTokenVerdict = { ok: true; arn: string } | { ok: false; reason: string };

export function eksTokenAuthenticator(check: EksTokenCheck): (token: string) => Promise<string | null> {
  return async (token) => {
    const verdict = await verifyEksToken(token, check);
    return verdict.ok ? verdict.arn : null;
  };
}

export async function verifyEksToken(token: string, check: EksTokenCheck): Promise<EksTokenVerdict> {
  const refuse = (reason: string): EksTokenVerdict => ({ ok: false, reason });
  if (token.length > MAX_TOKEN_BYTES) return refuse('token is too large');
  if (!token.startsWith(TOKEN_PREFIX)) return refuse(`token is missing expected "${TOKEN_PREFIX}" prefix`);
  let url: URL;
  try {
    url = new URL(Buffer.from(token.slice(TOKEN_PREFIX.length), 'base64url').toString('utf8'));
  } catch {
    return refuse('token is not a base64url-encoded URL');
  }
  if (url.protocol !== 'https:') return refuse(`unexpected scheme ${url.protocol}`);
  if (!/^sts(\.[a-z]{2}(-gov)?-[a-z]+-\d)?\.amazonaws\.com$/.test(url.host)) return refuse(`unexpected hostname "${url.host}" in pre-signed URL`);
  if (url.pathname !== '/') return refuse('unexpected path in pre-signed URL');
  const params = new Map<string, string>();
  for (const [k, v] of url.searchParams) {
    const key = k.toLowerCase();
    if (!ALLOWED_PARAMS.has(key)) return refuse(`non-allowlisted query parameter "${k}"`);
    if (params.has(key)) return refuse(`query parameter "${k}" given more than once`);
    params.set(key, v);
  }
  if (params.get('action') !== 'GetCallerIdentity') return refuse('unexpected action parameter in pre-signed URL');
  const signedHeaders = (params.get('x-amz-signedheaders') ?? '').split(';');
  if (!signedHeaders.includes('x-k8s-aws-id')) return refuse('client did not sign the x-k8s-aws-id header in the pre-signed URL');
  const date = parseAmzDate(params.get('x-amz-date') ?? '');
  if (!date) return refuse('X-Amz-Date parameter is missing or malformed');
  const expires = Number(params.get('x-amz-expires'));
  if (!Number.isInteger(expires) || expires <= 0) return refuse('X-Amz-Expires parameter is missing or malformed');
  if (expires > MAX_EXPIRES_SECONDS) return refuse(`X-Amz-Expires parameter is more than ${MAX_EXPIRES_SECONDS} seconds`);
  const now = check.now?.() ?? Date.now();
  if (now > date.getTime() + expires * 1000) return refuse('X-Amz-Date parameter is expired');
  const credential = (params.get('x-amz-credential') ?? '').split('/');
  const [accessKeyId, , region, service] = credential;
  if (!accessKeyId || !region || service !== 'sts') return refuse('X-Amz-Credential parameter is malformed');

  // STS's part: the signature must match the request as sent with x-k8s-aws-id = this cluster
  const secret = check.ledger.get(accessKeyId);
  if (!secret) return refuse('sts: InvalidClientTokenId (the security token included in the request is invalid)');
  const expected = await presignedSignature(url, region, { accessKeyId, ...secret }, check.clusterName, date, expires);
  if (expected !== params.get('x-amz-signature')) return refuse('sts: SignatureDoesNotMatch (token was not signed for this cluster)');

  const identity = await motoCallerIdentity(check.motoUrl, accessKeyId, region);
  if (!check.authorize && identity.account !== check.accountId) return refuse(`identity ${identity.arn} is not in the cluster's account ${check.accountId}`);
  if (check.authorize && !check.authorize(identity.arn)) return refuse(`identity ${identity.arn} has no access entry with an access policy on this cluster`);
  return { ok: true, arn: identity.arn };
}

async function presignedSignature(
  url: URL,
  region: string,
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string },
  clusterName: string,
  signingDate: Date,
  expiresIn: number,
): Promise<string | null> {
  const signer = new SignatureV4({ service: 'sts', region, credentials, sha256: Sha256 });
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) if (!k.toLowerCase().startsWith('x-amz-')) query[k] = v;
  const request = new HttpRequest({ method: 'GET', protocol: 'https:', hostname: url.host, path: '/', query, headers: { host: url.host, 'x-k8s-aws-id': clusterName } });
  const signed = await signer.presign(request, { signingDate, expiresIn });
  const sig = signed.query?.['X-Amz-Signature'];
  return typeof sig === 'string' ? sig : null;
}

function parseAmzDate(s: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return undefined;
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
}
