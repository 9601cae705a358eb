/**
 * In-process transport for the fan-out simulation: the product's real SDK clients serialize, sign,
 * retry and parse as always, but the bytes go to the stand-ins in this process instead of a socket.
 *  - AWS SDK v3: NodeHttpHandler.prototype.handle (every client the product builds uses it)
 *  - global fetch for hosts under .sim.invalid (the EC2 Query call of the ECS adapter): `web`
 *  - everything on node:https (the Kubernetes client; @azure/core-rest-pipeline for ARM and Entra;
 *    node-fetch under gaxios for GKE, Google STS and IAM Credentials): https.request for hosts under
 *    .sim.invalid (*.kube.sim.invalid: the Kubernetes stand-in; the rest: `web`)
 * Anything else is refused: the simulation never sends traffic anywhere.
 * Each answer arrives after its modelled latency on the virtual clock.
 */
import https from 'node:https';
import { syncBuiltinESMExports } from 'node:module';
import { STATUS_CODES } from 'node:http';
import { PassThrough, Readable, Writable } from 'node:stream';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { HttpResponse, type HttpRequest } from '@smithy/protocol-http';
import type { SimReply } from './aws-json';
import type { VirtualClock } from './clock';

export interface AwsRoute {
  /** The AWS account the caller's credentials belong to (from the access key id the stand-in STS issued). */
  account: string;
  region: string;
  service: string;
  request: HttpRequest;
  body: string;
}

export interface TransportTargets {
  aws(route: AwsRoute): Promise<{ reply: SimReply; latencyMs: number }>;
  kube(host: string, method: string, url: URL, body: string | undefined, contentType: string | undefined, authorization: string | undefined): { reply: SimReply; latencyMs: number };
  /** The account of an access key id (the functions' own, or one STS issued for an assumed role). */
  accountOf(accessKeyId: string): string;
  /** Every other https host under .sim.invalid (ARM, Entra, GKE, Google STS, IAM Credentials). */
  web?(host: string, method: string, url: URL, body: string | undefined, headers: Record<string, unknown>): Promise<{ reply: SimReply; latencyMs: number }>;
}

const refuseWeb = async (host: string): Promise<never> => {
  throw new Error(`no simulated service at ${host}`);
};

export function installSimTransport(clock: VirtualClock, targets: TransportTargets): () => void {
  const proto = NodeHttpHandler.prototype as unknown as { handle: (request: HttpRequest) => Promise<{ response: HttpResponse }> };
  const savedHandle = proto.handle;
  proto.handle = async function simHandle(request: HttpRequest) {
    const auth = String(request.headers.authorization ?? request.headers.Authorization ?? '');
    const key = /Credential=([^/]+)\/\d{8}\/([^/]+)\/([^/]+)\//.exec(auth);
    const body = typeof request.body === 'string' ? request.body : request.body instanceof Uint8Array ? Buffer.from(request.body).toString('utf8') : request.body ? String(request.body) : '';
    const route: AwsRoute = { account: targets.accountOf(key?.[1] ?? ''), region: key?.[2] ?? 'us-east-1', service: key?.[3] ?? request.hostname.split('.')[0]!, request, body };
    const { reply, latencyMs } = await targets.aws(route);
    await clock.sleep(latencyMs);
    return { response: new HttpResponse({ statusCode: reply.status, headers: { 'x-amzn-requestid': 'sim', ...(reply.headers ?? {}) }, body: Readable.from([Buffer.from(reply.body)]) }) };
  };

  const savedRequest = https.request;
  (https as { request: unknown }).request = function simRequest(first: string | URL | https.RequestOptions, second?: unknown, third?: unknown) {
    // https.request(url, options?, cb?) (the Kubernetes client, node-fetch) or https.request(options, cb?) (@azure/core-rest-pipeline)
    const byUrl = typeof first === 'string' || first instanceof URL;
    const options = (byUrl ? (typeof second === 'function' ? {} : second ?? {}) : first) as https.RequestOptions;
    const cb = (byUrl ? (typeof second === 'function' ? second : third) : second) as ((res: unknown) => void) | undefined;
    const u = byUrl ? new URL(String(first)) : new URL(`https://${options.hostname ?? options.host}${options.port && String(options.port) !== '443' ? `:${options.port}` : ''}${options.path ?? '/'}`);
    if (!u.hostname.endsWith('.sim.invalid')) throw new Error(`the simulation sends no traffic to ${u.hostname}`);
    const chunks: Buffer[] = [];
    let destroyed = false;
    const headers: Record<string, unknown> = Object.fromEntries(Object.entries(options.headers ?? {}).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v.join(', ') : v]));
    const method = options.method ?? 'GET';
    // a real Writable: node-fetch pipes request bodies into it
    const req = new Writable({
      // the request stays usable after its body is sent (a destroy means: the caller gave up)
      autoDestroy: false,
      write(chunk: Buffer, _enc, done) {
        chunks.push(Buffer.from(chunk));
        done();
      },
      final(done) {
        done();
        void dispatch();
      },
      destroy(err, done) {
        destroyed = true;
        done(err);
      },
    }) as Writable & { setTimeout(): unknown; abort(): void; setHeader(): void };
    req.setTimeout = () => req;
    req.abort = () => req.destroy();
    req.setHeader = () => undefined;
    const dispatch = async () => {
      const body = chunks.length ? Buffer.concat(chunks).toString('utf8') : undefined;
      let answer: { reply: SimReply; latencyMs: number };
      try {
        answer = u.hostname.endsWith('.kube.sim.invalid')
          ? targets.kube(u.hostname, method, u, body, headers['content-type'] as string | undefined, headers.authorization as string | undefined)
          : await (targets.web ?? refuseWeb)(u.hostname, method, u, body, headers);
      } catch (err) {
        if (!destroyed) req.destroy(err as Error);
        return;
      }
      await clock.sleep(answer.latencyMs);
      if (destroyed) return;
      const { reply } = answer;
      const res = new PassThrough() as PassThrough & { statusCode: number; statusMessage: string; headers: Record<string, string>; rawHeaders: string[] };
      res.statusCode = reply.status;
      res.statusMessage = STATUS_CODES[reply.status] ?? '';
      res.headers = Object.fromEntries(Object.entries(reply.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
      res.headers['content-length'] = String(Buffer.byteLength(reply.body));
      res.rawHeaders = Object.entries(res.headers).flat();
      cb?.(res);
      req.emit('response', res);
      res.end(reply.body);
    };
    return req;
  } as unknown as typeof https.request;
  syncBuiltinESMExports();

  // global fetch (undici): the EC2 host-name lookup signs one Query call by hand and sends it with fetch
  const savedFetch = globalThis.fetch;
  globalThis.fetch = async function simFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    const u = new URL(input instanceof Request ? input.url : String(input));
    if (!u.hostname.endsWith('.sim.invalid')) throw new TypeError(`fetch failed: the simulation sends no traffic to ${u.hostname}`);
    const headers: Record<string, unknown> = {};
    new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined)).forEach((v, k) => (headers[k] = v));
    const body = typeof init?.body === 'string' ? init.body : init?.body ? Buffer.from(init.body as ArrayBuffer).toString('utf8') : undefined;
    const { reply, latencyMs } = await (targets.web ?? refuseWeb)(u.hostname, init?.method ?? 'GET', u, body, headers);
    await clock.sleep(latencyMs);
    return new Response(reply.body, { status: reply.status, headers: reply.headers ?? {} });
  } as typeof fetch;

  return () => {
    globalThis.fetch = savedFetch;
    proto.handle = savedHandle;
    (https as { request: unknown }).request = savedRequest;
    syncBuiltinESMExports();
  };
}
