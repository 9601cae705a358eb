/**
 * Light Azure stand-ins for the fan-out simulation, answering what shared/platforms/aks/ calls through
 * @azure/arm-containerservice and @azure/identity (wire format as test/sandbox/azure plays it):
 *  - ARM (https://arm.sim.invalid): GET /subscriptions/{sub}/providers/Microsoft.ContainerService/managedClusters
 *    (paged: {value, nextLink}), GET …/resourceGroups/{rg}/providers/Microsoft.ContainerService/managedClusters/{name},
 *    POST …/managedClusters/{name}/listClusterUserCredential ({kubeconfigs: [{name, value: base64}]});
 *    every call needs `api-version` and a bearer token; errors are ARM's {error: {code, message}}.
 *  - Entra ID (https://login.sim.invalid): GET /{tenant}/v2.0/.well-known/openid-configuration (MSAL's
 *    authority metadata) and POST /{tenant}/oauth2/v2.0/token, client credentials with a federated client
 *    assertion (the functions' AWS JWT, audience api://AzureADTokenExchange); errors are Entra's JSON with
 *    the AADSTS code.
 * Rate limits (test/sim/limits.ts): ARM's token buckets per subscription for reads and writes (a POST
 * action such as listClusterUserCredential counts as a write), answered with 429 + Retry-After and
 * x-ms-ratelimit-remaining-* headers; the Entra token endpoint's limit per tenant, 429 + Retry-After.
 */
import { randomUUID } from 'node:crypto';
import YAML from 'yaml';
import type { SimReply } from './aws-json';
import type { RateLimits } from './rate-limit';

export const ARM_LATENCY_MS = 60;
export const ENTRA_LATENCY_MS = 80;
const PAGE_SIZE = 100;

export interface SimAksCluster {
  subscription: string;
  resourceGroup: string;
  name: string;
  location: string;
  /** https://<host> of the Kubernetes stand-in. */
  server: string;
  caPem: string;
  tags?: Record<string, string>;
}

export class SimArm {
  private readonly bySubscription = new Map<string, SimAksCluster[]>();
  private readonly byId = new Map<string, SimAksCluster>();
  private readonly eTags = new Map<SimAksCluster, string>();

  constructor(
    readonly host: string,
    private readonly limits: RateLimits,
    private readonly tenantId: string,
  ) {}

  add(c: SimAksCluster): void {
    const sub = c.subscription.toLowerCase();
    let list = this.bySubscription.get(sub);
    if (!list) this.bySubscription.set(sub, (list = []));
    list.push(c);
    this.byId.set(resourceId(c).toLowerCase(), c);
    this.eTags.set(c, randomUUID());
  }

  handle(method: string, url: URL, authorization: string | undefined): SimReply {
    if (!authorization?.startsWith('Bearer ')) return armError(401, 'AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing.");
    const apiVersion = url.searchParams.get('api-version');
    if (!apiVersion) return armError(400, 'MissingApiVersionParameter', 'The api-version query parameter (?api-version=) is required for all requests.');
    const m = /^\/subscriptions\/([^/]+)(?:\/resourceGroups\/([^/]+))?\/providers\/Microsoft\.ContainerService\/managedClusters(?:\/([^/]+)(?:\/([^/]+))?)?\/?$/i.exec(url.pathname);
    if (!m) return armError(404, 'InvalidResourceType', `The resource type could not be found in the namespace 'Microsoft.ContainerService' for api version '${apiVersion}'.`);
    const [, sub, rg, name, action] = m;
    const subscription = decodeURIComponent(sub!).toLowerCase();
    const write = method !== 'GET';
    const bucket = write ? 'arm.writes' : 'arm.reads';
    if (!this.limits.admit(bucket, subscription)) {
      // https://learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling#error-code
      return { ...armError(429, 'TooManyRequests', 'The request is being throttled as the limit has been reached for operation type - ' + (write ? 'Write' : 'Read') + '.'), headers: { 'content-type': 'application/json', 'retry-after': '1' } };
    }
    const remaining = { [`x-ms-ratelimit-remaining-subscription-${write ? 'writes' : 'reads'}`]: '199' };
    if (!this.bySubscription.has(subscription)) return armError(404, 'SubscriptionNotFound', `The subscription '${subscription}' could not be found.`);
    if (!name) {
      if (method !== 'GET') return armError(405, 'MethodNotAllowed', 'The requested resource does not support http method.');
      const all = (this.bySubscription.get(subscription) ?? []).filter((c) => !rg || c.resourceGroup.toLowerCase() === decodeURIComponent(rg).toLowerCase());
      const from = Number(url.searchParams.get('$skipToken') ?? 0);
      const value = all.slice(from, from + PAGE_SIZE).map((c) => this.clusterJson(c));
      const next = new URL(url.toString());
      next.searchParams.set('$skipToken', String(from + PAGE_SIZE));
      return ok({ value, ...(from + PAGE_SIZE < all.length ? { nextLink: next.toString() } : {}) }, remaining);
    }
    const c = this.byId.get(`/subscriptions/${subscription}/resourcegroups/${decodeURIComponent(rg ?? '')}/providers/microsoft.containerservice/managedclusters/${decodeURIComponent(name)}`.toLowerCase());
    if (!c) return armError(404, 'ResourceNotFound', `The Resource 'Microsoft.ContainerService/managedClusters/${name}' under resource group '${rg}' was not found.`);
    if (!action && method === 'GET') return ok(this.clusterJson(c), remaining);
    if (action?.toLowerCase() === 'listclusterusercredential' && method === 'POST') {
      return ok({ kubeconfigs: [{ name: 'clusterUser', value: Buffer.from(this.userKubeconfig(c)).toString('base64') }] }, remaining);
    }
    return armError(405, 'MethodNotAllowed', `${method} ${action ?? ''} is not simulated`);
  }

  private clusterJson(c: SimAksCluster): unknown {
    return {
      id: resourceId(c),
      location: c.location,
      name: c.name,
      type: 'Microsoft.ContainerService/ManagedClusters',
      eTag: this.eTags.get(c),
      tags: c.tags ?? {},
      properties: {
        provisioningState: 'Succeeded',
        powerState: { code: 'Running' },
        kubernetesVersion: '1.32',
        currentKubernetesVersion: '1.32.4',
        dnsPrefix: `${c.name}-dns`,
        fqdn: new URL(c.server).hostname,
        enableRBAC: true,
        aadProfile: { managed: true, enableAzureRBAC: true, tenantID: this.tenantId },
        disableLocalAccounts: true,
        apiServerAccessProfile: { enablePrivateCluster: false },
      },
    };
  }

  /** The user kubeconfig of an Entra cluster: server, CA, and kubelogin's exec user (which the product replaces). */
  private userKubeconfig(c: SimAksCluster): string {
    const user = `clusterUser_${c.resourceGroup}_${c.name}`;
    return YAML.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: c.name, cluster: { server: c.server, 'certificate-authority-data': Buffer.from(c.caPem).toString('base64') } }],
      contexts: [{ name: c.name, context: { cluster: c.name, user } }],
      'current-context': c.name,
      users: [{ name: user, user: { exec: { apiVersion: 'client.authentication.k8s.io/v1beta1', command: 'kubelogin', args: ['get-token', '--server-id', '6dae42f8-4368-4678-94ff-3960e28e3630'] } } }],
    });
  }
}

export class SimEntra {
  private readonly apps = new Set<string>();
  tokensIssued = 0;

  constructor(
    readonly host: string,
    private readonly limits: RateLimits,
    private readonly tenantId: string,
  ) {}

  registerApp(clientId: string): void {
    this.apps.add(clientId.toLowerCase());
  }

  handle(method: string, url: URL, body: string | undefined): SimReply {
    const m = /^\/([^/]+)\/(v2\.0\/\.well-known\/openid-configuration|oauth2\/v2\.0\/token)$/.exec(url.pathname);
    if (!m) return json(404, { error: 'not_found', error_description: `no endpoint ${url.pathname}` });
    const tenant = decodeURIComponent(m[1]!).toLowerCase();
    if (tenant !== this.tenantId) return entraError(400, 'invalid_tenant', 90002, `Tenant '${tenant}' not found.`);
    const base = `https://${this.host}/${tenant}`;
    if (m[2]!.endsWith('openid-configuration')) {
      if (method !== 'GET') return entraError(405, 'invalid_request', 900561, `The endpoint only accepts GET requests. Received a ${method} request.`);
      return json(200, { token_endpoint: `${base}/oauth2/v2.0/token`, issuer: `${base}/v2.0`, authorization_endpoint: `${base}/oauth2/v2.0/authorize`, jwks_uri: `${base}/discovery/v2.0/keys`, token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt'], response_types_supported: ['code', 'id_token'], tenant_region_scope: 'EU', cloud_instance_name: 'microsoftonline.com' });
    }
    if (method !== 'POST') return entraError(405, 'invalid_request', 900561, `The endpoint only accepts POST requests. Received a ${method} request.`);
    if (!this.limits.admit('entra.token', tenant)) {
      // client credentials over the limit: 429 with Retry-After (https://learn.microsoft.com/entra/msal/dotnet/advanced/client-and-server-throttling)
      return { ...entraError(429, 'temporarily_unavailable', 50196, 'The server terminated an operation because it encountered a client request loop.'), headers: { 'content-type': 'application/json', 'retry-after': '60' } };
    }
    const form = new URLSearchParams(body ?? '');
    if (form.get('grant_type') !== 'client_credentials') return entraError(400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.');
    const clientId = (form.get('client_id') ?? '').toLowerCase();
    if (!this.apps.has(clientId)) return entraError(400, 'unauthorized_client', 700016, `Application with identifier '${clientId}' was not found in the directory '${tenant}'.`);
    if (form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') return entraError(401, 'invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
    const claims = jwtClaims(form.get('client_assertion') ?? '');
    const aud = claims ? ([] as unknown[]).concat(claims.aud ?? []) : [];
    if (!claims || !aud.includes('api://AzureADTokenExchange')) return entraError(400, 'invalid_client', 700212, 'No matching federated identity record found for presented assertion audience.');
    if (typeof claims.exp !== 'number' || claims.exp * 1000 < Date.now()) return entraError(400, 'invalid_client', 700024, 'Client assertion is not within its valid time range.');
    const scope = form.get('scope') ?? '';
    if (!/\/\.default$/.test(scope)) return entraError(400, 'invalid_scope', 1002012, `The provided value for scope ${scope} is not valid.`);
    this.tokensIssued++;
    const resource = scope.replace(/\/\.default$/, '');
    const now = Math.floor(Date.now() / 1000);
    const token = unsignedJwt({ aud: resource, iss: `https://sts.windows.net/${tenant}/`, tid: tenant, appid: clientId, idtyp: 'app', iat: now, nbf: now, exp: now + 3599 });
    return json(200, { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: token });
  }
}

export function resourceId(c: Pick<SimAksCluster, 'subscription' | 'resourceGroup' | 'name'>): string {
  return `/subscriptions/${c.subscription}/resourceGroups/${c.resourceGroup}/providers/Microsoft.ContainerService/managedClusters/${c.name}`;
}

/** A JWT-shaped token whose signature nobody in the simulation checks (the sandbox does that). */
export function unsignedJwt(claims: Record<string, unknown>): string {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b64({ alg: 'RS256', typ: 'JWT', kid: 'sim' })}.${b64(claims)}.${Buffer.from('simulated-signature').toString('base64url')}`;
}

export function jwtClaims(token: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function ok(body: unknown, headers: Record<string, string> = {}): SimReply {
  return { status: 200, body: JSON.stringify(body), headers: { 'content-type': 'application/json; charset=utf-8', 'x-ms-request-id': 'sim', ...headers } };
}

function json(status: number, body: unknown): SimReply {
  return { status, body: JSON.stringify(body), headers: { 'content-type': 'application/json; charset=utf-8' } };
}

function armError(status: number, code: string, message: string): SimReply {
  return json(status, { error: { code, message } });
}

function entraError(status: number, error: string, code: number, description: string): SimReply {
  const now = new Date().toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  return json(status, { error, error_description: `AADSTS${code}: ${description} Trace ID: sim Correlation ID: sim Timestamp: ${now}`, error_codes: [code], timestamp: now, trace_id: 'sim', correlation_id: 'sim' });
}
