/**
 * One HTTPS server on 127.0.0.1 that plays the API server of many virtual clusters: cluster `id` lives under
 * `https://127.0.0.1:<port>/clusters/<id>` (its `endpoint`). Every request is recorded, goes through the
 * cluster's fault switch, then authentication as kube-apiserver's union authenticator does it: the first
 * authenticator that admits the request wins (x509 client certificate, then bearer token), none -> 401
 * (https://kubernetes.io/docs/reference/access-authn-authz/authentication/#authentication-strategies).
 *
 * Client certificates: the TLS server asks every client for one but lets the handshake succeed without
 * it (kube-apiserver does the same: a client may authenticate by token instead), and each virtual cluster
 * checks the peer certificate against its own client CA. The server advertises no acceptable CA list:
 * it cannot know the cluster before the request path, and Go clients (kubectl) withhold a certificate
 * whose issuer is not in a non-empty list (crypto/tls CertificateRequestInfo.SupportsCertificate).
 */
import type { X509Certificate } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { FakeKubeCluster } from './cluster';
import { route } from './http';
import { errors, KubeError } from './status';
import { generateSandboxTls } from './tls';
import type { ClusterOptions } from './types';

export class FakeKubeApiServer {
  private readonly clusters = new Map<string, FakeKubeCluster>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
    readonly caPem: string,
  ) {}

  /** https on 127.0.0.1, a random port, a fresh self-signed CA. */
  static async start(): Promise<FakeKubeApiServer> {
    const tls = generateSandboxTls();
    let self: FakeKubeApiServer | undefined;
    const server = createServer({ key: tls.keyPem, cert: tls.certPem, requestCert: true, rejectUnauthorized: false }, (req, res) => {
      void self!.handle(req, res);
    });
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    self = new FakeKubeApiServer(server, `https://127.0.0.1:${port}`, tls.caPem);
    return self;
  }

  /** TLS connections open right now (tests check that clients close their kept-alive sockets). */
  openConnections(): Promise<number> {
    return new Promise((resolve, reject) => this.server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
  }

  addCluster(id: string, options: ClusterOptions): FakeKubeCluster {
    if (!/^[a-z0-9-]+$/.test(id)) throw new Error(`cluster id must match [a-z0-9-]+: ${id}`);
    if (this.clusters.has(id)) throw new Error(`cluster ${id} already exists in this sandbox API server`);
    const c = new FakeKubeCluster(id, this.url, this.caPem, options);
    this.clusters.set(id, c);
    return c;
  }

  cluster(id: string): FakeKubeCluster | undefined {
    return this.clusters.get(id);
  }

  removeCluster(id: string): void {
    this.clusters.get(id)?.stop();
    this.clusters.delete(id);
  }

  async stop(): Promise<void> {
    for (const c of this.clusters.values()) c.stop();
    this.clusters.clear();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', 'https://127.0.0.1');
    const m = /^\/clusters\/([a-z0-9-]+)(\/.*)?$/.exec(u.pathname);
    const cluster = m ? this.clusters.get(m[1]!) : undefined;
    if (!cluster) {
      send(res, 404, errors.noRoute().body);
      return;
    }
    const path = m![2] ?? '/';
    const ct = req.headers['content-type'];
    const entry = { method: req.method ?? 'GET', path, query: u.search.replace(/^\?/, ''), ...(ct ? { contentType: ct } : {}), status: 0 };
    cluster.requests.push(entry);
    const f = cluster.faults;
    if (f.dropConnections && f.dropConnections > 0) {
      f.dropConnections--;
      req.socket.destroy();
      return;
    }
    const random = f.random?.pick('kubernetes', `${req.method} ${path}`, !['GET', 'HEAD'].includes(req.method ?? 'GET'));
    if (random === 'drop') {
      req.socket.destroy();
      return;
    }
    if (f.latencyMs) await new Promise((r) => setTimeout(r, f.latencyMs));
    try {
      const who = await authenticate(cluster, req);
      if (!who) throw errors.unauthorized();
      if (f.failNext && f.failNext.count > 0) {
        f.failNext.count--;
        throw errors.injected(f.failNext.status, f.failNext.retryAfterSeconds);
      }
      if (random === 'throttle') throw errors.injected(429, 1);
      if (random === 'server-error') throw errors.injected(503);
      const reply = await route(cluster, req, path, u.searchParams, who);
      // the write was done; only its answer is lost
      if (random === 'after-commit') throw errors.injected(500);
      entry.status = reply.status;
      if (reply.stream) reply.stream(req, res);
      else send(res, reply.status, reply.body, reply.contentType, reply.headers);
    } catch (e) {
      const err = e instanceof KubeError ? e : new KubeError({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `Internal error occurred: ${(e as Error).message}`, reason: 'InternalError', code: 500 });
      entry.status = err.code;
      send(res, err.code, err.body, 'application/json', err.headers);
    }
  }
}

/** pkg/authentication/request/union: x509 (peer certificate), then the bearer token; null when neither admits. */
async function authenticate(cluster: FakeKubeCluster, req: IncomingMessage): Promise<string | null> {
  const { authenticateCertificate, authenticate: byToken } = cluster.options;
  const peer = peerCertificate(req);
  if (peer && authenticateCertificate) {
    const who = authenticateCertificate(peer);
    if (who) return who;
  }
  const token = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
  return token && byToken ? byToken(token) : null;
}

function peerCertificate(req: IncomingMessage): X509Certificate | undefined {
  return (req.socket as TLSSocket).getPeerX509Certificate?.() ?? undefined;
}

function send(res: ServerResponse, status: number, body: unknown, contentType = 'application/json', headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(payload), 'cache-control': 'no-cache, private', ...headers });
  res.end(payload);
}
