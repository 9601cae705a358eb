/**
 * Google credentials for one GCP target: an `external_account` client (workload identity federation)
 * whose access token (scope cloud-platform) authorises both the GKE API and the clusters' Kubernetes
 * API servers (GKE accepts Google OAuth access tokens as bearer tokens).
 *
 * - aws-federation: the subject token is the functions' own AWS JWT from STS GetWebIdentityToken
 *   (supplied programmatically, so no file or URL is read), exchanged at Google STS
 *   (`<endpoints.sts>/v1/token`, RFC 8693), then, when a service account is configured, for its token
 *   at IAM Credentials generateAccessToken
 *   (https://cloud.google.com/iam/docs/workload-identity-federation-with-other-providers).
 * - credential-file: a credential configuration (`gcloud iam workload-identity-pools create-cred-config`)
 *   kept in Secrets Manager, used as it is.
 *
 * google-auth-library caches the access token and refreshes it 5 minutes before it expires; one client
 * per target lives for the process. The client is built with explicit token and impersonation URLs, so
 * it never asks the metadata server or the universe's default endpoints. Errors are rewritten into
 * GoogleCredentialError: which step failed and why, never a token, never the library's error object
 * (its request config holds the subject token).
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ExternalAccountClient, IdentityPoolClient, type BaseExternalAccountClient, type gaxios } from 'google-auth-library';
import { recordApiCall } from '../../runtime/call-log';
import { ConfigError, SensorfleetError } from '../../runtime/errors';
import { awsClient } from '../aws/clients';
import { awsWebIdentityToken } from '../aws/web-identity-token';
import { providerAudience, type GcpTarget } from './config';
import { GoogleCredentialError } from './errors';

export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
const REQUEST_TIMEOUT_MS = 15_000;
/** What the library uses when a credential configuration names no token_url. */
const DEFAULT_TOKEN_URL = 'https://sts.googleapis.com/v1/token';

interface TokenUrls {
  tokenUrl: string;
  /** …/serviceAccounts/<email>:generateAccessToken, when a service account is impersonated. */
  impersonation?: string | undefined;
}

function isImpersonation(url: string, urls: TokenUrls): boolean {
  return !!urls.impersonation && url.startsWith(urls.impersonation.replace(/:generateAccessToken$/, ''));
}

export interface GoogleCredential {
  /** The library client, for the GKE API client (it asks for headers on every request). */
  client: BaseExternalAccountClient;
  /** A valid access token; cached by the library until shortly before it expires. */
  accessToken(): Promise<string>;
  /** Where tokens come from, for messages: the provider or credential file, and the service account. */
  describe: string;
}

const credentials = new Map<string, Promise<GoogleCredential>>();

/** The credential of a target, built once per process (per auth + endpoints). */
export function googleCredential(target: GcpTarget): Promise<GoogleCredential> {
  const key = JSON.stringify([target.auth, target.endpoints]);
  let c = credentials.get(key);
  if (!c) {
    c = build(target);
    c.catch(() => credentials.delete(key));
    credentials.set(key, c);
  }
  return c;
}

/** Tests: forget cached clients and their tokens. */
export function resetGoogleCredentials(): void {
  credentials.clear();
}

async function build(target: GcpTarget): Promise<GoogleCredential> {
  const auth = target.auth;
  if (auth.method === 'aws-federation') {
    const audience = providerAudience(auth.workloadIdentityProvider);
    const jwtAudience = auth.audience ?? audience;
    const impersonation = auth.serviceAccountEmail
      ? `${trimSlash(target.endpoints.iamCredentials)}/v1/projects/-/serviceAccounts/${auth.serviceAccountEmail}:generateAccessToken`
      : undefined;
    const client = new IdentityPoolClient({
      type: 'external_account',
      audience,
      subject_token_type: JWT_TOKEN_TYPE,
      token_url: `${trimSlash(target.endpoints.sts)}/v1/token`,
      ...(impersonation ? { service_account_impersonation_url: impersonation } : {}),
      subject_token_supplier: { getSubjectToken: () => awsWebIdentityToken({ audience: jwtAudience }) },
      scopes: [CLOUD_PLATFORM_SCOPE],
      transporterOptions: { timeout: REQUEST_TIMEOUT_MS },
    });
    const describe = `workload identity provider ${auth.workloadIdentityProvider}${auth.serviceAccountEmail ? ` as ${auth.serviceAccountEmail}` : ''}`;
    return wrap(client, describe, { tokenUrl: `${trimSlash(target.endpoints.sts)}/v1/token`, impersonation });
  }
  const json = await readCredentialConfiguration(auth.secretId, auth.secretRegion);
  const client = ExternalAccountClient.fromJSON({ ...json, scopes: [CLOUD_PLATFORM_SCOPE], transporterOptions: { timeout: REQUEST_TIMEOUT_MS } } as never);
  if (!client) throw new ConfigError(`secret ${auth.secretId} is not an external_account credential configuration`);
  const describe = `credential configuration in secret ${auth.secretId}`;
  return wrap(client, describe, { tokenUrl: String(json.token_url ?? DEFAULT_TOKEN_URL), impersonation: json.service_account_impersonation_url as string | undefined });
}

function wrap(client: BaseExternalAccountClient, describe: string, urls: TokenUrls): GoogleCredential {
  countTokenRequests(client, urls);
  return {
    client,
    describe,
    async accessToken() {
      try {
        const { token } = await client.getAccessToken();
        if (!token) throw new GoogleCredentialError(`no Google access token for ${describe}`);
        return token;
      } catch (err) {
        throw credentialError(err, describe, urls);
      }
    },
  };
}

/**
 * Every token request is an external call: counted like the GKE and Kubernetes calls. The STS exchange
 * has a transporter of its own (created without options), which also gets the request timeout here.
 */
function countTokenRequests(client: BaseExternalAccountClient, urls: TokenUrls): void {
  const sts = (client as unknown as { stsCredential?: { transporter?: gaxios.Gaxios } }).stsCredential?.transporter;
  if (sts) sts.defaults = { ...sts.defaults, timeout: REQUEST_TIMEOUT_MS };
  for (const transporter of new Set([client.transporter, ...(sts ? [sts] : [])])) {
    transporter.interceptors.request.add({
      resolved: async (config) => {
        const url = String(config.url ?? '');
        if (isImpersonation(url, urls)) recordApiCall({ service: 'IAMCredentials', operation: 'GenerateAccessToken', mutating: false });
        else if (url === urls.tokenUrl) recordApiCall({ service: 'GoogleSTS', operation: 'ExchangeToken', mutating: false });
        return config;
      },
    });
  }
}

interface LibraryError {
  message?: string;
  status?: number;
  code?: string | number;
  config?: { url?: string | URL };
  response?: { status?: number; data?: unknown };
}

function credentialError(err: unknown, describe: string, urls: TokenUrls): Error {
  if (err instanceof GoogleCredentialError || err instanceof ConfigError) return err;
  // the AWS half (GetWebIdentityToken) already says what failed, without the token
  if (err instanceof SensorfleetError) return new GoogleCredentialError(`Google credential for ${describe}: ${err.message}`, err.terminal);
  const e = (err ?? {}) as LibraryError;
  const url = String(e.config?.url ?? '');
  const status = e.response?.status ?? e.status;
  const step = isImpersonation(url, urls) ? 'IAM Credentials generateAccessToken' : 'Google STS token exchange';
  const why = redact(serverReason(e) ?? e.message ?? String(err));
  const hint =
    step === 'IAM Credentials generateAccessToken' && status === 403
      ? '; grant the pool principal roles/iam.workloadIdentityUser on the service account'
      : step === 'Google STS token exchange' && /audience|issuer|expired|stale/i.test(why)
        ? '; check the provider\'s issuer (the AWS account\'s outbound issuer URL) and allowed audiences'
        : '';
  const refused = typeof status === 'number' && status >= 400 && status < 500 && status !== 429;
  return new GoogleCredentialError(`${step} for ${describe} failed${status ? ` (HTTP ${status})` : ''}: ${why}${hint}`, refused);
}

/** Google's error bodies: OAuth {error, error_description} (STS) or {error: {code, message, status}} (IAM). */
function serverReason(e: LibraryError): string | undefined {
  const d = e.response?.data as { error?: unknown; error_description?: unknown } | undefined;
  if (!d || typeof d !== 'object') return undefined;
  if (typeof d.error === 'string') return `${d.error}${typeof d.error_description === 'string' ? `: ${d.error_description}` : ''}`;
  const g = d.error as { status?: unknown; message?: unknown } | undefined;
  if (g && typeof g === 'object' && typeof g.message === 'string') return `${typeof g.status === 'string' ? `${g.status}: ` : ''}${g.message}`;
  return undefined;
}

/** Anything shaped like a JWT or a Google access token is cut out of server-provided text. */
export function redact(text: string): string {
  return text.replace(/eyJ[\w-]+\.[\w-]+\.[\w-]*/g, '[redacted]').replace(/ya29\.[\w.-]+/g, '[redacted]');
}

async function readCredentialConfiguration(secretId: string, region?: string): Promise<Record<string, unknown>> {
  const sm = awsClient(SecretsManagerClient, { region: region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1' });
  const out = await sm.send(new GetSecretValueCommand({ SecretId: secretId }));
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(out.SecretString ?? '') as Record<string, unknown>;
    if (!json || typeof json !== 'object' || Array.isArray(json)) throw new Error('not an object');
  } catch {
    throw new ConfigError(`secret ${secretId} is not a JSON credential configuration`);
  }
  if (json.type !== 'external_account') {
    throw new ConfigError(`secret ${secretId} holds a "${String(json.type)}" credential; targets.gcp[].auth credential-file takes an external_account credential configuration (workload identity federation), not a service account key`);
  }
  const source = json.credential_source as Record<string, unknown> | undefined;
  if (source?.executable) throw new ConfigError(`secret ${secretId}: executable-sourced credentials run a program and are not supported in Lambda`);
  return json;
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
