/**
 * EKS bearer token in the aws-iam-authenticator format
 * (https://github.com/kubernetes-sigs/aws-iam-authenticator#api-authorization-from-outside-a-cluster,
 * pkg/token/token.go `GetWithSTS`): a presigned STS GetCallerIdentity URL for
 * https://sts.<region>.amazonaws.com/ that signs the header `x-k8s-aws-id: <cluster name>`, valid
 * X-Amz-Expires=60 s, encoded as `k8s-aws-v1.` + base64url without padding. The API server's
 * authenticator replays the URL to STS, so the token proves our identity without sending a secret.
 */
import { Hash } from '@smithy/core/serde';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity } from '@smithy/types';

/** SHA-256 from node:crypto, as the SDK's own clients sign (the pure-JS @aws-crypto hash cost ~10 ms per CLI run). */
const Sha256Native = Hash.bind(null, 'sha256');

export const EKS_TOKEN_PREFIX = 'k8s-aws-v1.';
export const EKS_TOKEN_EXPIRES_SECONDS = 60;
export const CLUSTER_ID_HEADER = 'x-k8s-aws-id';

export async function eksBearerToken(o: { clusterName: string; region: string; credentials: AwsCredentialIdentity; now?: Date }): Promise<string> {
  const hostname = `sts.${o.region}.amazonaws.com`;
  const signer = new SignatureV4({ service: 'sts', region: o.region, credentials: o.credentials, sha256: Sha256Native });
  const request = new HttpRequest({
    method: 'GET',
    protocol: 'https:',
    hostname,
    path: '/',
    query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
    headers: { host: hostname, [CLUSTER_ID_HEADER]: o.clusterName },
  });
  const signed = await signer.presign(request, { expiresIn: EKS_TOKEN_EXPIRES_SECONDS, ...(o.now ? { signingDate: o.now } : {}) });
  const query = Object.entries(signed.query ?? {})
    .flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, x] as const) : v === null || v === undefined ? [] : [[k, v] as const]))
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
  const url = `https://${hostname}/?${query}`;
  return EKS_TOKEN_PREFIX + Buffer.from(url, 'utf8').toString('base64url');
}
