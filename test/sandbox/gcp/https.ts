import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateSandboxTls } from '../kube/tls';

/** One HTTPS server on 127.0.0.1 (a free port), certificate signed by the sandbox CA. */
export interface SandboxHttpsServer {
  url: string;
  stop(): Promise<void>;
}

export async function startHttpsServer(handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>): Promise<SandboxHttpsServer> {
  const tls = generateSandboxTls();
  const server: Server = createServer({ key: tls.keyPem, cert: tls.certPem }, (req, res) => {
    handler(req, res).catch((err: Error) => {
      if (res.headersSent) return res.destroy();
      const body = JSON.stringify({ error: { code: 500, message: `sandbox: ${err.message}`, status: 'INTERNAL' } });
      res.writeHead(500, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
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

export function bearerOf(req: IncomingMessage): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
}

/** Fault switches shared by the stand-ins (DESIGN §6): the next N requests fail, or are slow. */
export interface GoogleFaults {
  /** The next `count` requests answer `status` (429 carries Retry-After and RetryInfo). */
  failNext?: { status: 429 | 500 | 503; count: number; retryAfterSeconds?: number };
  latencyMs?: number;
}

export interface RecordedGoogleRequest {
  method: string;
  path: string;
  /** The raw query string (GKE: `$alt=json%3Benum-encoding=int` from the REST fallback). */
  query?: string;
  status: number;
  /** Who the bearer token belongs to, when it was valid. */
  principal?: string;
}
