import net from 'node:net';

/**
 * Records every outbound TCP connection this process opens (node:http/https, undici's fetch, gaxios and
 * the Azure SDK's HTTP client all end in net.Socket#connect), so a test can prove nothing left
 * 127.0.0.1 — e.g. that MSAL did no instance discovery against login.microsoftonline.com and Google's
 * libraries never asked the metadata server (169.254.169.254) or *.googleapis.com.
 */
export interface LoopbackGuard {
  /** host:port (or unix path) of every connection attempted since start. */
  readonly connections: string[];
  /** The attempts whose host is not loopback. */
  offLoopback(): string[];
  stop(): void;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']);

export function guardLoopback(): LoopbackGuard {
  const connections: string[] = [];
  const original = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
    const first = Array.isArray(args[0]) ? (args[0] as unknown[])[0] : args[0];
    if (first && typeof first === 'object') {
      const o = first as { host?: string; port?: number | string; path?: string };
      connections.push(o.path ? `unix:${o.path}` : `${o.host ?? 'localhost'}:${o.port}`);
    } else if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
      connections.push(`${typeof args[1] === 'string' ? args[1] : 'localhost'}:${first}`);
    } else if (typeof first === 'string') {
      connections.push(`unix:${first}`);
    }
    return (original as (...a: unknown[]) => net.Socket).apply(this, args);
  } as typeof net.Socket.prototype.connect;
  return {
    connections,
    offLoopback: () => connections.filter((c) => !c.startsWith('unix:') && !LOOPBACK.has(c.slice(0, c.lastIndexOf(':')))),
    stop() {
      net.Socket.prototype.connect = original;
    },
  };
}
