/**
 * A thin Kubernetes REST client over node:https.
 *
 * Why not @kubernetes/client-node: it bundles to 967 KB minified on its own, and every Lambda bundle
 * must stay under 1 MB (DESIGN §7). sensorfleet needs six verbs on a dozen kinds, so it speaks the
 * REST API directly (https://kubernetes.io/docs/reference/using-api/api-concepts/):
 *   get/list (labelSelector, fieldSelector, continue tokens), create (POST), server-side apply
 *   (PATCH application/apply-patch+yaml with a JSON body, fieldManager, force, dryRun=All),
 *   merge patch (application/merge-patch+json) and delete.
 * TLS is always verified against the cluster CA the cloud API reports; there is no switch to turn it off.
 * The client authenticates with a bearer token, a TLS client certificate (AKS local accounts: the
 * kubeconfig of listClusterUserCredential carries client-certificate-data/client-key-data), or both
 * (https://kubernetes.io/docs/reference/access-authn-authz/authentication/#x509-client-certificates).
 * Every attempt has a timeout, goes through the one retry policy (429/5xx/connection errors, honouring
 * Retry-After) and is counted with recordApiCall.
 */
import https from 'node:https';
import { createSecureContext } from 'node:tls';
import { recordApiCall } from '../../runtime/call-log';
import { DEFAULT_RETRY, parseRetryAfter, withRetry, type RetryPolicy } from '../../runtime/retry';
import { ConfigError, SensorfleetError } from '../../runtime/errors';
import { KubeApiError, KubeConnectionError } from './errors';
import { RequestBudget, type RequestBudgetSpec } from './request-budget';
import { collectionPath, kindInfo, objectPath } from './resources';
import { FIELD_MANAGER, type KubeObject, type ObjectRef } from './types';

export interface KubeClientConfig {
  /** API server URL as the cloud reports it; may include a path prefix (https://host/k8s/clusters/x). */
  server: string;
  /** PEM of the CA that signed the API server's certificate. */
  caPem: string;
  /** Bearer token, asked for on every attempt so short-lived tokens are refreshed by their provider. */
  token?: () => Promise<string>;
  /** TLS client certificate and its private key (PEM); presented in the TLS handshake. */
  clientCertificate?: { certPem: string; keyPem: string };
  /** Appended to a 401 error: what to check for this cloud, e.g. "check the cluster access entry for the sensorfleet role". */
  unauthorizedHint?: string;
  timeoutMs?: number;
  retry?: RetryPolicy;
  /** Client-side request budget for this API server (default: request-budget.ts). */
  requestBudget?: RequestBudgetSpec;
}

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Page size; the client follows `continue` tokens until the list is complete. */
  limit?: number;
}

export interface ApplyOptions {
  force?: boolean;
  dryRun?: boolean;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const MAX_BODY_BYTES = 32 * 1024 * 1024;

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export class KubeClient {
  private readonly base: URL;
  private readonly agent: https.Agent;
  private readonly timeoutMs: number;
  private readonly retry: RetryPolicy;
  private readonly budget: RequestBudget;

  constructor(private readonly config: KubeClientConfig) {
    this.base = new URL(config.server);
    if (this.base.protocol !== 'https:') throw new Error(`Kubernetes API server ${config.server} must be https`);
    const cert = config.clientCertificate;
    if (!config.token && !cert) throw new ConfigError(`Kubernetes client for ${config.server}: give a bearer token provider or a client certificate (neither was given)`);
    if (cert) checkClientCertificate(config.server, cert);
    this.agent = new https.Agent({ ...tlsOptions(config.caPem, cert), keepAlive: true, maxSockets: 4 });
    this.timeoutMs = config.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.retry = config.retry ?? DEFAULT_RETRY;
    this.budget = new RequestBudget(config.requestBudget);
  }

  /** The object, or undefined when the API server answers 404. */
  async get<T extends KubeObject = KubeObject>(ref: ObjectRef): Promise<T | undefined> {
    const info = kindInfo(ref.apiVersion, ref.kind);
    try {
      return await this.call<T>('GET', objectPath(info, ref.name, ref.namespace), {}, `get ${info.plural}`);
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  async list<T extends KubeObject = KubeObject>(apiVersion: string, kind: string, options: ListOptions = {}): Promise<T[]> {
    const info = kindInfo(apiVersion, kind);
    const items: T[] = [];
    let cont: string | undefined;
    do {
      const query: Record<string, string> = {};
      if (options.labelSelector) query.labelSelector = options.labelSelector;
      if (options.fieldSelector) query.fieldSelector = options.fieldSelector;
      if (options.limit) query.limit = String(options.limit);
      if (cont) query.continue = cont;
      const page = await this.call<{ items?: T[]; metadata?: { continue?: string } }>('GET', collectionPath(info, options.namespace), query, `list ${info.plural}`);
      // list items carry no apiVersion/kind on the wire; put them back so callers can treat items as objects
      for (const item of page.items ?? []) items.push({ ...item, apiVersion, kind });
      cont = page.metadata?.continue || undefined;
    } while (cont);
    return items;
  }

  /**
   * Create (POST to the collection): fails with 409 AlreadyExists when an object of that name exists,
   * which server-side apply never does. The API server records the creator as an Update manager.
   */
  async create<T extends KubeObject = KubeObject>(obj: KubeObject): Promise<T> {
    const info = kindInfo(obj.apiVersion, obj.kind);
    const path = collectionPath(info, obj.metadata.namespace);
    return this.call<T>('POST', path, { fieldManager: FIELD_MANAGER }, `create ${info.plural}`, { contentType: 'application/json', body: obj });
  }

  /** Server-side apply: the body is the complete intent of our field manager for this object. */
  async apply<T extends KubeObject = KubeObject>(obj: KubeObject, options: ApplyOptions = {}): Promise<T> {
    const info = kindInfo(obj.apiVersion, obj.kind);
    const query: Record<string, string> = { fieldManager: FIELD_MANAGER };
    if (options.force) query.force = 'true';
    if (options.dryRun) query.dryRun = 'All';
    const path = objectPath(info, obj.metadata.name, obj.metadata.namespace);
    return this.call<T>('PATCH', path, query, `apply ${info.plural}`, { contentType: 'application/apply-patch+yaml', body: obj, dryRun: options.dryRun });
  }

  /** JSON merge patch (RFC 7386). */
  async patch<T extends KubeObject = KubeObject>(ref: ObjectRef, patch: unknown): Promise<T> {
    const info = kindInfo(ref.apiVersion, ref.kind);
    const query = { fieldManager: FIELD_MANAGER };
    return this.call<T>('PATCH', objectPath(info, ref.name, ref.namespace), query, `patch ${info.plural}`, { contentType: 'application/merge-patch+json', body: patch });
  }

  /** Deletes the object; false when it was already gone. */
  async delete(ref: ObjectRef): Promise<boolean> {
    const info = kindInfo(ref.apiVersion, ref.kind);
    try {
      await this.call('DELETE', objectPath(info, ref.name, ref.namespace), {}, `delete ${info.plural}`);
      return true;
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return false;
      throw err;
    }
  }

  /** Closes kept-alive connections (the engine calls this when a cluster's reconcile ends); idempotent. */
  close(): void {
    this.agent.destroy();
  }

  private async call<T>(
    method: string,
    path: string,
    query: Record<string, string>,
    operation: string,
    send?: { contentType: string; body: unknown; dryRun?: boolean },
  ): Promise<T> {
    const url = new URL(this.base.toString());
    url.pathname = `${this.base.pathname.replace(/\/+$/, '')}${path}`;
    url.search = new URLSearchParams(query).toString();
    const payload = send ? JSON.stringify(send.body) : undefined;
    // a dry run changes nothing, so it is not counted as a write
    const mutating = method !== 'GET' && !send?.dryRun;
    const response = await withRetry(
      async () => {
        // every attempt, retries included, spends from the cluster's request budget
        await this.budget.take();
        recordApiCall({ service: 'kubernetes', operation, mutating });
        const token = this.config.token ? await this.config.token() : undefined;
        const res = await this.send(method, url, token, payload, send?.contentType);
        if (res.status >= 200 && res.status < 300) return res;
        throw KubeApiError.fromResponse(method, url.pathname, res.status, res.body, retryAfterOf(res.headers['retry-after']), this.config.unauthorizedHint);
      },
      classify,
      this.retry,
    );
    return (response.body ? JSON.parse(response.body) : {}) as T;
  }

  private send(method: string, url: URL, token: string | undefined, payload: string | undefined, contentType: string | undefined): Promise<RawResponse> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = { Accept: 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) };
      if (payload !== undefined) {
        headers['Content-Type'] = contentType ?? 'application/json';
        headers['Content-Length'] = Buffer.byteLength(payload);
      }
      const req = https.request(url, { method, headers, agent: this.agent, timeout: this.timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_BODY_BYTES) req.destroy(new KubeConnectionError(`${method} ${url.pathname}: response larger than ${MAX_BODY_BYTES} bytes`));
          else chunks.push(c);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (e) => reject(new KubeConnectionError(`${method} ${url.pathname}: ${e.message}`)));
      });
      req.on('timeout', () => req.destroy(new KubeConnectionError(`${method} ${url.pathname}: no answer within ${this.timeoutMs} ms`)));
      req.on('error', (e) => reject(e instanceof KubeConnectionError ? e : new KubeConnectionError(`${method} ${url.pathname}: ${e.message}`)));
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }
}

/**
 * One TLS context for all of the agent's sockets, so the CA (and client certificate) are parsed once, not
 * per connection. PEM that does not load is left to the handshake, which fails each request as before.
 */
function tlsOptions(caPem: string, cert: KubeClientConfig['clientCertificate']): https.AgentOptions {
  const options = { ca: caPem, ...(cert ? { cert: cert.certPem, key: cert.keyPem } : {}) };
  try {
    return { secureContext: createSecureContext(options) };
  } catch {
    return options;
  }
}

/** A certificate/key pair that does not load fails here with a clear message instead of at every TLS handshake. */
function checkClientCertificate(server: string, cert: { certPem: string; keyPem: string }): void {
  try {
    createSecureContext({ cert: cert.certPem, key: cert.keyPem });
  } catch (err) {
    // OpenSSL's message names the problem (no start line, key values mismatch), never the key itself
    throw new SensorfleetError(`Kubernetes client certificate for ${server} is not usable: ${(err as Error).message}`);
  }
}

function retryAfterOf(value: string | string[] | undefined): number | undefined {
  return parseRetryAfter(Array.isArray(value) ? value[0] : value);
}

function classify(err: unknown): { retry: boolean; waitMs?: number } {
  if (err instanceof KubeConnectionError) return { retry: true };
  if (err instanceof KubeApiError && (err.status === 429 || err.status >= 500)) {
    return { retry: true, ...(err.retryAfterMs !== undefined ? { waitMs: err.retryAfterMs } : {}) };
  }
  return { retry: false };
}
