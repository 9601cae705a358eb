import axios, { type AxiosInstance } from 'axios';
import type { z } from 'zod';
import { gatewayUrl } from '../config/qualys-platforms';
import { recordApiCall } from '../runtime/call-log';
import { backoffDelay, withRetry, type RetryPolicy } from '../runtime/retry';
import { isJwtExpired, TokenSource, type QualysCredentials } from './auth';
import { QualysApiError, QualysAuthError, QualysNetworkError, QualysResponseError } from './errors';
import { RateBudget, readRateLimitHeaders } from './rate-limit';
import { errorBodySchema } from './schemas';

export const API_PREFIX = '/csapi/v1.3';

export interface QualysClientOptions {
  /** Explicit gateway URL; else derived from `platform`. */
  baseUrl?: string;
  platform?: string;
  credentials: QualysCredentials;
  timeoutMs: number;
  retry: RetryPolicy;
  budget: RateBudget;
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface QualysRequest<S extends z.ZodTypeAny> {
  /** Name in call logs and errors, e.g. "listSensors". */
  operation: string;
  method: HttpMethod;
  /** Path under /csapi/v1.3. */
  path: string;
  query?: Record<string, string | number | string[] | undefined>;
  body?: unknown;
  schema: S;
  /**
   * Retry after a 5xx or network failure. False for creates: the server may have acted before
   * failing, so the caller verifies and retries itself (nothing is created twice).
   */
  retryAmbiguous?: boolean;
}

export interface QualysResponse<T> {
  status: number;
  /** undefined on 204 No Content. */
  data: T | undefined;
}

/**
 * HTTP transport to the CS API gateway: bearer JWT, one shared rate budget, the one retry policy
 * (jittered backoff; 409/429 wait ToWait-Sec; one refresh on 401 "JWT expired"), a timeout on every
 * call, every attempt recorded, answers validated with zod.
 */
export class QualysClient {
  private readonly http: AxiosInstance;
  private readonly tokens: TokenSource;

  constructor(private readonly opts: QualysClientOptions) {
    const baseURL = (opts.baseUrl ?? gatewayUrl(opts.platform ?? 'US2')).replace(/\/+$/, '');
    this.http = axios.create({
      baseURL,
      timeout: opts.timeoutMs,
      validateStatus: () => true,
      responseType: 'text',
      transformResponse: (d: unknown) => d,
      paramsSerializer: { indexes: null }, // sensorIds=a&sensorIds=b (DOCS-SENSOR-DEL)
      maxRedirects: 0,
    });
    this.tokens = new TokenSource(this.http, opts.credentials);
  }

  get budget(): RateBudget {
    return this.opts.budget;
  }

  get authCalls(): number {
    return this.tokens.authCalls;
  }

  async request<S extends z.ZodTypeAny>(req: QualysRequest<S>): Promise<QualysResponse<z.infer<S>>> {
    let refreshedAfterExpiry = false;
    return withRetry(
      async (attempt) => {
        const release = await this.opts.budget.acquire();
        let res;
        let jwt = '';
        try {
          jwt = await this.tokens.bearer();
          recordApiCall({ service: 'qualys', operation: req.operation, mutating: req.method !== 'GET' });
          res = await this.http.request({
            method: req.method,
            url: `${API_PREFIX}${req.path}`,
            params: req.query,
            data: req.body === undefined ? undefined : JSON.stringify(req.body),
            headers: { Authorization: `Bearer ${jwt}`, Accept: 'application/json', ...(req.body === undefined ? {} : { 'Content-Type': 'application/json' }) },
          });
        } catch (err) {
          if (err instanceof QualysAuthError || err instanceof QualysNetworkError) throw err;
          throw new QualysNetworkError(req.operation, (err as { code?: string }).code ?? 'ERROR');
        } finally {
          release();
        }
        const limits = readRateLimitHeaders(res.headers as Record<string, unknown>);
        const body = parseBody(res.data);
        if (res.status === 409 || res.status === 429) {
          this.opts.budget.refused(limits, backoffDelay(attempt, this.opts.retry) + this.opts.retry.baseDelayMs);
          throw new QualysApiError(req.operation, res.status, 'rate limited', true);
        }
        this.opts.budget.observe(limits);
        if (isJwtExpired(res.status, body) && !refreshedAfterExpiry) {
          refreshedAfterExpiry = true;
          await this.tokens.invalidate(jwt);
          throw new QualysApiError(req.operation, 401, 'JWT expired', true);
        }
        if (res.status === 204) return { status: 204, data: undefined };
        if (res.status >= 200 && res.status < 300) {
          const parsed = req.schema.safeParse(body);
          if (!parsed.success) throw new QualysResponseError(`Qualys ${req.operation} answered an unexpected shape: ${parsed.error.issues[0]?.message ?? 'invalid'} at ${parsed.error.issues[0]?.path.join('.') ?? ''}`);
          return { status: res.status, data: parsed.data };
        }
        throw new QualysApiError(req.operation, res.status, errorDetail(body), res.status >= 500);
      },
      (err) => ({ retry: this.isRetryable(err, req) }),
      this.opts.retry,
    );
  }

  private isRetryable(err: unknown, req: QualysRequest<z.ZodTypeAny>): boolean {
    if (err instanceof QualysApiError) {
      if (err.status === 409 || err.status === 429) return true; // refused before it ran
      if (err.status === 401) return err.retryable; // once, after a refresh
      return err.retryable && req.retryAmbiguous !== false;
    }
    if (err instanceof QualysNetworkError) return req.retryAmbiguous !== false || err.code === 'ECONNREFUSED';
    return false;
  }
}

function parseBody(raw: unknown): unknown {
  if (typeof raw !== 'string' || raw.length === 0) return raw;
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** The server's `message`, shortened; never request data. */
function errorDetail(body: unknown): string {
  const parsed = errorBodySchema.safeParse(body);
  const text = parsed.success ? (parsed.data.message ?? parsed.data.errorMessage ?? '') : typeof body === 'string' ? body : '';
  return text.slice(0, 200);
}
