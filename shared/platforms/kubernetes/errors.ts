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
    const admission = /admission webhook "[^"]+" denied the request/.test(text);
    const hint = status === 401 ? ` (the cluster refused our credentials${unauthorizedHint ? `: ${unauthorizedHint}` : ''})` : status === 403 && !admission ? ' (our identity lacks RBAC permission for this)' : '';
    return new KubeApiError(`${method} ${path}: ${status}${reason ? ` ${reason}` : ''}: ${text}${hint}`, status, reason, wait);
  }
}

/** No answer (refused, reset, timed out); retried by the client, thrown after the last attempt. */
export class KubeConnectionError extends SensorfleetError {
  override name = 'KubeConnectionError';
}

/** GKE Warden's denial (GKE Autopilot's admission webhook), as the API server relays it. */
export function isWardenDenial(err: unknown): err is KubeApiError {
  return err instanceof KubeApiError && err.status === 403 && /GKE Warden rejected the request/.test(err.message);
}

/**
 * GKE Autopilot refused the sensor workload. Retrying changes nothing until someone installs or fixes the
 * allowlist or the configuration, so the failure is terminal: recorded with the reason, never retried in
 * a loop (a work item goes to the DLQ at once).
 */
export class AutopilotRejectedError extends SensorfleetError {
  override name = 'AutopilotRejectedError';
  override readonly terminal = true;
  readonly reason: string;
  constructor(cluster: string, target: string, denial: KubeApiError, allowlist: string | undefined) {
    const constraints = [...new Set([...denial.message.matchAll(/\[denied by ([a-z0-9-]+)\]/g)].map((m) => m[1]))];
    const what = `GKE Autopilot (Warden) rejected ${target}${constraints.length ? ` for ${constraints.join(', ')}` : ''}`;
    const todo = allowlist
      ? `the WorkloadAllowlist "${allowlist}" is not installed on this cluster or does not admit this sensor version; check \`kubectl get workloadallowlist ${allowlist}\` and the AllowlistSynchronizer's status`
      : 'the sensor needs the Autopilot partner allowlist: install it with an AllowlistSynchronizer and set targets.gcp[].autopilotAllowlist';
    super(`cluster ${cluster}: ${what}: ${todo}`);
    this.reason = `${what}: ${todo}`;
  }
}

/** The API server refused a create because the object exists (409 AlreadyExists). */
export function isAlreadyExists(err: unknown): err is KubeApiError {
  return err instanceof KubeApiError && err.status === 409 && err.reason === 'AlreadyExists';
}

/** An optimistic-lock failure: the object changed since the resourceVersion we sent (409 Conflict). */
export function isConflict(err: unknown): err is KubeApiError {
  return err instanceof KubeApiError && err.status === 409 && err.reason === 'Conflict';
}

/**
 * An object we were about to create or update turned out not to be ours: someone else created it, or
 * removed our managed-by mark, after observe. It is left exactly as it is; the apply stops there (what
 * comes after it may depend on it). Not terminal: the next reconcile observes it and reports it as a
 * finding like any other object that is not ours.
 */
export class ForeignObjectError extends SensorfleetError {
  override name = 'ForeignObjectError';
  constructor(
    readonly cluster: string,
    readonly target: string,
    how: 'created' | 'unmarked',
  ) {
    const why = how === 'created' ? 'it was created by someone else after sensorfleet looked' : 'its sensorfleet mark was removed after sensorfleet looked';
    super(`cluster ${cluster}: ${target}: exists, not managed by sensorfleet; left alone (${why}; nothing was merged into it)`);
  }
}
