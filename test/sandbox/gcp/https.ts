import type { IncomingMessage, ServerResponse } from 'node:http';
import { startHttpsServer as startServer, type SandboxHttpsServer } from '../https';

export { bearerOf, readBody, type SandboxHttpsServer } from '../https';

/** Google APIs word an internal error as `{"error":{"code":500,"message","status":"INTERNAL"}}`. */
export function startHttpsServer(handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>): Promise<SandboxHttpsServer> {
  return startServer(handler, (message) => ({ error: { code: 500, message, status: 'INTERNAL' } }));
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
