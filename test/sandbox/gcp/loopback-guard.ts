import net from 'node:net';

/**
 * Records every outbound TCP connection this process opens that is not to loopback (every socket,
 * node:http/https, undici/fetch and gaxios included, goes through net.Socket#connect). Tests assert
 * the list stays empty: Google's libraries must not reach the metadata server (169.254.169.254,
 * metadata.google.internal), *.googleapis.com or anything else.
 */
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost', '::ffff:127.0.0.1']);

export function watchOutboundConnections(): { offLoopback: string[]; stop(): void } {
  const offLoopback: string[] = [];
  const original = net.Socket.prototype.connect;
  const patched = function (this: net.Socket, ...args: unknown[]) {
    const first = Array.isArray(args[0]) ? (args[0] as unknown[])[0] : args[0];
    const o = (typeof first === 'object' && first !== null ? first : { port: first, host: args[1] }) as { host?: string; port?: unknown; path?: string };
    if (!o.path) {
      const host = o.host ?? 'localhost';
      if (!LOOPBACK.has(host)) offLoopback.push(`${host}:${String(o.port)}`);
    }
    return (original as (...a: unknown[]) => net.Socket).apply(this, args);
  };
  net.Socket.prototype.connect = patched as typeof original;
  return {
    offLoopback,
    stop() {
      if (net.Socket.prototype.connect === (patched as typeof original)) net.Socket.prototype.connect = original;
    },
  };
}
