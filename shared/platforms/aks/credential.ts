/**
 * The Entra ID identity sensorfleet acts as for one Azure target: an @azure/identity TokenCredential per
 * (tenant, application, method, authority), built once per process and reused for ARM and for the AKS API
 * servers. MSAL keeps the tokens it got in memory per scope and hands them out again until five minutes
 * before they expire, so a warm process asks Entra once per scope and hour.
 *
 *  - aws-federation: no secret. The client assertion is the function role's JWT from STS
 *    GetWebIdentityToken (audience api://AzureADTokenExchange), which the application's federated
 *    credential trusts (https://learn.microsoft.com/entra/workload-id/workload-identity-federation).
 *  - client-secret / client-certificate: read from Secrets Manager on first use.
 *
 * Instance discovery (a call to login.microsoftonline.com to validate the authority) is only allowed
 * for Microsoft's own authority hosts; any other host (a sandbox, a proxy) is trusted as configured.
 * Tokens never reach logs or error messages; errors keep Entra's AADSTS code and sentence.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { ClientAssertionCredential, ClientCertificateCredential, ClientSecretCredential, type AccessToken, type GetTokenOptions, type TokenCredential } from '@azure/identity';
import { recordApiCall } from '../../runtime/call-log';
import { ConfigError, SensorfleetError } from '../../runtime/errors';
import { awsClient } from '../aws/clients';
import { awsWebIdentityToken } from '../aws/web-identity-token';
import type { AzureTarget } from './config';
import { AzureAuthenticationError } from './errors';

/** The AKS AAD server application: the audience every Entra-integrated AKS API server accepts (https://learn.microsoft.com/azure/aks/kubelogin-authentication). */
export const AKS_SERVER_APP_ID = '6dae42f8-4368-4678-94ff-3960e28e3630';
export const AKS_SCOPE = `${AKS_SERVER_APP_ID}/.default`;
export const PUBLIC_ARM_AUDIENCE = 'https://management.azure.com';

/** Microsoft's authority hosts (public, US Government, China); MSAL may validate these by instance discovery. */
const MICROSOFT_AUTHORITY_HOSTS = new Set(['login.microsoftonline.com', 'login.microsoftonline.us', 'login.chinacloudapi.cn', 'login.partner.microsoftonline.cn']);

export function armScope(target: AzureTarget): string {
  return `${(target.endpoints.resourceManagerAudience ?? PUBLIC_ARM_AUDIENCE).replace(/\/+$/, '')}/.default`;
}

const credentials = new Map<string, TokenCredential>();

export function azureCredential(target: AzureTarget): TokenCredential {
  const key = JSON.stringify([target.tenantId.toLowerCase(), target.clientId.toLowerCase(), target.auth, target.endpoints.authorityHost]);
  let credential = credentials.get(key);
  if (!credential) {
    credential = new DescribedCredential(target, buildCredential(target));
    credentials.set(key, credential);
  }
  return credential;
}

/** Tests: forget every credential (and with it MSAL's token cache). */
export function resetAzureCredentials(): void {
  credentials.clear();
}

function buildCredential(target: AzureTarget): () => Promise<TokenCredential> {
  const authorityHost = target.endpoints.authorityHost;
  const options = {
    authorityHost,
    disableInstanceDiscovery: !MICROSOFT_AUTHORITY_HOSTS.has(new URL(authorityHost).hostname.toLowerCase()),
    additionalPolicies: [{ policy: countEntraCalls, position: 'perRetry' as const }],
    retryOptions: { maxRetries: 2 },
  };
  const { tenantId, clientId, auth } = target;
  switch (auth.method) {
    case 'aws-federation': {
      const credential = new ClientAssertionCredential(tenantId, clientId, () => awsWebIdentityToken({ audience: auth.audience }), options);
      return async () => credential;
    }
    case 'client-secret':
      return async () => {
        const secret = await readJsonSecret(auth.secretId, auth.secretRegion);
        if (!secret.clientSecret) throw new ConfigError(`secret ${auth.secretId} needs clientSecret for targets.azure auth method client-secret`);
        return new ClientSecretCredential(tenantId, clientId, secret.clientSecret, options);
      };
    case 'client-certificate':
      return async () => {
        const secret = await readJsonSecret(auth.secretId, auth.secretRegion);
        const pem = secret.certificatePem;
        if (!pem || !/-----BEGIN CERTIFICATE-----/.test(pem) || !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
          throw new ConfigError(`secret ${auth.secretId} needs certificatePem holding the certificate and its private key (PEM) for targets.azure auth method client-certificate`);
        }
        return new ClientCertificateCredential(tenantId, clientId, { certificate: pem }, options);
      };
  }
}

/**
 * Builds the inner credential on first use (a secret read is I/O) and turns its failures into one named
 * error that says which app, tenant and scope, with Entra's own reason and no token in it.
 */
class DescribedCredential implements TokenCredential {
  private inner: Promise<TokenCredential> | undefined;

  constructor(
    private readonly target: AzureTarget,
    private readonly build: () => Promise<TokenCredential>,
  ) {}

  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken> {
    if (!this.inner) {
      this.inner = this.build();
      this.inner.catch(() => (this.inner = undefined));
    }
    const scope = Array.isArray(scopes) ? scopes.join(' ') : scopes;
    let token: AccessToken | null;
    try {
      token = await (await this.inner).getToken(scopes, options);
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      const t = this.target;
      throw new AzureAuthenticationError(`Entra ID issued no token for application ${t.clientId} in tenant ${t.tenantId} (${t.auth.method}, scope ${scope}): ${entraReason(err)}`);
    }
    if (!token) throw new AzureAuthenticationError(`Entra ID issued no token for application ${this.target.clientId} in tenant ${this.target.tenantId} (scope ${scope})`);
    return token;
  }
}

/** Entra's AADSTS sentence when there is one, else the first line of the message; anything shaped like a JWT is cut out. */
export function entraReason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const aadsts = /AADSTS\d+:[^\r\n]*/.exec(message)?.[0];
  const text = (aadsts ?? message.split(/\r?\n/).find((l) => l.trim()) ?? 'unknown error').replace(/\s*Trace ID:.*$/, '');
  return redactTokens(text.trim());
}

export function redactTokens(text: string): string {
  return text.replace(/eyJ[\w-]+\.[\w-]+\.[\w-]*/g, '<token>');
}

const countEntraCalls: PipelinePolicy = {
  name: 'sensorfleetEntraCallCounter',
  sendRequest(request, next) {
    const path = new URL(request.url).pathname;
    const operation = path.endsWith('/oauth2/v2.0/token') ? 'token' : path.includes('/.well-known/openid-configuration') ? 'openid-configuration' : path.includes('/discovery/instance') ? 'instance-discovery' : 'other';
    recordApiCall({ service: 'Entra', operation, mutating: false });
    return next(request);
  },
};

async function readJsonSecret(secretId: string, region?: string): Promise<Record<string, string>> {
  const sm = awsClient(SecretsManagerClient, { region: region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1' });
  let text: string | undefined;
  try {
    text = (await sm.send(new GetSecretValueCommand({ SecretId: secretId }))).SecretString;
  } catch (err) {
    throw new SensorfleetError(`secret ${secretId} (Azure credential) could not be read: ${(err as { name?: string }).name ?? 'Error'}`);
  }
  try {
    const parsed = JSON.parse(text ?? '') as unknown;
    if (!parsed || typeof parsed !== 'object') throw new Error('not an object');
    return Object.fromEntries(Object.entries(parsed).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
  } catch {
    throw new ConfigError(`secret ${secretId} is not a JSON object`);
  }
}
