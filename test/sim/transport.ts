/**
 * In-process transport for the fan-out simulation: the product's real SDK clients serialize, sign,
 * retry and parse as always, but the bytes go to the stand-ins in this process instead of a socket.
 *  - AWS SDK v3: NodeHttpHandler.prototype.handle (every client the product builds uses it)
 *  - the Kubernetes client: https.request for hosts under .sim.invalid
 * Anything else is refused: the simulation never sends traffic anywhere.
 * Each answer arrives after its modelled latency on the virtual clock.
 */
import https from 'node:https';
import { syncBuiltinESMExports } from 'node:module';
import { PassThrough, Readable } from 'node:stream';
import { EventEmitter } from 'node:events';
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
}

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
  (https as { request: unknown }).request = function simRequest(url: string | URL, options: any, cb?: (res: unknown) => void) {
    const u = typeof url === 'string' ? new URL(url) : url;
    if (!u.hostname.endsWith('.sim.invalid')) throw new Error(`the simulation sends no traffic to ${u.hostname}`);
    const req = new EventEmitter() as EventEmitter & { write(c: string | Buffer): boolean; end(c?: string | Buffer): void; destroy(e?: Error): void; setTimeout(): void };
    const chunks: Buffer[] = [];
    let destroyed = false;
    req.write = (c) => (chunks.push(Buffer.from(c)), true);
    req.setTimeout = () => undefined;
    req.destroy = (e) => {
      destroyed = true;
      if (e) queueMicrotask(() => req.emit('error', e));
    };
    req.end = (c) => {
      if (c) chunks.push(Buffer.from(c));
      const headers: Record<string, unknown> = Object.fromEntries(Object.entries(options?.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
      const body = chunks.length ? Buffer.concat(chunks).toString('utf8') : undefined;
      const { reply, latencyMs } = targets.kube(u.hostname, options?.method ?? 'GET', u, body, headers['content-type'] as string | undefined, headers.authorization as string | undefined);
      void clock.sleep(latencyMs).then(() => {
        if (destroyed) return;
        const res = new PassThrough() as PassThrough & { statusCode: number; headers: Record<string, string> };
        res.statusCode = reply.status;
        res.headers = reply.headers ?? {};
        cb?.(res);
        req.emit('response', res);
        res.end(reply.body);
      });
    };
    return req;
  } as unknown as typeof https.request;
  syncBuiltinESMExports();

  return () => {
    proto.handle = savedHandle;
    (https as { request: unknown }).request = savedRequest;
    syncBuiltinESMExports();
  };
}
