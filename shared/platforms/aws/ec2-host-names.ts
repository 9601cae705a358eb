import { Hash } from '@smithy/core/serde';
import { parseXML } from '@aws-sdk/xml-builder';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity } from '@smithy/types';
import { recordApiCall } from '../../runtime/call-log';
import { errorMessage, ExternalCallError } from '../../runtime/errors';
import { DEFAULT_RETRY, withRetry } from '../../runtime/retry';

/** SHA-256 from node:crypto, as the SDK's own clients sign (the pure-JS @aws-crypto hash cost ~10 ms per CLI run). */
const Sha256Native = Hash.bind(null, 'sha256');

/**
 * EC2 DescribeInstances for the private DNS names of ECS container instances (what a sensor reports
 * as its host name). One signed Query call by hand, because @aws-sdk/client-ec2 alone bundles to
 * 1.4 MB minified and every function must stay under 1 MB; the signer is the same one the EKS
 * token uses, the XML parser the one the AWS SDK itself uses. Endpoint per the standard settings:
 * AWS_ENDPOINT_URL_EC2, AWS_ENDPOINT_URL, or https://ec2.<region>.amazonaws.com.
 * API: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeInstances.html
 *
 * The ids go in an `instance-id` filter, not as InstanceId.N: with InstanceId.N one id that no longer
 * exists fails the whole call (InvalidInstanceID.NotFound), with the filter it is simply absent.
 * Host names are a convenience for matching sensors: when the lookup fails the instances keep their
 * ids as names, a warning says why, and the reconcile goes on.
 */
const API_VERSION = '2016-11-15';
const TIMEOUT_MS = 10_000;
/** Filter values per call (DescribeInstances allows up to 200 values per filter). */
const BATCH = 200;

export async function privateDnsNames(
  instanceIds: string[],
  region: string,
  credentials: () => Promise<AwsCredentialIdentity>,
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (let i = 0; i < instanceIds.length; i += BATCH) {
    const ids = instanceIds.slice(i, i + BATCH);
    try {
      Object.assign(out, await describeBatch(ids, region, credentials));
    } catch (err) {
      process.emitWarning(
        `EC2 DescribeInstances in ${region} failed for ${ids.length} instance(s) (${errorMessage(err)}); their sensors are matched by instance id only until the next reconcile`,
        { type: 'SensorfleetWarning', code: 'SENSORFLEET_EC2_HOST_NAMES' },
      );
    }
  }
  return out;
}

async function describeBatch(ids: string[], region: string, credentials: () => Promise<AwsCredentialIdentity>): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  let nextToken: string | undefined;
  do {
    const page = parseInstances(await describePage(ids, nextToken, region, credentials));
    Object.assign(out, page.names);
    nextToken = page.nextToken;
  } while (nextToken);
  return out;
}

async function describePage(ids: string[], nextToken: string | undefined, region: string, credentials: () => Promise<AwsCredentialIdentity>): Promise<string> {
  const endpoint = new URL(process.env.AWS_ENDPOINT_URL_EC2 ?? process.env.AWS_ENDPOINT_URL ?? `https://ec2.${region}.amazonaws.com`);
  const body = new URLSearchParams({ Action: 'DescribeInstances', Version: API_VERSION, 'Filter.1.Name': 'instance-id', MaxResults: '1000' });
  ids.forEach((id, n) => body.set(`Filter.1.Value.${n + 1}`, id));
  if (nextToken) body.set('NextToken', nextToken);
  return withRetry(
    async () => {
      recordApiCall({ service: 'EC2', operation: 'DescribeInstances', mutating: false });
      const signer = new SignatureV4({ credentials: await credentials(), region, service: 'ec2', sha256: Sha256Native });
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
      if (!res.ok) {
        const e = errorOf(payload);
        throw new ExternalCallError(`EC2 DescribeInstances: HTTP ${res.status}${e.code ? ` ${e.code}` : ''}${e.message ? `: ${e.message}` : ''}`, res.status >= 500 || res.status === 429 || /Throttl/.test(e.code), res.status);
      }
      return payload;
    },
    (err) => ({ retry: !(err instanceof ExternalCallError) || err.retryable }),
    DEFAULT_RETRY,
  );
}

/**
 * Pure: instance id -> private DNS name from one DescribeInstancesResponse, read per instance
 * (reservationSet/item/instancesSet/item), so an instance with an empty <privateDnsName/> (stopped,
 * pending, or in a VPC without DNS host names) gets no name rather than its neighbour's.
 */
export function parseInstances(xml: string): { names: Record<string, string>; nextToken?: string } {
  const root = parseXML(xml) as { DescribeInstancesResponse?: Record<string, unknown> };
  const response = root.DescribeInstancesResponse;
  if (!response || typeof response !== 'object') throw new Error(`EC2 DescribeInstances: unexpected response (root element ${Object.keys(root)[0] ?? 'none'})`);
  const names: Record<string, string> = {};
  for (const reservation of items(response.reservationSet)) {
    for (const instance of items((reservation as Record<string, unknown>).instancesSet)) {
      const { instanceId, privateDnsName } = instance as { instanceId?: unknown; privateDnsName?: unknown };
      if (typeof instanceId === 'string' && typeof privateDnsName === 'string' && privateDnsName.trim()) names[instanceId] = privateDnsName.trim();
    }
  }
  const token = typeof response.nextToken === 'string' && response.nextToken ? response.nextToken : undefined;
  return { names, ...(token ? { nextToken: token } : {}) };
}

/** The <item> children of an EC2 list element: none ("" for an empty <x/>), one (an object) or several (an array). */
function items(list: unknown): unknown[] {
  if (!list || typeof list !== 'object') return [];
  const item = (list as { item?: unknown }).item;
  if (item === undefined || item === '') return [];
  return Array.isArray(item) ? item : [item];
}

/** <Response><Errors><Error><Code>…</Code><Message>…</Message></Error></Errors></Response> */
function errorOf(xml: string): { code: string; message: string } {
  try {
    const error = (parseXML(xml) as any)?.Response?.Errors?.Error;
    const first = Array.isArray(error) ? error[0] : error;
    return { code: String(first?.Code ?? ''), message: String(first?.Message ?? '') };
  } catch {
    return { code: '', message: '' };
  }
}
