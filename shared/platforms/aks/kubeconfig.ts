/**
 * The kubeconfig AKS returns from listClusterUserCredential (base64 on the wire, bytes in the SDK), reduced
 * to what a KubeClient needs: the current context's server, CA and user
 * (https://kubernetes.io/docs/reference/config-api/kubeconfig.v1/). Entra-integrated clusters get an
 * `exec` user (kubelogin) or the legacy `auth-provider: azure`; local-account clusters a client
 * certificate + key and a static token. Errors name the missing field, never a value.
 */
import YAML from 'yaml';
import { SensorfleetError } from '../../runtime/errors';

export interface KubeconfigUser {
  token?: string;
  clientCertificate?: { certPem: string; keyPem: string };
  /** The exec plugin's command (kubelogin on Entra clusters); we never run it. */
  exec?: string;
  /** Legacy auth provider name (azure). */
  authProvider?: string;
}

export interface ParsedKubeconfig {
  context: string;
  server: string;
  caPem: string;
  user: KubeconfigUser;
}

export class KubeconfigError extends SensorfleetError {
  override name = 'KubeconfigError';
}

interface NamedEntry {
  name?: string;
  [key: string]: unknown;
}

export function parseKubeconfig(text: string, what = 'kubeconfig'): ParsedKubeconfig {
  let doc: any;
  try {
    doc = YAML.parse(text);
  } catch (err) {
    throw new KubeconfigError(`${what} is not valid YAML (${(err as Error).name})`);
  }
  if (!doc || typeof doc !== 'object') throw new KubeconfigError(`${what} is empty`);
  const contexts = entries(doc.contexts);
  const contextName: string | undefined = doc['current-context'] || (contexts.length === 1 ? contexts[0]!.name : undefined);
  if (!contextName) throw new KubeconfigError(`${what} has no current-context`);
  const context = contexts.find((c) => c.name === contextName)?.context as { cluster?: string; user?: string } | undefined;
  if (!context) throw new KubeconfigError(`${what}: context "${contextName}" is not defined`);
  const cluster = entries(doc.clusters).find((c) => c.name === context.cluster)?.cluster as Record<string, unknown> | undefined;
  if (!cluster) throw new KubeconfigError(`${what}: cluster "${context.cluster}" of context "${contextName}" is not defined`);
  const server = cluster.server;
  if (typeof server !== 'string' || !server) throw new KubeconfigError(`${what}: cluster "${context.cluster}" has no server`);
  const caData = cluster['certificate-authority-data'];
  if (typeof caData !== 'string' || !caData) throw new KubeconfigError(`${what}: cluster "${context.cluster}" has no certificate-authority-data`);
  const caPem = pemFromBase64(caData, 'CERTIFICATE', `${what}: certificate-authority-data`);
  const userEntry = entries(doc.users).find((u) => u.name === context.user)?.user as Record<string, any> | undefined;
  const user: KubeconfigUser = {};
  if (userEntry) {
    if (typeof userEntry.token === 'string' && userEntry.token) user.token = userEntry.token;
    const certData = userEntry['client-certificate-data'];
    const keyData = userEntry['client-key-data'];
    if (typeof certData === 'string' && typeof keyData === 'string' && certData && keyData) {
      user.clientCertificate = {
        certPem: pemFromBase64(certData, 'CERTIFICATE', `${what}: client-certificate-data`),
        keyPem: pemFromBase64(keyData, 'PRIVATE KEY', `${what}: client-key-data`),
      };
    }
    if (typeof userEntry.exec?.command === 'string') user.exec = userEntry.exec.command;
    if (typeof userEntry['auth-provider']?.name === 'string') user.authProvider = userEntry['auth-provider'].name;
  }
  return { context: contextName, server, caPem, user };
}

function entries(list: unknown): NamedEntry[] {
  return Array.isArray(list) ? list.filter((e): e is NamedEntry => !!e && typeof e === 'object') : [];
}

/** kubeconfig *-data fields hold base64 of PEM text. */
function pemFromBase64(data: string, label: string, what: string): string {
  const text = Buffer.from(data, 'base64').toString('utf8');
  if (!/-----BEGIN [A-Z ]+-----/.test(text)) throw new KubeconfigError(`${what} does not decode to PEM (${label})`);
  return text;
}
