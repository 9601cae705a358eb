import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';

/**
 * SigV4 signing and a small AWS Query-protocol client (IAM, STS) for the IAM-enforced sandbox. The
 * project's dependencies hold no IAM client, and IAM's Query API is a form POST, so this is all it takes.
 */
export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface RawRequest {
  method: string;
  /** Path with its query string, as sent. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** Headers a signer sets; dropped before signing again. */
const SIGNING_HEADERS = ['authorization', 'x-amz-date', 'x-amz-security-token', 'x-amz-content-sha256'];

/** The request signed again with other credentials, everything else as sent (method, path, query, headers, body). */
export async function resign(req: RawRequest, creds: Credentials, service: string, region: string): Promise<Record<string, string>> {
  const u = new URL(req.url, 'http://placeholder');
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of u.searchParams) {
    const prev = query[k];
    query[k] = prev === undefined ? v : [prev, v].flat();
  }
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined || SIGNING_HEADERS.includes(k.toLowerCase())) continue;
    headers[k.toLowerCase()] = Array.isArray(v) ? v.join(',') : v;
  }
  // S3 signs the payload's hash, sent in x-amz-content-sha256 (as the SDK's S3 client does)
  if (service === 's3') headers['x-amz-content-sha256'] = createHash('sha256').update(req.body).digest('hex');
  const host = headers.host ?? 'localhost';
  const [hostname, port] = host.split(':');
  const signer = new SignatureV4({ service, region, credentials: creds, sha256: Sha256, ...(service === 's3' ? { uriEscapePath: false } : {}) });
  const signed = await signer.sign(
    new HttpRequest({ method: req.method, protocol: 'http:', hostname: hostname!, ...(port ? { port: Number(port) } : {}), path: u.pathname, query, headers, body: req.body }),
  );
  return signed.headers;
}

export interface QueryAnswer {
  status: number;
  body: string;
}

/** POSTs an AWS Query action (form-encoded) signed with `creds`; the XML answer as text. */
export async function queryCall(o: {
  endpoint: string;
  service: 'iam' | 'sts';
  region: string;
  creds: Credentials;
  params: Record<string, string>;
  version: string;
  headers?: Record<string, string>;
}): Promise<QueryAnswer> {
  const body = Buffer.from(new URLSearchParams({ ...o.params, Version: o.version }).toString());
  const u = new URL(o.endpoint);
  const headers = await resign(
    { method: 'POST', url: '/', headers: { host: u.host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8', 'content-length': String(body.length), ...o.headers }, body },
    o.creds,
    o.service,
    o.region,
  );
  return send(u, 'POST', '/', headers, body);
}

/** The text of the first `<tag>` in an XML answer. */
export function xmlValue(xml: string, tag: string): string | undefined {
  return new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml)?.[1];
}

/** One signed REST call (e.g. S3 CreateBucket / GetObject by path), answered as status and text. */
export async function restCall(o: { endpoint: string; method: string; path: string; service: string; region: string; creds: Credentials; body?: string }): Promise<QueryAnswer> {
  const u = new URL(o.endpoint);
  const body = Buffer.from(o.body ?? '');
  const headers = await resign({ method: o.method, url: o.path, headers: { host: u.host, 'content-length': String(body.length) }, body }, o.creds, o.service, o.region);
  return send(u, o.method, o.path, headers, body);
}

/** Sends a signed request and answers with its status and text. */
function send(u: URL, method: string, path: string, headers: Record<string, string>, body: Buffer): Promise<QueryAnswer> {
  return new Promise((resolve, reject) => {
    const r = request({ host: u.hostname, port: u.port, method, path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    r.on('error', reject);
    r.end(body);
  });
}
