import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity } from '@smithy/types';
import { recordApiCall } from '../../runtime/call-log';
import { ExternalCallError } from '../../runtime/errors';
import { DEFAULT_RETRY, withRetry } from '../../runtime/retry';

/**
 * EC2 DescribeInstances for the private DNS names of ECS container instances (what a sensor reports
 * as its host name). One signed Query call by hand, because @aws-sdk/client-ec2 alone bundles to
 * 1.4 MB minified and every function must stay under 1 MB; the signer is the same one the EKS
 * token uses. Endpoint per the standard settings: AWS_ENDPOINT_URL_EC2, AWS_ENDPOINT_URL, or
 * https://ec2.<region>.amazonaws.com. API: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeInstances.html
 */
const API_VERSION = '2016-11-15';
const TIMEOUT_MS = 10_000;

export async function privateDnsNames(
  instanceIds: string[],
  region: string,
  credentials: () => Promise<AwsCredentialIdentity>,
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (let i = 0; i < instanceIds.length; i += 200) {
    Object.assign(out, await describeBatch(instanceIds.slice(i, i + 200), region, credentials));
  }
  return out;
}

async function describeBatch(ids: string[], region: string, credentials: () => Promise<AwsCredentialIdentity>): Promise<Record<string, string>> {
  if (ids.length === 0) return {};
  const endpoint = new URL(process.env.AWS_ENDPOINT_URL_EC2 ?? process.env.AWS_ENDPOINT_URL ?? `https://ec2.${region}.amazonaws.com`);
  const body = new URLSearchParams({ Action: 'DescribeInstances', Version: API_VERSION });
  ids.forEach((id, n) => body.set(`InstanceId.${n + 1}`, id));
  const text = await withRetry(
    async () => {
      recordApiCall({ service: 'EC2', operation: 'DescribeInstances', mutating: false });
      const signer = new SignatureV4({ credentials: await credentials(), region, service: 'ec2', sha256: Sha256 });
      const request = new HttpRequest({
        method: 'POST',
        protocol: endpoint.protocol,
        hostname: endpoint.hostname,
        ...(endpoint.port ? { port: Number(endpoint.port) } : {}),
        path: endpoint.pathname || '/',
        headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8', host: endpoint.host },
        body: body.toString(),
      });
      const signed = await signer.sign(request);
      const res = await fetch(endpoint, { method: 'POST', headers: signed.headers, body: body.toString(), signal: AbortSignal.timeout(TIMEOUT_MS) });
      const payload = await res.text();
      if (!res.ok) throw new ExternalCallError(`EC2 DescribeInstances: HTTP ${res.status} ${errorCode(payload)}`, res.status >= 500 || res.status === 429 || /Throttl/.test(payload), res.status);
      return payload;
    },
    (err) => ({ retry: !(err instanceof ExternalCallError) || err.retryable }),
    DEFAULT_RETRY,
  );
  return parseInstances(text);
}

/** Pure: instance id -> private DNS name from a DescribeInstancesResponse (XML). */
export function parseInstances(xml: string): Record<string, string> {
  const out: Record<string, string> = {};
  // Each reservation's instancesSet item starts with <instanceId>; its own <privateDnsName> comes
  // before the nested network interface sets, so the first one after the id is the instance's.
  const re = /<instanceId>([^<]+)<\/instanceId>[\s\S]*?<privateDnsName>([^<]*)<\/privateDnsName>/g;
  for (const m of xml.matchAll(re)) if (m[2]) out[m[1]!] = m[2];
  return out;
}

function errorCode(xml: string): string {
  return /<Code>([^<]+)<\/Code>/.exec(xml)?.[1] ?? '';
}
