import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { generateSandboxTls } from './kube/tls';

/**
 * The HTTPS plumbing every cloud stand-in shares (ARM, Entra, GKE, Google STS, IAM Credentials): a
 * server on 127.0.0.1 (random port) with a certificate from the checkout's sandbox CA, body reading
 * with a size cap, JSON replies. Each stand-in says how its cloud words an internal error.
 */
export interface SandboxHttpsServer {
  url: string;
  stop(): Promise<void>;
}

export async function startHttpsServer(
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  internalError: (message: string) => unknown,
): Promise<SandboxHttpsServer> {
  const tls = generateSandboxTls();
  const server: Server = createServer({ key: tls.keyPem, cert: tls.certPem }, (req, res) => {
    handle(req, res).catch((err: Error) => {
      if (!res.headersSent) sendJson(res, 500, internalError(`sandbox: ${err.message}`));
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export async function readBody(req: IncomingMessage, limit = 1024 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > limit) throw new Error('request body too large');
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(payload)), 'cache-control': 'no-store, no-cache', ...headers });
  res.end(payload);
}

export function bearerOf(req: IncomingMessage): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
}

/** A loopback port nothing listens on (bound, then released): connecting to it is refused at once. */
export async function closedLoopbackPort(): Promise<number> {
  const s = createTcpServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
