/**
 * Can this process reach a private cluster's API server? A private AKS cluster
 * (apiServerAccessProfile.enablePrivateCluster) answers only inside its virtual network: its FQDN is in
 * a private DNS zone (privatelink.<region>.azmk8s.io), so from elsewhere the name does not resolve, or it
 * resolves to a private address that nothing routes to
 * (https://learn.microsoft.com/azure/aks/private-clusters). One TCP connect with a short deadline tells
 * the cases apart before any Kubernetes call, so the cluster is reported as out of reach with the reason
 * instead of as a timeout after the Kubernetes client's retries.
 */
import { connect } from 'node:net';

export const PROBE_TIMEOUT_MS = 3_000;

export type Reachability = { reachable: true } | { reachable: false; reason: string };

export function probeApiServer(server: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<Reachability> {
  const url = new URL(server);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || 443);
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (r: Reachability): void => {
      socket.destroy();
      resolve(r);
    };
    socket.setTimeout(timeoutMs, () => done({ reachable: false, reason: unreachableReason('ETIMEDOUT', host, port, timeoutMs) }));
    socket.once('connect', () => done({ reachable: true }));
    socket.once('error', (err: NodeJS.ErrnoException) => done({ reachable: false, reason: unreachableReason(err.code ?? 'ERROR', host, port, timeoutMs) }));
  });
}

/** What a failed connect means for a private API server, in one sentence. */
export function unreachableReason(code: string, host: string, port: number, timeoutMs: number): string {
  switch (code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return `${host} does not resolve from here (it is in the cluster's private DNS zone)`;
    case 'ETIMEDOUT':
      return `${host}:${port} did not answer within ${Math.round(timeoutMs / 1000)} s`;
    case 'ECONNREFUSED':
      return `${host}:${port} refused the connection`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `${host}:${port} is not routable from here`;
    default:
      return `${host}:${port} could not be reached (${code})`;
  }
}
