/**
 * Credentials for the sandbox kubeconfig, as an exec credential plugin
 * (https://kubernetes.io/docs/reference/access-authn-authz/authentication/#client-go-credential-plugins):
 * kubectl runs `sensorfleet sandbox token --cluster REF` whenever it has no valid credential and reads an
 * ExecCredential (client.authentication.k8s.io/v1) from its stdout; `status.expirationTimestamp` tells it
 * when to run it again, so the credential refreshes itself.
 *
 * One issuer per platform, each doing what the cloud's own plugin does:
 * - aws-eks: `aws eks get-token` / aws-iam-authenticator: a presigned STS GetCallerIdentity URL for the cluster
 *   (shared/platforms/eks/token.ts), signed locally with the AWS credentials the kubeconfig passes in its
 *   exec env; it is valid for X-Amz-Expires = 60 s, so kubectl is told it expires a little before that.
 * - azure-aks: what kubelogin does for a service principal, through sensorfleet's own Azure credential
 *   (the AWS role's outbound-federation JWT exchanged at Entra): an Entra token for the AKS server
 *   application; for clusters with local accounts, the client certificate of listClusterUserCredential.
 * - gcp-gke: what gke-gcloud-auth-plugin does, through sensorfleet's own Google credential (the same JWT
 *   exchanged at Google STS, then the service account's token).
 * The cloud issuers read the target from SENSORFLEET_CONFIG, as every sensorfleet command does.
 * Platforms without an issuer here get no kubeconfig context (add one to ISSUERS and EXEC_ENV).
 */
import { loadConfig } from '../../shared/config/load';
import { formatClusterRef, parseClusterRef, type ClusterRef, type Platform } from '../../shared/domain/cluster-ref';
import { EKS_TOKEN_EXPIRES_SECONDS, eksBearerToken } from '../../shared/platforms/eks/token';

export const EXEC_API_VERSION = 'client.authentication.k8s.io/v1';

export interface ExecCredentialStatus {
  token?: string;
  /** PEM, for clusters that take client certificates. */
  clientCertificateData?: string;
  clientKeyData?: string;
  /** RFC 3339; absent = valid until the server refuses it. */
  expirationTimestamp?: string;
}

export interface ExecCredential {
  apiVersion: string;
  kind: 'ExecCredential';
  spec: { interactive: boolean };
  status: ExecCredentialStatus;
}

/** The `users[].user.exec` stanza of a kubeconfig (client-go clientcmd api ExecConfig). */
export interface ExecConfig {
  apiVersion: string;
  command: string;
  args: string[];
  env: { name: string; value: string }[];
  interactiveMode: 'Never';
  provideClusterInfo: false;
}

type Issuer = (ref: ClusterRef, env: NodeJS.ProcessEnv) => Promise<ExecCredentialStatus>;

/** Refresh this long before the token's real end, so a request never leaves with an expiring token. */
const EXPIRY_MARGIN_S = 10;

const ISSUERS: Partial<Record<Platform, Issuer>> = {
  'aws-eks': async (ref, env) => {
    const accessKeyId = env.AWS_ACCESS_KEY_ID;
    const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
    if (!accessKeyId || !secretAccessKey) throw new ExecCredentialError(`no AWS credentials in the environment to sign a token for ${formatClusterRef(ref)} (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)`);
    const now = new Date();
    const token = await eksBearerToken({
      clusterName: ref.name,
      region: ref.location,
      credentials: { accessKeyId, secretAccessKey, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) },
      now,
    });
    const expires = new Date(now.getTime() + (EKS_TOKEN_EXPIRES_SECONDS - EXPIRY_MARGIN_S) * 1000);
    return { token, expirationTimestamp: expires.toISOString().replace(/\.\d{3}Z$/, 'Z') };
  },
};

ISSUERS['azure-aks'] = async (ref) => {
  const [{ armClient }, { azureCredential, AKS_SCOPE }, { parseKubeconfig }] = await Promise.all([
    import('../../shared/platforms/aks/arm'),
    import('../../shared/platforms/aks/credential'),
    import('../../shared/platforms/aks/kubeconfig'),
  ]);
  const target = loadConfig().targets.azure.find((t) => t.subscriptionId.toLowerCase() === ref.scope);
  if (!target) throw new ExecCredentialError(`subscription ${ref.scope} is not in SENSORFLEET_CONFIG targets.azure`);
  const creds = await armClient(target, target.subscriptionId).managedClusters.listClusterUserCredentials(ref.location, ref.name);
  const kubeconfig = parseKubeconfig(Buffer.from(creds.kubeconfigs?.[0]?.value ?? '').toString('utf8'), `user kubeconfig of ${formatClusterRef(ref)}`);
  const user = kubeconfig.user;
  if (user.clientCertificate) return { clientCertificateData: user.clientCertificate.certPem, clientKeyData: user.clientCertificate.keyPem };
  const token = await azureCredential(target).getToken(AKS_SCOPE);
  if (!token) throw new ExecCredentialError(`Entra returned no token for ${formatClusterRef(ref)}`);
  return { token: token.token, expirationTimestamp: rfc3339(token.expiresOnTimestamp - EXPIRY_MARGIN_S * 1000) };
};

ISSUERS['gcp-gke'] = async (ref) => {
  const { googleCredential } = await import('../../shared/platforms/gke/credential');
  const target = loadConfig().targets.gcp.find((t) => t.projectId === ref.scope);
  if (!target) throw new ExecCredentialError(`project ${ref.scope} is not in SENSORFLEET_CONFIG targets.gcp`);
  const token = await (await googleCredential(target)).accessToken();
  // Google access tokens live an hour; kubectl asks again well before (each ask is a new process)
  return { token, expirationTimestamp: rfc3339(Date.now() + GOOGLE_TOKEN_REUSE_S * 1000) };
};

const GOOGLE_TOKEN_REUSE_S = 15 * 60;

function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** What each platform's issuer reads from the exec env (taken from the sandbox's exports). */
const CLOUD_ENV = ['AWS_ENDPOINT_URL', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION', 'NODE_EXTRA_CA_CERTS', 'SENSORFLEET_CONFIG'];
const EXEC_ENV: Partial<Record<Platform, string[]>> = {
  'aws-eks': ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION'],
  'azure-aks': CLOUD_ENV,
  'gcp-gke': CLOUD_ENV,
};

export class ExecCredentialError extends Error {
  override name = 'ExecCredentialError';
}

export function canIssueFor(ref: string): boolean {
  return ISSUERS[parseClusterRef(ref).platform] !== undefined;
}

/** The plugin's answer for one cluster. KUBERNETES_EXEC_INFO says which API version kubectl speaks. */
export async function execCredential(ref: string, env: NodeJS.ProcessEnv = process.env): Promise<ExecCredential> {
  const r = parseClusterRef(ref);
  const issue = ISSUERS[r.platform];
  if (!issue) throw new ExecCredentialError(`the sandbox has no credential plugin for ${r.platform} clusters`);
  let apiVersion = EXEC_API_VERSION;
  let interactive = false;
  if (env.KUBERNETES_EXEC_INFO) {
    try {
      const info = JSON.parse(env.KUBERNETES_EXEC_INFO) as { apiVersion?: string; spec?: { interactive?: boolean } };
      apiVersion = info.apiVersion ?? apiVersion;
      interactive = info.spec?.interactive ?? false;
    } catch {
      throw new ExecCredentialError('KUBERNETES_EXEC_INFO is not valid JSON');
    }
  }
  return { apiVersion, kind: 'ExecCredential', spec: { interactive }, status: await issue(r, env) };
}

/** How a kubeconfig runs this plugin for `ref`: this checkout's CLI, with the values it needs from `exports`. */
export function execConfig(ref: string, cli: { node: string; bin: string }, exports: Record<string, string>): ExecConfig {
  const keys = EXEC_ENV[parseClusterRef(ref).platform] ?? [];
  return {
    apiVersion: EXEC_API_VERSION,
    command: cli.node,
    args: [cli.bin, 'sandbox', 'token', '--cluster', ref],
    env: keys.filter((k) => exports[k] !== undefined).map((name) => ({ name, value: exports[name]! })),
    interactiveMode: 'Never',
    provideClusterInfo: false,
  };
}
