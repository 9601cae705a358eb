import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** HS256 JWTs shaped like the gateway's: header.payload.signature, exp/iat, modulesAllowed (DOCS-GW-AUTH, JENKINS [C]). */
export class JwtIssuer {
  private readonly key = randomBytes(32);
  private seq = 0;

  issue(subject: string, lifetimeSec: number, nowMs = Date.now()): { jwt: string; seq: number } {
    const seq = ++this.seq;
    const iat = Math.floor(nowMs / 1000);
    const header = b64({ alg: 'HS256', typ: 'JWT' });
    const payload = b64({ sub: subject, iat, exp: iat + lifetimeSec, jti: String(seq), modulesAllowed: ['CS'], expMs: nowMs + lifetimeSec * 1000 });
    return { jwt: `${header}.${payload}.${this.sign(`${header}.${payload}`)}`, seq };
  }

  /** Payload of a token this issuer signed, else undefined. */
  verify(jwt: string): { exp: number; expMs: number; seq: number } | undefined {
    const [h, p, s] = jwt.split('.');
    if (!h || !p || !s) return undefined;
    const want = Buffer.from(this.sign(`${h}.${p}`));
    const got = Buffer.from(s);
    if (want.length !== got.length || !timingSafeEqual(want, got)) return undefined;
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as { exp: number; expMs: number; jti: string };
    return { exp: payload.exp, expMs: payload.expMs, seq: Number(payload.jti) };
  }

  get issued(): number {
    return this.seq;
  }

  private sign(input: string): string {
    return createHmac('sha256', this.key).update(input).digest('base64url');
  }
}

function b64(o: unknown): string {
  return Buffer.from(JSON.stringify(o)).toString('base64url');
}
