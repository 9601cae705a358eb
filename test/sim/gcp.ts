/**
 * Light Google stand-ins for the fan-out simulation, answering what shared/platforms/gke/ calls (wire
 * format as test/sandbox/gcp plays it):
 *  - GKE API (https://container.sim.invalid), REST fallback of @google-cloud/container:
 *    GET /v1/projects/{p}/locations/{l}/clusters (`-` = every location; {clusters, missingZones}) and
 *    GET /v1/projects/{p}/locations/{l}/clusters/{name}; `$alt=json;enum-encoding=int` makes enums numbers
 *    (status 2 = RUNNING); errors are Google's {error: {code, message, status}}; a bearer token is required.
 *  - Google STS (https://sts.sim.invalid): POST /v1/token, RFC 8693 token exchange, form-encoded
 *    (grant_type, audience, scope, requested_token_type, subject_token, subject_token_type) ->
 *    {access_token, issued_token_type, token_type, expires_in}; OAuth errors {error, error_description}.
 *  - IAM Credentials (https://iamcredentials.sim.invalid): POST
 *    /v1/projects/-/serviceAccounts/{email}:generateAccessToken {scope, lifetime} -> {accessToken, expireTime}.
 * Rate limits (test/sim/limits.ts): the Kubernetes Engine API quota per project (429 RESOURCE_EXHAUSTED
 * with google.rpc.RetryInfo), and assumed budgets for the two token services.
 */
import type { SimReply } from './aws-json';
import type { RateLimits } from './rate-limit';

export const GKE_LATENCY_MS = 70;
export const GOOGLE_TOKEN_LATENCY_MS = 60;
const STATUS_RUNNING = 2;
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';

export interface SimGkeCluster {
  project: string;
  location: string;
  name: string;
  /** Host of the Kubernetes stand-in (GKE reports the endpoint without a scheme). */
  endpoint: string;
  caPem: string;
  labels?: Record<string, string>;
}

export class SimGke {
  private readonly byProject = new Map<string, SimGkeCluster[]>();

  constructor(
    readonly host: string,
    private readonly limits: RateLimits,
  ) {}

  add(c: SimGkeCluster): void {
    let list = this.byProject.get(c.project);
    if (!list) this.byProject.set(c.project, (list = []));
    list.push(c);
  }

  handle(method: string, url: URL, authorization: string | undefined): SimReply {
    if (!authorization?.startsWith('Bearer ')) return googleError(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.');
    const m = /^\/v1\/projects\/([^/]+)\/locations\/([^/]+)\/clusters(?:\/([^/:]+))?$/.exec(url.pathname);
    if (!m || method !== 'GET') return googleError(404, 'NOT_FOUND', `Method not found: ${method} ${url.pathname}`);
    const [, project, location, name] = m;
    if (!this.limits.admit('gke.api', project!)) {
      return { ...googleError(429, 'RESOURCE_EXHAUSTED', "Quota exceeded for quota metric 'Requests' and limit 'Requests per minute' of service 'container.googleapis.com'.", [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '2s' }]) };
    }
    const ints = (url.searchParams.get('$alt') ?? '').split(';').includes('enum-encoding=int');
    const all = this.byProject.get(project!) ?? [];
    if (!name) {
      const clusters = all.filter((c) => location === '-' || c.location === location).map((c) => this.clusterJson(c, ints));
      return json(200, { clusters });
    }
    const c = all.find((x) => x.name === name && (location === '-' || x.location === location));
    if (!c) return googleError(404, 'NOT_FOUND', `Not found: projects/${project}/locations/${location}/clusters/${name}.`);
    return json(200, this.clusterJson(c, ints));
  }

  private clusterJson(c: SimGkeCluster, ints: boolean): unknown {
    return {
      name: c.name,
      location: c.location,
      zone: c.location,
      selfLink: `https://${this.host}/v1/projects/${c.project}/locations/${c.location}/clusters/${c.name}`,
      status: ints ? STATUS_RUNNING : 'RUNNING',
      endpoint: c.endpoint,
      masterAuth: { clusterCaCertificate: Buffer.from(c.caPem).toString('base64') },
      currentMasterVersion: '1.32.4-gke.1000',
      currentNodeVersion: '1.32.4-gke.1000',
      resourceLabels: c.labels ?? {},
      autopilot: { enabled: false },
    };
  }
}

/** Google STS and IAM Credentials: the two token exchanges of workload identity federation. */
export class SimGoogleTokens {
  exchanges = 0;
  impersonations = 0;

  constructor(
    readonly stsHost: string,
    readonly iamHost: string,
    private readonly limits: RateLimits,
    /** The provider audience STS accepts (//iam.googleapis.com/projects/<n>/locations/global/workloadIdentityPools/<p>/providers/<p>). */
    private readonly audience: string,
  ) {}

  handle(host: string, method: string, url: URL, body: string | undefined, authorization: string | undefined): SimReply {
    if (host === this.stsHost) return this.exchange(method, url, body);
    if (host === this.iamHost) return this.impersonate(method, url, body, authorization);
    return googleError(404, 'NOT_FOUND', `no service at ${host}`);
  }

  private exchange(method: string, url: URL, body: string | undefined): SimReply {
    if (method !== 'POST' || url.pathname !== '/v1/token') return googleError(404, 'NOT_FOUND', `${method} ${url.pathname}`);
    if (!this.limits.admit('google.sts', 'global')) return { ...json(429, { error: 'rate_limit_exceeded', error_description: 'Too many token exchange requests.' }), headers: { 'content-type': 'application/json', 'retry-after': '1' } };
    const form = new URLSearchParams(body ?? '');
    if (form.get('grant_type') !== TOKEN_EXCHANGE) return json(400, { error: 'unsupported_grant_type', error_description: `Invalid value for "grant_type". Must be ${TOKEN_EXCHANGE}.` });
    if (form.get('audience') !== this.audience) return json(400, { error: 'invalid_target', error_description: 'The target service indicated by the "audience" parameters is invalid.' });
    if (!form.get('subject_token')) return json(400, { error: 'invalid_request', error_description: 'Missing subject_token.' });
    this.exchanges++;
    return json(200, { access_token: `ya29.sim-federated-${this.exchanges}`, issued_token_type: 'urn:ietf:params:oauth:token-type:access_token', token_type: 'Bearer', expires_in: 3600 });
  }

  private impersonate(method: string, url: URL, body: string | undefined, authorization: string | undefined): SimReply {
    const m = /^\/v1\/projects\/-\/serviceAccounts\/([^/:]+):generateAccessToken$/.exec(url.pathname);
    if (method !== 'POST' || !m) return googleError(404, 'NOT_FOUND', `${method} ${url.pathname}`);
    if (!authorization?.startsWith('Bearer ya29.sim-federated-')) return googleError(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials.');
    if (!this.limits.admit('google.iamcredentials', decodeURIComponent(m[1]!))) return googleError(429, 'RESOURCE_EXHAUSTED', "Quota exceeded for quota metric 'Generate credentials requests'.", [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '1s' }]);
    let req: { scope?: string[] };
    try {
      req = JSON.parse(body ?? '{}');
    } catch {
      return googleError(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.');
    }
    if (!req.scope?.length) return googleError(400, 'INVALID_ARGUMENT', 'Scope required.');
    this.impersonations++;
    return json(200, { accessToken: `ya29.sim-sa-${this.impersonations}`, expireTime: new Date(Date.now() + 3600_000).toISOString().replace(/\.\d{3}Z$/, 'Z') });
  }
}

function json(status: number, body: unknown): SimReply {
  return { status, body: JSON.stringify(body), headers: { 'content-type': 'application/json; charset=UTF-8' } };
}

function googleError(code: number, status: string, message: string, details?: unknown[]): SimReply {
  return json(code, { error: { code, message, status, ...(details ? { details } : {}) } });
}
