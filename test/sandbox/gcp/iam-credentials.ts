import type { IncomingMessage, ServerResponse } from 'node:http';
import { GoogleApiError, permissionDenied, rateLimited, sendGoogleError, sendJson, unauthenticated } from './google-errors';
import { bearerOf, readBody, type GoogleFaults, type RecordedGoogleRequest } from './https';
import type { GoogleIdentity } from './identity';

/**
 * IAM Service Account Credentials API, `POST /v1/projects/-/serviceAccounts/{email}:generateAccessToken`
 * (https://cloud.google.com/iam/docs/reference/credentials/rest/v1/projects.serviceAccounts/generateAccessToken):
 * the caller's bearer (here a federated token from STS) must belong to a principal allowed to
 * impersonate the service account (roles/iam.workloadIdentityUser); body {scope[], lifetime "3600s",
 * delegates?}; answer {accessToken, expireTime}. A refusal is Google's
 * "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist)." (403),
 * the same whether the account is missing or the binding is.
 */
const PATH = /^\/v1\/projects\/-\/serviceAccounts\/([^/:]+):generateAccessToken$/;
const MAX_LIFETIME_SECONDS = 3600;

export interface IamCredentialsDeps {
  identity: GoogleIdentity;
  faults: GoogleFaults;
  requests: RecordedGoogleRequest[];
}

export function iamCredentialsHandler(d: IamCredentialsDeps) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'https://iamcredentials').pathname;
    const entry: RecordedGoogleRequest = { method: req.method ?? 'GET', path, status: 0 };
    d.requests.push(entry);
    if (d.faults.latencyMs) await new Promise((r) => setTimeout(r, d.faults.latencyMs));
    try {
      const fail = d.faults.failNext;
      if (fail && fail.count > 0) {
        fail.count--;
        if (fail.status === 429) throw rateLimited('iamcredentials.googleapis.com', fail.retryAfterSeconds ?? 1);
        throw new GoogleApiError(fail.status === 500 ? 'INTERNAL' : 'UNAVAILABLE', fail.status === 500 ? 'Internal error encountered.' : 'The service is currently unavailable.');
      }
      const m = PATH.exec(path);
      if (req.method !== 'POST' || !m) throw new GoogleApiError('NOT_FOUND', `The requested URL ${path} was not found on this server.`);
      const caller = d.identity.verify(bearerOf(req));
      if (!caller) throw unauthenticated();
      entry.principal = caller.principal;
      const email = decodeURIComponent(m[1]!);
      const body = JSON.parse((await readBody(req)) || '{}') as { scope?: string[]; lifetime?: string; delegates?: string[] };
      if (!Array.isArray(body.scope) || body.scope.length === 0) throw new GoogleApiError('INVALID_ARGUMENT', 'Scope required.');
      const lifetime = body.lifetime ? Number(/^(\d+(?:\.\d+)?)s$/.exec(body.lifetime)?.[1] ?? NaN) : MAX_LIFETIME_SECONDS;
      if (!Number.isFinite(lifetime) || lifetime <= 0 || lifetime > MAX_LIFETIME_SECONDS) {
        throw new GoogleApiError('INVALID_ARGUMENT', `The lifetime must be greater than 0 and at most ${MAX_LIFETIME_SECONDS} seconds.`);
      }
      if (!caller.scopes.some((s) => s === 'https://www.googleapis.com/auth/cloud-platform' || s === 'https://www.googleapis.com/auth/iam')) {
        throw new GoogleApiError('PERMISSION_DENIED', 'Request had insufficient authentication scopes.');
      }
      if (!d.identity.serviceAccountExists(email) || !d.identity.mayImpersonate(caller.principal, email)) {
        throw permissionDenied("Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).", 'iam.googleapis.com', 'iam.serviceAccounts.getAccessToken');
      }
      const { token, expiresAt } = d.identity.issue({ principal: email, scopes: body.scope, kind: 'service-account' }, lifetime);
      entry.status = 200;
      sendJson(res, 200, { accessToken: token, expireTime: new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z') });
    } catch (e) {
      const err = e instanceof GoogleApiError ? e : new GoogleApiError('INVALID_ARGUMENT', (e as Error).message);
      entry.status = err.http;
      sendGoogleError(res, err);
    }
  };
}
