import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Context } from 'aws-lambda';
import { lambdaContext } from './lambda-runner';

/**
 * Plays a Lambda Function URL in front of a handler (no Lambda runtime can run here): each HTTP request
 * on 127.0.0.1 becomes the payload-2.0 event Lambda sends
 * (https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html — header names lower-cased,
 * repeated headers joined with commas, cookies apart, rawQueryString as sent, a body that is not text
 * base64-encoded) and the handler's {statusCode, headers, body} becomes the answer. Function URLs cap
 * request payloads at 6 MB (413 before the function runs).
 */
export type UrlHandler = (event: unknown, context: Context) => Promise<{ statusCode: number; headers?: Record<string, string>; body?: string }>;

export interface FunctionUrl {
  url: string;
  invocations: number;
  stop(): Promise<void>;
}

const TEXT = /^(text\/|application\/(json|javascript|xml|x-www-form-urlencoded)\b)/i;
const MAX_PAYLOAD = 6 * 1024 * 1024;

export async function startFunctionUrl(handler: UrlHandler, functionName = 'on-webhook'): Promise<FunctionUrl> {
  const state = { invocations: 0 };
  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await read(req);
      if (body === undefined) {
        res.writeHead(413, { 'content-type': 'application/json' });
        return res.end('{"Message":"Request must be smaller than 6291456 bytes for the InvokeFunction operation"}');
      }
      state.invocations++;
      const out = await handler(toEvent(req, body), lambdaContext(functionName));
      res.writeHead(out.statusCode, out.headers ?? {});
      res.end(out.body ?? '');
    })().catch((err: Error) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ Message: `function error: ${err.message}` }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get invocations() {
      return state.invocations;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function read(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_PAYLOAD) return undefined;
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

function toEvent(req: IncomingMessage, body: Buffer): Record<string, unknown> {
  const u = new URL(req.url ?? '/', 'http://127.0.0.1');
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && k !== 'cookie') headers[k] = Array.isArray(v) ? v.join(',') : v;
  const query: Record<string, string> = {};
  for (const [k, v] of u.searchParams) query[k] = query[k] !== undefined ? `${query[k]},${v}` : v;
  const text = TEXT.test(headers['content-type'] ?? '');
  const now = new Date();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: u.pathname,
    rawQueryString: u.search.replace(/^\?/, ''),
    ...(req.headers.cookie ? { cookies: String(req.headers.cookie).split(/;\s*/) } : {}),
    headers,
    ...(Object.keys(query).length ? { queryStringParameters: query } : {}),
    requestContext: {
      accountId: 'anonymous',
      apiId: 'sandboxurlid',
      domainName: 'sandboxurlid.lambda-url.us-east-1.on.aws',
      domainPrefix: 'sandboxurlid',
      http: { method: req.method ?? 'GET', path: u.pathname, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: headers['user-agent'] ?? '' },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    ...(body.length ? { body: text ? body.toString('utf8') : body.toString('base64') } : {}),
    isBase64Encoded: body.length > 0 && !text,
  };
}
