import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WebhookHandler } from './handler';
import { lowerCaseHeaders, type WebhookRequest } from './http';

/**
 * The webhook on a local HTTP server (`sensorfleet webhook serve`): 127.0.0.1 only, the body read up
 * to the cap (a larger one is refused without reading the rest), the same handler as the function.
 */
export interface LocalWebhookServer {
  url: string;
  close(): Promise<void>;
}

export async function serveWebhook(handler: WebhookHandler, o: { port?: number; maxBodyBytes: number }): Promise<LocalWebhookServer> {
  const server: Server = createServer((req, res) => {
    void (async () => {
      const request = await readRequest(req, o.maxBodyBytes);
      const reply = await handler(request);
      res.writeHead(reply.status, { ...reply.headers, 'content-length': String(Buffer.byteLength(reply.body)), ...(request.bodyTooLarge ? { connection: 'close' } : {}) });
      res.end(reply.body);
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"error":"internal"}');
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function readRequest(req: IncomingMessage, maxBodyBytes: number): Promise<WebhookRequest> {
  const u = new URL(req.url ?? '/', 'http://127.0.0.1');
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = Number(req.headers['content-length'] ?? 0) > maxBodyBytes;
  if (!tooLarge) {
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > maxBodyBytes) {
        tooLarge = true;
        break;
      }
      chunks.push(chunk as Buffer);
    }
  }
  return {
    method: (req.method ?? 'GET').toUpperCase(),
    path: u.pathname,
    headers: lowerCaseHeaders(req.headers),
    query: u.searchParams,
    body: tooLarge ? Buffer.alloc(0) : Buffer.concat(chunks),
    ...(tooLarge ? { bodyTooLarge: true } : {}),
  };
}
