/**
 * The two GKE API reads sensorfleet needs (projects.locations.clusters list and get), through
 * @google-cloud/container in REST fallback mode (HTTP/1.1 + JSON, `$alt=json;enum-encoding=int`; no
 * gRPC channel to keep alive between Lambda invocations).
 *
 * The library's own retries are switched off so every call goes through the one retry policy
 * (DESIGN §8) and every attempt is counted; RESOURCE_EXHAUSTED (HTTP 429) waits as long as the
 * error's google.rpc.RetryInfo asks (https://cloud.google.com/apis/design/errors#error_details).
 * Before a call the access token is fetched through the credential, so a credential problem surfaces
 * as its own named error instead of an opaque library error.
 */
import { v1, type protos } from '@google-cloud/container';
import { recordApiCall } from '../../runtime/call-log';
import { ExternalCallError } from '../../runtime/errors';
import { DEFAULT_RETRY, parseRetryAfter, withRetry, type RetryDecision } from '../../runtime/retry';
import type { GcpTarget } from './config';
import { googleCredential, redact, type GoogleCredential } from './credential';

export type GkeCluster = protos.google.container.v1.ICluster;

export interface GkeApi {
  /** Clusters of a project in a location ('-' = all), and the locations GKE could not answer for. */
  listClusters(projectId: string, location: string): Promise<{ clusters: GkeCluster[]; missingZones: string[] }>;
  /** The cluster, or undefined when GKE answers NOT_FOUND. */
  getCluster(projectId: string, location: string, name: string): Promise<GkeCluster | undefined>;
  credential: GoogleCredential;
}

const CALL_TIMEOUT_MS = 15_000;
/** Throttling and transient server errors (https://cloud.google.com/apis/design/errors#handling_errors). */
const RETRYABLE_HTTP = new Set([429, 500, 502, 503, 504]);

const apis = new Map<string, Promise<GkeApi>>();

export function gkeApi(target: GcpTarget): Promise<GkeApi> {
  const key = JSON.stringify([target.auth, target.endpoints]);
  let api = apis.get(key);
  if (!api) {
    api = build(target);
    api.catch(() => apis.delete(key));
    apis.set(key, api);
  }
  return api;
}

/** Tests: forget cached clients. */
export function resetGkeApis(): void {
  for (const a of apis.values()) void a.then((x) => (x as GkeApiImpl).close()).catch(() => undefined);
  apis.clear();
}

interface GkeApiImpl extends GkeApi {
  close(): Promise<void>;
}

async function build(target: GcpTarget): Promise<GkeApiImpl> {
  const credential = await googleCredential(target);
  const endpoint = new URL(target.endpoints.container);
  const client = new v1.ClusterManagerClient({
    fallback: true,
    authClient: credential.client,
    apiEndpoint: endpoint.hostname,
    port: endpoint.port ? Number(endpoint.port) : endpoint.protocol === 'http:' ? 80 : 443,
    protocol: endpoint.protocol.replace(/:$/, ''),
  } as never);
  const options = { timeout: CALL_TIMEOUT_MS, retry: { retryCodes: [] } } as never;

  const call = async <T>(operation: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await withRetry(async () => {
        await credential.accessToken();
        recordApiCall({ service: 'GKE', operation, mutating: false });
        return fn();
      }, classifyGoogleError, DEFAULT_RETRY);
    } catch (err) {
      throw asGkeError(operation, err);
    }
  };

  return {
    credential,
    async listClusters(projectId, location) {
      const [res] = await call('ListClusters', () => client.listClusters({ parent: `projects/${projectId}/locations/${location}` }, options));
      return { clusters: res.clusters ?? [], missingZones: res.missingZones ?? [] };
    },
    async getCluster(projectId, location, name) {
      try {
        const [c] = await call('GetCluster', () => client.getCluster({ name: `projects/${projectId}/locations/${location}/clusters/${name}` }, options));
        return c;
      } catch (err) {
        if (err instanceof ExternalCallError && err.status === 404) return undefined;
        throw err;
      }
    },
    close: () => client.close(),
  };
}

/**
 * What a failed call says, whichever way the library surfaced it: with an AuthClient as `auth` the
 * fallback's fetch goes through gaxios, which throws a GaxiosError (HTTP status, the Google JSON error
 * body as text); a GoogleError carries the gRPC code and decoded details instead.
 */
interface Failure {
  http?: number;
  status?: string;
  message: string;
  retryAfterMs?: number;
}

function failureOf(err: unknown): Failure {
  const e = (err ?? {}) as { status?: unknown; code?: unknown; message?: string; response?: { data?: unknown; headers?: { get?(k: string): string | null } }; statusDetails?: unknown[]; details?: unknown };
  if (e.response && typeof e.status === 'number') {
    // gaxios keeps the error body as the message (the response data of a streamed call is gone by then)
    const body = (parseJson(e.response.data) ?? parseJson(e.message)) as { error?: { status?: string; message?: string; details?: unknown[] } } | undefined;
    const retryAfter = parseRetryAfter(e.response.headers?.get?.('retry-after'));
    const retryInfo = retryDelayMs(body?.error?.details);
    return {
      http: e.status,
      ...(body?.error?.status ? { status: body.error.status } : {}),
      message: body?.error?.message ?? `HTTP ${e.status}`,
      ...(retryInfo !== undefined || retryAfter !== undefined ? { retryAfterMs: retryInfo ?? retryAfter } : {}),
    };
  }
  if (typeof e.code === 'number') {
    const http = RPC_TO_HTTP[e.code];
    const wait = retryDelayMs(e.statusDetails);
    return { ...(http ? { http } : {}), status: RPC_NAME[e.code] ?? String(e.code), message: String(e.details ?? e.message ?? ''), ...(wait !== undefined ? { retryAfterMs: wait } : {}) };
  }
  return { message: e.message ?? String(err) };
}

export function classifyGoogleError(err: unknown): RetryDecision {
  const name = (err as { name?: string }).name;
  if (name === 'GoogleCredentialError' || name === 'ConfigError') return { retry: false };
  const f = failureOf(err);
  // no HTTP status: the request never got an answer (connection reset, refused, timeout)
  if (f.http === undefined) return { retry: true };
  return RETRYABLE_HTTP.has(f.http) ? { retry: true, ...(f.retryAfterMs !== undefined ? { waitMs: f.retryAfterMs } : {}) } : { retry: false };
}

/** The library's error replaced by ours: status and Google's message, never the request (it holds the bearer token). */
function asGkeError(operation: string, err: unknown): Error {
  const name = (err as { name?: string }).name;
  if (name === 'GoogleCredentialError' || name === 'ConfigError') return err as Error;
  const f = failureOf(err);
  const retryable = f.http === undefined || RETRYABLE_HTTP.has(f.http);
  const hint = f.http === 403 ? ' (grant the service account roles/container.developer on the project)' : '';
  return new ExternalCallError(`GKE ${operation} failed${f.http ? ` (HTTP ${f.http}${f.status ? ` ${f.status}` : ''})` : ''}: ${redact(f.message)}${hint}`, retryable, f.http);
}

/** google.rpc.RetryInfo.retryDelay: "1.5s" in JSON, {seconds, nanos} once decoded. */
function retryDelayMs(details: unknown[] | undefined): number | undefined {
  for (const d of Array.isArray(details) ? details : []) {
    const delay = (d as { retryDelay?: unknown }).retryDelay;
    if (typeof delay === 'string' && /^\d+(\.\d+)?s$/.test(delay)) return Math.round(parseFloat(delay) * 1000);
    if (delay && typeof delay === 'object') {
      const { seconds, nanos } = delay as { seconds?: number | string; nanos?: number };
      return Number(seconds ?? 0) * 1000 + Math.round((nanos ?? 0) / 1e6);
    }
  }
  return undefined;
}

function parseJson(data: unknown): unknown {
  if (typeof data !== 'string') return data;
  try {
    return JSON.parse(data);
  } catch {
    return undefined;
  }
}

const RPC_NAME: Record<number, string> = { 4: 'DEADLINE_EXCEEDED', 5: 'NOT_FOUND', 7: 'PERMISSION_DENIED', 8: 'RESOURCE_EXHAUSTED', 13: 'INTERNAL', 14: 'UNAVAILABLE', 16: 'UNAUTHENTICATED' };
const RPC_TO_HTTP: Record<number, number> = { 3: 400, 4: 504, 5: 404, 7: 403, 8: 429, 9: 400, 13: 500, 14: 503, 16: 401 };
