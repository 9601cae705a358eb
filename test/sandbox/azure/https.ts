import type { IncomingMessage, ServerResponse } from 'node:http';
import { startHttpsServer as startServer, type SandboxHttpsServer } from '../https';

export { closedLoopbackPort, readBody, sendJson, type SandboxHttpsServer } from '../https';

/** ARM and Entra word an internal error as `{"error":{"code","message"}}`. */
export function startHttpsServer(handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>): Promise<SandboxHttpsServer> {
  return startServer(handle, (message) => ({ error: { code: 'InternalServerError', message } }));
}
