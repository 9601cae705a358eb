import { type ResourceType, qualifiedResource } from './resources';

/**
 * metav1.Status failure bodies, shaped like the real API server's
 * (https://kubernetes.io/docs/reference/using-api/api-concepts/#response-status-kind and
 * k8s.io/apimachinery/pkg/api/errors). Thrown as KubeError and serialised by http.ts.
 */
export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message?: string;
  reason?: string;
  details?: { name?: string; group?: string; kind?: string; uid?: string; causes?: StatusCause[]; retryAfterSeconds?: number };
  code: number;
}

export class KubeError extends Error {
  override name = 'KubeError';
  constructor(
    readonly body: StatusBody,
    readonly headers: Record<string, string> = {},
  ) {
    super(body.message ?? body.reason ?? String(body.code));
  }
  get code(): number {
    return this.body.code;
  }
}

function failure(code: number, reason: string | undefined, message: string, details?: StatusBody['details']): StatusBody {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    ...(reason ? { reason } : {}),
    ...(details ? { details } : {}),
    code,
  };
}

function detailsFor(t: ResourceType, name: string): NonNullable<StatusBody['details']> {
  // the real server reports the plural resource name in `kind` for NotFound/AlreadyExists/Conflict
  return { name, ...(t.group ? { group: t.group } : {}), kind: t.plural };
}

export const errors = {
  notFound: (t: ResourceType, name: string) =>
    new KubeError(failure(404, 'NotFound', `${qualifiedResource(t)} "${name}" not found`, detailsFor(t, name))),
  namespaceNotFound: (ns: string) =>
    new KubeError(failure(404, 'NotFound', `namespaces "${ns}" not found`, { name: ns, kind: 'namespaces' })),
  /** A path the server does not serve: the real server answers a bare 404 "the server could not find the requested resource". */
  noRoute: () => new KubeError(failure(404, 'NotFound', 'the server could not find the requested resource', { causes: [{ reason: 'UnexpectedServerResponse', message: '404 page not found' }] })),
  alreadyExists: (t: ResourceType, name: string) =>
    new KubeError(failure(409, 'AlreadyExists', `${qualifiedResource(t)} "${name}" already exists`, detailsFor(t, name))),
  conflict: (t: ResourceType, name: string) =>
    new KubeError(
      failure(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedResource(t)} "${name}": the object has been modified; please apply your changes to the latest version and try again`, detailsFor(t, name)),
    ),
  applyConflict: (message: string, causes: StatusCause[]) => new KubeError(failure(409, 'Conflict', message, { causes })),
  /** 422: `<Kind>.<group> "<name>" is invalid: <field>: <detail>, ...`. */
  invalid: (t: ResourceType, name: string, causes: { field: string; type: string; detail: string }[]) =>
    new KubeError(
      failure(422, 'Invalid', `${t.kind}${t.group ? `.${t.group}` : ''} "${name}" is invalid: ${causes.map((c) => `${c.field}: ${c.detail}`).join(', ')}`, {
        name,
        ...(t.group ? { group: t.group } : {}),
        kind: t.kind,
        causes: causes.map((c) => ({ reason: c.type, message: c.detail, field: c.field })),
      }),
    ),
  badRequest: (message: string) => new KubeError(failure(400, 'BadRequest', message)),
  unauthorized: () => new KubeError(failure(401, 'Unauthorized', 'Unauthorized')),
  methodNotSupported: (t: ResourceType | undefined, verb: string) =>
    new KubeError(failure(405, 'MethodNotAllowed', `${verb} is not supported on resources of kind "${t?.plural ?? 'unknown'}"`, t ? { ...(t.group ? { group: t.group } : {}), kind: t.plural } : undefined)),
  unsupportedMediaType: (ct: string) => new KubeError(failure(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got ${ct})`)),
  /** 410 Gone: a resourceVersion older than the retained history (etcd compaction, the watch cache's window). */
  expired: (message: string) => new KubeError(failure(410, 'Expired', message)),
  /** storage.NewTooLargeResourceVersionError: the server has not seen that resourceVersion (yet). */
  tooLargeResourceVersion: (requested: number, current: number) =>
    new KubeError(failure(504, 'Timeout', `Timeout: Too large resource version: ${requested}, current: ${current}`, { causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }], retryAfterSeconds: 1 }), { 'retry-after': '1' }),
  /** failNext faults: 429 TooManyRequests / 5xx with Retry-After, like API Priority and Fairness or an overloaded server. */
  injected: (code: number, retryAfterSeconds?: number) => {
    const reason = code === 429 ? 'TooManyRequests' : code === 503 ? 'ServiceUnavailable' : code === 504 ? 'Timeout' : code >= 500 ? 'InternalError' : undefined;
    const message = code === 429 ? 'Too many requests, please try again later.' : code >= 500 ? 'the server is currently unable to handle the request' : 'injected failure';
    const details = retryAfterSeconds !== undefined ? { retryAfterSeconds } : undefined;
    return new KubeError(failure(code, reason, message, details), retryAfterSeconds !== undefined ? { 'retry-after': String(retryAfterSeconds) } : {});
  },
};

export function successStatus(t: ResourceType, name: string, uid: string): StatusBody {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, ...(t.group ? { group: t.group } : {}), kind: t.plural, uid }, code: 200 };
}
