import { SensorfleetError } from '../runtime/errors';

/**
 * Named errors of the Qualys module. Messages carry the operation and HTTP status, never a
 * credential, token or request header (axios errors hold the request config, so they are not
 * wrapped as `cause`).
 */
export class QualysApiError extends SensorfleetError {
  override name = 'QualysApiError';
  constructor(
    readonly operation: string,
    readonly status: number,
    detail: string,
    readonly retryable: boolean,
  ) {
    super(`Qualys ${operation} answered HTTP ${status}${detail ? `: ${detail}` : ''}`);
  }
}

/** The request may or may not have reached Qualys (timeout, reset): a create must be verified before a retry. */
export class QualysNetworkError extends SensorfleetError {
  override name = 'QualysNetworkError';
  constructor(
    readonly operation: string,
    readonly code: string,
  ) {
    super(`Qualys ${operation} failed on the network (${code}); it is retried with backoff`);
  }
}

export class QualysAuthError extends SensorfleetError {
  override name = 'QualysAuthError';
}

/** The API asked for a longer pause than the run accepts (qualys.maxRateLimitWaitSeconds): the next run resumes. */
export class QualysRateLimitWaitError extends SensorfleetError {
  override name = 'QualysRateLimitWaitError';
  constructor(readonly waitMs: number) {
    super(`Qualys rate limit requires a ${Math.ceil(waitMs / 1000)} s pause, longer than this run allows; the next run resumes`);
  }
}

/** A response that does not have the documented shape. */
export class QualysResponseError extends SensorfleetError {
  override name = 'QualysResponseError';
}

/** The executor refused to send a sensor that is not UNKNOWN for deletion (DESIGN §8). */
export class NonUnknownSensorDeleteError extends SensorfleetError {
  override name = 'NonUnknownSensorDeleteError';
}
