import { SensorfleetError } from '../../runtime/errors';

/**
 * A Kubernetes API server answered with an error. status/reason/message come from the metav1.Status
 * body (https://kubernetes.io/docs/reference/using-api/api-concepts/#response-status-kind); the request's
 * token is never part of it.
 */
export class KubeApiError extends SensorfleetError {
  override name = 'KubeApiError';
  constructor(
    message: string,
    readonly status: number,
    readonly reason: string | undefined,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }

  /** `unauthorizedHint`: what to check on a 401 for this cloud (the cloud adapter knows). */
  static fromResponse(method: string, path: string, status: number, body: string, retryAfterMs?: number, unauthorizedHint?: string): KubeApiError {
    let parsed: { kind?: string; reason?: string; message?: string; details?: { retryAfterSeconds?: number } } | undefined;
    try {
      parsed = JSON.parse(body);
    } catch {
      parsed = undefined;
    }
    const isStatus = parsed?.kind === 'Status';
    const reason = isStatus ? parsed?.reason : undefined;
    const text = isStatus && parsed?.message ? parsed.message : body.slice(0, 200).trim() || `HTTP ${status}`;
    const wait = retryAfterMs ?? (isStatus && parsed?.details?.retryAfterSeconds !== undefined ? parsed.details.retryAfterSeconds * 1000 : undefined);
    const hint = status === 401 ? ` (the cluster refused our credentials${unauthorizedHint ? `: ${unauthorizedHint}` : ''})` : status === 403 ? ' (our identity lacks RBAC permission for this)' : '';
    return new KubeApiError(`${method} ${path}: ${status}${reason ? ` ${reason}` : ''}: ${text}${hint}`, status, reason, wait);
  }
}

/** No answer (refused, reset, timed out); retried by the client, thrown after the last attempt. */
export class KubeConnectionError extends SensorfleetError {
  override name = 'KubeConnectionError';
}
