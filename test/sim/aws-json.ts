/** What an in-process AWS stand-in answers: an HTTP status and a body (JSON protocols) or text (XML). */
export interface SimReply {
  status: number;
  body: string;
  headers?: Record<string, string>;
}

/** An AWS error as the JSON protocols put it (awsJson1_0/1_1: `__type` + message; the SDK reads both). */
export class AwsError extends Error {
  constructor(readonly type: string, message: string, readonly status = 400, readonly extra: Record<string, unknown> = {}) {
    super(message);
  }
}

export function jsonReply(body: unknown, status = 200): SimReply {
  return { status, body: JSON.stringify(body), headers: { 'content-type': 'application/x-amz-json-1.0' } };
}

export function jsonError(err: AwsError): SimReply {
  return { status: err.status, body: JSON.stringify({ __type: err.type, message: err.message, ...err.extra }), headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-errortype': err.type } };
}

/** A throttle answer in the JSON protocols (the SDK's standard retry treats these as throttling). */
export const throttled = (type = 'ThrottlingException', message = 'Rate exceeded') => new AwsError(type, message, 400);
