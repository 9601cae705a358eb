/**
 * Google's two error shapes, as the stand-ins answer them:
 * - JSON APIs (GKE, IAM Credentials): `{"error":{"code":<http>,"message":"…","status":"<google.rpc.Code name>","details":[…]}}`
 *   (https://cloud.google.com/apis/design/errors#http_mapping);
 * - OAuth token endpoints (STS): `{"error":"invalid_grant","error_description":"…"}` (RFC 6749 §5.2, which
 *   https://cloud.google.com/iam/docs/reference/sts/rest/v1/TopLevel/token follows).
 */
import type { ServerResponse } from 'node:http';

export type GoogleStatus =
  | 'INVALID_ARGUMENT'
  | 'UNAUTHENTICATED'
  | 'PERMISSION_DENIED'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'FAILED_PRECONDITION'
  | 'RESOURCE_EXHAUSTED'
  | 'INTERNAL'
  | 'UNAVAILABLE';

export const HTTP_OF: Record<GoogleStatus, number> = {
  INVALID_ARGUMENT: 400,
  FAILED_PRECONDITION: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  RESOURCE_EXHAUSTED: 429,
  INTERNAL: 500,
  UNAVAILABLE: 503,
};

export class GoogleApiError extends Error {
  constructor(
    readonly status: GoogleStatus,
    message: string,
    readonly details: unknown[] = [],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  get http(): number {
    return HTTP_OF[this.status];
  }

  body(): unknown {
    return { error: { code: this.http, message: this.message, status: this.status, ...(this.details.length ? { details: this.details } : {}) } };
  }
}

/** The answer Google's front ends give a request without a usable access token. */
export function unauthenticated(): GoogleApiError {
  return new GoogleApiError(
    'UNAUTHENTICATED',
    'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
    [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'ACCESS_TOKEN_TYPE_UNSUPPORTED', domain: 'googleapis.com' }],
    { 'www-authenticate': 'Bearer realm="https://accounts.google.com/"' },
  );
}

export function permissionDenied(message: string, domain: string, permission: string): GoogleApiError {
  return new GoogleApiError('PERMISSION_DENIED', message, [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'IAM_PERMISSION_DENIED', domain, metadata: { permission } }]);
}

/** 429 as Google APIs send it: ErrorInfo RATE_LIMIT_EXCEEDED plus RetryInfo, and a Retry-After header. */
export function rateLimited(service: string, retryAfterSeconds: number): GoogleApiError {
  return new GoogleApiError(
    'RESOURCE_EXHAUSTED',
    `Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute per user' of service '${service}'.`,
    [
      { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'RATE_LIMIT_EXCEEDED', domain: 'googleapis.com', metadata: { service, quota_metric: `${service}/read_requests` } },
      { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${retryAfterSeconds}s` },
    ],
    { 'retry-after': String(retryAfterSeconds) },
  );
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(payload), vary: 'Origin, X-Origin, Referer', ...headers });
  res.end(payload);
}

export function sendGoogleError(res: ServerResponse, err: GoogleApiError): void {
  sendJson(res, err.http, err.body(), err.headers);
}

/** An OAuth error of the STS token endpoint. */
export class OAuthError extends Error {
  constructor(
    readonly error: 'invalid_request' | 'invalid_grant' | 'invalid_target' | 'unsupported_grant_type' | 'invalid_scope',
    readonly description: string,
    readonly http = 400,
  ) {
    super(description);
  }
}
