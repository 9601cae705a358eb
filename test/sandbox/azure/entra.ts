/**
 * A local Microsoft Entra ID token service (v2.0 endpoints), as MSAL (through @azure/identity) uses it:
 *  - GET  /{tenant}/v2.0/.well-known/openid-configuration  (MSAL's authority metadata; `issuer` on the
 *    same host, which MSAL checks)
 *  - GET  /{tenant}/discovery/v2.0/keys                     (JWKS of the access-token signing key)
 *  - POST /{tenant}/oauth2/v2.0/token                       client credentials grant
 *    (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow) with
 *      * client_secret,
 *      * a certificate assertion (self-issued JWT, iss = sub = client_id, aud = this token endpoint,
 *        signed by a certificate registered on the app, identified by x5t#S256 / x5t)
 *        (https://learn.microsoft.com/entra/identity-platform/certificate-credentials), or
 *      * a federated assertion (workload identity federation: a JWT of an external issuer, matched to a
 *        federated identity credential of the app by issuer, subject and audience, its signature
 *        checked against the issuer's JWKS) (https://learn.microsoft.com/entra/workload-id/workload-identity-federation).
 * Errors are Entra's JSON (`error`, `error_description` starting with the AADSTS code, `error_codes`,
 * trace and correlation ids); the codes are the ones Entra returns for each mistake (AADSTS700211/
 * 700212/700213 issuer/audience/subject of no federated credential, AADSTS700024 expired assertion,
 * AADSTS50013 signature, AADSTS7000215 wrong secret, AADSTS700027 unknown certificate, AADSTS700016
 * unknown app, AADSTS90002 unknown tenant, AADSTS500011 unknown resource).
 * Access tokens are v1.0 app-only JWTs (RS256) as ARM and AKS receive them: aud = the resource,
 * iss = https://sts.windows.net/<tid>/, tid, oid, appid, idtyp=app.
 */
import { createHash, generateKeyPairSync, randomUUID, X509Certificate, type KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, importX509, jwtVerify, SignJWT, type JWK, type JWTPayload } from 'jose';
import { readBody, sendJson, startHttpsServer, type SandboxHttpsServer } from './https';

export const AKS_SERVER_APP_ID = '6dae42f8-4368-4678-94ff-3960e28e3630';
export const ARM_AUDIENCES = ['https://management.azure.com', 'https://management.azure.com/', 'https://management.core.windows.net', 'https://management.core.windows.net/'];
/** Resources every tenant has a service principal for (ARM, the AKS AAD server, Microsoft Graph). */
const KNOWN_RESOURCES = new Set([...ARM_AUDIENCES, AKS_SERVER_APP_ID, 'https://graph.microsoft.com']);
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** Entra accepts assertions up to 5 minutes off its clock. */
const CLOCK_TOLERANCE_SECONDS = 300;

export interface FederatedIdentityCredential {
  name: string;
  issuer: string;
  subject: string;
  audiences: string[];
}

export interface EntraApp {
  tenantId: string;
  clientId: string;
  /** Object id of the app's service principal in the tenant: the `oid` of its tokens. */
  objectId: string;
  displayName: string;
  federatedCredentials: FederatedIdentityCredential[];
  secrets: string[];
  certificates: X509Certificate[];
}

export interface EntraRequest {
  method: string;
  path: string;
  tenant?: string;
  clientId?: string;
  scope?: string;
  credential?: 'client_secret' | 'certificate' | 'federated' | 'none';
  status: number;
  /** AADSTS code of a refusal. */
  error?: number;
}

export interface EntraFaults {
  /** The next `count` token requests answer `status` (429/5xx), with Retry-After when given. */
  failNext?: { status: number; count: number; retryAfterSeconds?: number };
}

export type EntraClaims = JWTPayload & { tid: string; oid: string; appid: string };

export type AccessTokenCheck = { ok: true; claims: EntraClaims } | { ok: false; problem: 'malformed' | 'signature' | 'expired' | 'audience' | 'tenant'; detail: string };

interface Refusal {
  status: number;
  error: string;
  code: number;
  description: string;
}

export class SandboxEntra {
  readonly requests: EntraRequest[] = [];
  faults: EntraFaults = {};
  /** Lifetime of issued access tokens (Entra: 60-90 min; MSAL reuses a token until 5 min before expiry). */
  tokenLifetimeSeconds = 3599;
  /** Clock skew: Entra's clock runs this far ahead when it checks the time range of client assertions. */
  assertionClockSkewSeconds = 0;
  /** The clock Entra stamps issued tokens with runs this far ahead (iat, nbf and exp move together). */
  issueClockSkewSeconds = 0;
  private readonly tenants = new Set<string>();
  private readonly apps = new Map<string, EntraApp>();
  private readonly issuers = new Map<string, () => Promise<{ keys: JWK[] }>>();
  /** Applications exposing an API (e.g. a webhook): resource -> app roles per client app id. */
  private readonly apis = new Map<string, Map<string, string[]>>();
  private readonly signing: { kid: string; privateKey: KeyObject; jwk: JWK };

  private constructor(private readonly server: SandboxHttpsServer) {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const kid = createHash('sha1').update(publicKey.export({ type: 'spki', format: 'der' })).digest('base64url');
    this.signing = { kid, privateKey, jwk: { ...(publicKey.export({ format: 'jwk' }) as JWK), kid, use: 'sig', alg: 'RS256' } };
  }

  static async start(): Promise<SandboxEntra> {
    let self: SandboxEntra | undefined;
    const server = await startHttpsServer((req, res) => self!.handle(req, res));
    self = new SandboxEntra(server);
    return self;
  }

  /** The authority host (what `targets.azure[].endpoints.authorityHost` points at). */
  get url(): string {
    return this.server.url;
  }

  addTenant(tenantId: string): void {
    this.tenants.add(tenantId.toLowerCase());
  }

  registerApp(o: { tenantId: string; clientId?: string; displayName?: string; federatedCredentials?: FederatedIdentityCredential[]; secrets?: string[]; certificatePems?: string[] }): EntraApp {
    this.addTenant(o.tenantId);
    const app: EntraApp = {
      tenantId: o.tenantId.toLowerCase(),
      clientId: (o.clientId ?? randomUUID()).toLowerCase(),
      objectId: randomUUID(),
      displayName: o.displayName ?? 'sensorfleet',
      federatedCredentials: [...(o.federatedCredentials ?? [])],
      secrets: [...(o.secrets ?? [])],
      certificates: (o.certificatePems ?? []).map((p) => new X509Certificate(p)),
    };
    this.apps.set(appKey(app.tenantId, app.clientId), app);
    return app;
  }

  app(tenantId: string, clientId: string): EntraApp | undefined {
    return this.apps.get(appKey(tenantId, clientId));
  }

  /** An external OIDC issuer whose keys Entra can fetch (its /.well-known/openid-configuration -> jwks_uri). */
  trustIssuer(issuer: string, jwks: () => Promise<{ keys: JWK[] }>): void {
    this.issuers.set(issuer, jwks);
  }

  /**
   * An application that exposes an API (a webhook protected by Entra): client-credential tokens may be
   * asked for it by its app id or ID URI, and carry `roles` with the app roles assigned to the client
   * (Event Grid's service principal gets AzureEventGridSecureWebhookSubscriber).
   */
  exposeApi(o: { identifiers: string[]; roleAssignments?: Record<string, string[]> }): void {
    const roles = new Map(Object.entries(o.roleAssignments ?? {}).map(([client, r]) => [client.toLowerCase(), r]));
    for (const id of o.identifiers) this.apis.set(id, roles);
  }

  jwks(): { keys: JWK[] } {
    return { keys: [this.signing.jwk] };
  }

  /** What a resource server (ARM, an AKS API server) concludes about a bearer token Entra issued. */
  async verifyAccessToken(token: string, o: { audiences: string[]; tenantId: string }): Promise<AccessTokenCheck> {
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(token, createLocalJWKSet(this.jwks()), { algorithms: ['RS256'] }));
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      if (code === 'ERR_JWT_EXPIRED') return { ok: false, problem: 'expired', detail: `expired at ${new Date(Number(decodeJwt(token).exp) * 1000).toISOString()}` };
      if (code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' || code === 'ERR_JWKS_NO_MATCHING_KEY') return { ok: false, problem: 'signature', detail: 'signature does not verify' };
      return { ok: false, problem: 'malformed', detail: code || 'not a JWT' };
    }
    const aud = String(claims.aud ?? '');
    if (!o.audiences.includes(aud)) return { ok: false, problem: 'audience', detail: aud };
    const tid = String(claims.tid ?? '');
    if (tid !== o.tenantId.toLowerCase() || claims.iss !== `https://sts.windows.net/${tid}/`) return { ok: false, problem: 'tenant', detail: String(claims.iss) };
    return { ok: true, claims: claims as EntraClaims };
  }

  stop(): Promise<void> {
    return this.server.stop();
  }

  // ---- HTTP -------------------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', this.url);
    const entry: EntraRequest = { method: req.method ?? 'GET', path: u.pathname, status: 0 };
    this.requests.push(entry);
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      entry.status = status;
      sendJson(res, status, body, { 'x-ms-request-id': randomUUID(), ...headers });
    };
    const m = /^\/([^/]+)\/(v2\.0\/\.well-known\/openid-configuration|discovery\/v2\.0\/keys|oauth2\/v2\.0\/token)$/.exec(u.pathname);
    if (!m) return reply(404, { error: 'not_found', error_description: `sandbox Entra: no endpoint ${u.pathname}` });
    const tenant = decodeURIComponent(m[1]!).toLowerCase();
    entry.tenant = tenant;
    if (!this.tenants.has(tenant)) {
      const r = refusal(400, 'invalid_tenant', 90002, `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`);
      entry.error = r.code;
      return reply(r.status, this.errorBody(r));
    }
    const endpoint = m[2]!;
    if (endpoint.endsWith('openid-configuration') && req.method === 'GET') return reply(200, this.openIdConfiguration(tenant));
    if (endpoint.endsWith('keys') && req.method === 'GET') return reply(200, this.jwks());
    if (endpoint.endsWith('token') && req.method === 'POST') {
      const fault = this.faults.failNext;
      if (fault && fault.count > 0) {
        fault.count--;
        return reply(fault.status, { error: 'temporarily_unavailable', error_description: `AADSTS50196: The server terminated an operation because it encountered a client request loop. (sandbox fault ${fault.status})` }, fault.retryAfterSeconds !== undefined ? { 'retry-after': String(fault.retryAfterSeconds) } : {});
      }
      const form = new URLSearchParams(await readBody(req));
      const out = await this.token(tenant, form, entry);
      if ('refusal' in out) {
        entry.error = out.refusal.code;
        return reply(out.refusal.status, this.errorBody(out.refusal));
      }
      return reply(200, out.body);
    }
    return reply(405, { error: 'invalid_request', error_description: `AADSTS900561: The endpoint only accepts ${endpoint.endsWith('token') ? 'POST' : 'GET'} requests. Received a ${req.method} request.` });
  }

  private openIdConfiguration(tenant: string): Record<string, unknown> {
    const base = `${this.url}/${tenant}`;
    return {
      token_endpoint: `${base}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${base}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: `${base}/v2.0`,
      request_uri_parameter_supported: false,
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${base}/oauth2/v2.0/logout`,
      claims_supported: ['sub', 'iss', 'cloud_instance_name', 'cloud_instance_host_name', 'cloud_graph_host_name', 'msgraph_host', 'aud', 'exp', 'iat', 'auth_time', 'acr', 'nonce', 'preferred_username', 'name', 'tid', 'ver', 'at_hash', 'c_hash', 'email'],
      tenant_region_scope: 'EU',
      cloud_instance_name: 'microsoftonline.com',
      cloud_graph_host_name: 'graph.windows.net',
      msgraph_host: 'graph.microsoft.com',
      rbac_url: 'https://pas.windows.net',
    };
  }

  private async token(tenant: string, form: URLSearchParams, entry: EntraRequest): Promise<{ body: Record<string, unknown> } | { refusal: Refusal }> {
    const grant = form.get('grant_type');
    if (grant !== 'client_credentials') return { refusal: refusal(400, 'unsupported_grant_type', 70003, `The app requested an unsupported grant type '${grant ?? ''}'.`) };
    const clientId = (form.get('client_id') ?? '').toLowerCase();
    entry.clientId = clientId;
    const app = this.apps.get(appKey(tenant, clientId));
    if (!app) {
      return { refusal: refusal(400, 'unauthorized_client', 700016, `Application with identifier '${clientId}' was not found in the directory '${tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`) };
    }
    const scope = form.get('scope') ?? '';
    entry.scope = scope;
    const resource = resourceOf(scope);
    if (!resource) return { refusal: refusal(400, 'invalid_scope', 1002012, `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`) };
    if (!KNOWN_RESOURCES.has(resource) && !this.apis.has(resource)) {
      return { refusal: refusal(400, 'invalid_resource', 500011, `The resource principal named ${resource} was not found in the tenant named ${tenant}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`) };
    }
    const secret = form.get('client_secret');
    const assertion = form.get('client_assertion');
    let problem: Refusal | undefined;
    let appidacr = '1';
    if (assertion) {
      if (form.get('client_assertion_type') !== JWT_BEARER) {
        problem = refusal(400, 'invalid_request', 50027, `Invalid client_assertion_type '${form.get('client_assertion_type') ?? ''}'; expected ${JWT_BEARER}.`);
      } else {
        let claims: JWTPayload;
        try {
          claims = decodeJwt(assertion);
          decodeProtectedHeader(assertion);
        } catch {
          return { refusal: refusal(400, 'invalid_request', 50027, 'JWT token is invalid or malformed.') };
        }
        const selfIssued = claims.iss === clientId || claims.iss === app.clientId;
        entry.credential = selfIssued ? 'certificate' : 'federated';
        problem = selfIssued ? await this.checkCertificateAssertion(app, assertion, tenant) : await this.checkFederatedAssertion(app, assertion, claims);
        appidacr = '2';
      }
    } else if (secret) {
      entry.credential = 'client_secret';
      if (!app.secrets.includes(secret)) {
        problem = refusal(401, 'invalid_client', 7000215, `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${app.clientId}'.`);
      }
    } else {
      entry.credential = 'none';
      problem = refusal(401, 'invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
    }
    if (problem) return { refusal: problem };
    return { body: await this.issue(app, resource, appidacr) };
  }

  private async checkFederatedAssertion(app: EntraApp, assertion: string, claims: JWTPayload): Promise<Refusal | undefined> {
    const iss = String(claims.iss ?? '');
    const byIssuer = app.federatedCredentials.filter((f) => f.issuer === iss);
    if (byIssuer.length === 0) return federatedMismatch(700211, `No matching federated identity record found for presented assertion issuer '${iss}'.`);
    const jwks = this.issuers.get(iss);
    if (!jwks) return refusal(401, 'invalid_client', 50166, `Request to External OIDC endpoint failed. Issuer '${iss}' could not be reached for its signing keys.`);
    try {
      await jwtVerify(assertion, createLocalJWKSet(await jwks()), { issuer: iss, currentDate: this.assertionClock(), clockTolerance: CLOCK_TOLERANCE_SECONDS });
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      if (code === 'ERR_JWKS_NO_MATCHING_KEY') return refusal(401, 'invalid_client', 50013, `Assertion failed signature validation. [Reason - The key was not found., Thumbprint of key used by client: '${String(decodeProtectedHeader(assertion).kid ?? '')}']`);
      if (code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') return refusal(401, 'invalid_client', 50013, 'Assertion failed signature validation. [Reason - The provided signature value did not match the expected signature value.]');
      if (code === 'ERR_JWT_EXPIRED' || code === 'ERR_JWT_CLAIM_VALIDATION_FAILED') {
        const time = (s: unknown) => (typeof s === 'number' ? new Date(s * 1000).toISOString() : 'unknown');
        return refusal(400, 'invalid_client', 700024, `Client assertion is not within its valid time range. Current time: ${this.assertionClock().toISOString()}, assertion valid from ${time(claims.nbf ?? claims.iat)}, expiry time of assertion ${time(claims.exp)}. Review the documentation at https://docs.microsoft.com/azure/active-directory/develop/active-directory-certificate-credentials .`);
      }
      return refusal(400, 'invalid_request', 50027, 'JWT token is invalid or malformed.');
    }
    const auds = Array.isArray(claims.aud) ? claims.aud : [String(claims.aud ?? '')];
    const byAudience = byIssuer.filter((f) => f.audiences.some((a) => auds.includes(a)));
    if (byAudience.length === 0) return federatedMismatch(700212, `No matching federated identity record found for presented assertion audience '${auds.join(', ')}'.`);
    const sub = String(claims.sub ?? '');
    if (byAudience.some((f) => f.subject === sub)) return undefined;
    if (byAudience.some((f) => f.subject.toLowerCase() === sub.toLowerCase())) {
      return federatedMismatch(7002138, `No matching federated identity record found for presented assertion subject '${sub}'. The subject matches with case-insensitive comparison, but not with case-sensitive comparison.`);
    }
    return federatedMismatch(700213, `No matching federated identity record found for presented assertion subject '${sub}'.`);
  }

  private async checkCertificateAssertion(app: EntraApp, assertion: string, tenant: string): Promise<Refusal | undefined> {
    const header = decodeProtectedHeader(assertion) as { alg?: string; x5t?: string; 'x5t#S256'?: string };
    const cert = app.certificates.find((c) => (header['x5t#S256'] && thumbprint(c, 'sha256') === header['x5t#S256']) || (header.x5t && thumbprint(c, 'sha1') === header.x5t));
    const used = header['x5t#S256'] ?? header.x5t ?? '';
    if (!cert) {
      return refusal(401, 'invalid_client', 700027, `The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '${Buffer.from(used, 'base64url').toString('hex').toUpperCase()}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '${app.clientId}'.]`);
    }
    try {
      const key = await importX509(cert.toString(), header.alg ?? 'RS256');
      await jwtVerify(assertion, key, { currentDate: this.assertionClock(), clockTolerance: CLOCK_TOLERANCE_SECONDS, issuer: app.clientId, subject: app.clientId, audience: [`${this.url}/${tenant}/oauth2/v2.0/token`, `${this.url}/${tenant}/v2.0`] });
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      if (code === 'ERR_JWT_EXPIRED') return refusal(400, 'invalid_client', 700024, 'Client assertion is not within its valid time range.');
      if (code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') return refusal(401, 'invalid_client', 700027, 'Client assertion contains an invalid signature. [Reason - The provided signature value did not match the expected signature value.]');
      return refusal(400, 'invalid_client', 700023, `Client assertion audience claim does not match Realm issuer. (${code})`);
    }
    return undefined;
  }

  private assertionClock(): Date {
    return new Date(Date.now() + this.assertionClockSkewSeconds * 1000);
  }

  private async issue(app: EntraApp, resource: string, appidacr: string): Promise<Record<string, unknown>> {
    const now = Math.floor(Date.now() / 1000) + this.issueClockSkewSeconds;
    const lifetime = this.tokenLifetimeSeconds;
    const iss = `https://sts.windows.net/${app.tenantId}/`;
    const roles = this.apis.get(resource)?.get(app.clientId);
    const token = await new SignJWT({ aio: randomUUID(), appid: app.clientId, appidacr, idp: iss, idtyp: 'app', oid: app.objectId, rh: '0.sandbox.', ...(roles?.length ? { roles } : {}), tid: app.tenantId, uti: randomUUID().replace(/-/g, '').slice(0, 22), ver: '1.0' })
      .setProtectedHeader({ typ: 'JWT', alg: 'RS256', x5t: this.signing.kid, kid: this.signing.kid })
      .setAudience(resource)
      .setIssuer(iss)
      .setSubject(app.objectId)
      .setIssuedAt(now - 5)
      .setNotBefore(now - 5)
      .setExpirationTime(now + lifetime)
      .sign(this.signing.privateKey);
    return { token_type: 'Bearer', expires_in: lifetime, ext_expires_in: lifetime, access_token: token };
  }

  private errorBody(r: Refusal): Record<string, unknown> {
    const trace = randomUUID();
    const correlation = randomUUID();
    const timestamp = new Date().toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
    return {
      error: r.error,
      error_description: `AADSTS${r.code}: ${r.description}\r\nTrace ID: ${trace}\r\nCorrelation ID: ${correlation}\r\nTimestamp: ${timestamp}`,
      error_codes: [r.code],
      timestamp,
      trace_id: trace,
      correlation_id: correlation,
      error_uri: `${this.url}/error?code=${r.code}`,
    };
  }
}

function appKey(tenant: string, clientId: string): string {
  return `${tenant.toLowerCase()}|${clientId.toLowerCase()}`;
}

/** `<resource>/.default` -> resource (client credentials take only .default scopes). */
function resourceOf(scope: string): string | undefined {
  const parts = scope.split(/\s+/).filter(Boolean);
  const defaults = parts.filter((p) => p.endsWith('/.default'));
  return defaults.length === 1 ? defaults[0]!.slice(0, -'/.default'.length) : undefined;
}

function thumbprint(cert: X509Certificate, alg: 'sha1' | 'sha256'): string {
  return createHash(alg).update(cert.raw).digest('base64url');
}

function refusal(status: number, error: string, code: number, description: string): Refusal {
  return { status, error, code, description };
}

function federatedMismatch(code: number, sentence: string): Refusal {
  return refusal(400, 'invalid_client', code, `${sentence} Check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation`);
}
