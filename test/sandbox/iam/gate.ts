import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resign, xmlValue, type Credentials } from './signed-request';

/**
 * Sits between the sandbox (its AWS front, fleet builders, ECS scheduler) and an IAM-enforcing moto.
 * The sandbox's own machinery signs with the placeholder key `test`, which enforcement refuses; the
 * gate signs those requests again as the admin of the account they act in (`x-moto-account-id`, else
 * the default account), so the sandbox behaves as it does without enforcement. Every other request
 * (the functions' role credentials, assumed roles in member accounts) passes byte for byte: moto
 * checks its signature and its policies.
 *
 * The sandbox asks moto "whose key is this?" with an unsigned GetCallerIdentity (aws/accounts.ts,
 * moto verifies no signature without enforcement). For keys STS handed out through the gate (their
 * secrets are read from the AssumeRole answers on the way back) the gate signs that question with
 * the key itself: GetCallerIdentity needs no permission, so moto answers it as STS would.
 */
export interface IamGate {
  url: string;
  /** Requests moto refused with 403 (what enforcement denied): the signing service, the key, moto's answer. */
  denials: { service: string; accessKeyId: string; body: string }[];
  stop(): Promise<void>;
}

const SANDBOX_KEY = 'test';
const UNSIGNED_SIGNATURE = '0'.repeat(64);

export async function startIamGate(o: { motoUrl: string; defaultAccount: string; admins: Map<string, { credentials: Credentials }> }): Promise<IamGate> {
  const issued = new Map<string, Credentials>();
  const denials: IamGate['denials'] = [];
  const upstream = new URL(o.motoUrl);
  const server: Server = createServer((req, res) => {
    void handle(req).then(
      (answer) => {
        res.writeHead(answer.status, answer.headers);
        res.end(answer.body);
      },
      (err: Error) => {
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: `sandbox IAM gate: ${err.message}` }));
      },
    );
  });

  async function handle(req: IncomingMessage): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
    const body = await readBody(req);
    const auth = String(req.headers.authorization ?? '');
    const scope = /Credential=([^/]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(auth);
    let headers: Record<string, string | string[] | undefined> = { ...req.headers };
    if (scope) {
      const [, accessKeyId, region, service] = scope as unknown as [string, string, string, string];
      const unsigned = auth.includes(`Signature=${UNSIGNED_SIGNATURE}`);
      let creds: Credentials | undefined;
      if (accessKeyId === SANDBOX_KEY) {
        const account = String(req.headers['x-moto-account-id'] ?? o.defaultAccount);
        creds = o.admins.get(account)?.credentials;
        if (!creds) throw new Error(`no sandbox admin in account ${account}`);
      } else if (unsigned) {
        creds = issued.get(accessKeyId);
      }
      if (creds) headers = { ...(await resign({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body }, creds, service, region)) };
    }
    const answer = await forward(req.method ?? 'GET', req.url ?? '/', headers, body);
    const text = answer.body.toString('utf8');
    if (/<AssumeRole(WithWebIdentity)?Result>/.test(text)) {
      const ak = xmlValue(text, 'AccessKeyId');
      const sk = xmlValue(text, 'SecretAccessKey');
      const st = xmlValue(text, 'SessionToken');
      if (ak && sk) issued.set(ak, { accessKeyId: ak, secretAccessKey: sk, ...(st ? { sessionToken: st } : {}) });
    }
    if (answer.status === 403 && scope) denials.push({ service: scope[3]!, accessKeyId: scope[1]!, body: text.slice(0, 500) });
    return answer;
  }

  function forward(method: string, url: string, headers: Record<string, string | string[] | undefined>, body: Buffer): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const up = request({ host: upstream.hostname, port: upstream.port, method, path: url, headers }, (r) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => {
          const h = { ...r.headers };
          delete h['transfer-encoding'];
          const b = Buffer.concat(chunks);
          h['content-length'] = String(b.length);
          resolve({ status: r.statusCode ?? 502, headers: h, body: b });
        });
        r.on('error', reject);
      });
      up.on('error', reject);
      up.end(body);
    });
  }

  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    denials,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
