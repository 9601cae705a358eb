import { InvalidInputError } from '../runtime/errors';

/**
 * A payload that claims to be one of the sources we accept but cannot be read (not JSON, bad
 * base64, a required field missing or of the wrong type). Never retried: the caller logs the
 * id and the one-line reason and moves on.
 */
export class MalformedEventError extends InvalidInputError {
  override name = 'MalformedEventError';
  constructor(
    readonly reason: string,
    /** Best-effort id of the record that failed (envelope id, messageId, eventID), for logs. */
    readonly recordId = 'unknown',
  ) {
    super(recordId === 'unknown' ? `malformed event: ${reason}` : `malformed event ${recordId}: ${reason}`);
  }
}
