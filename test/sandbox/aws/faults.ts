import { randomUUID } from 'node:crypto';
import type { Protocol } from './aws-request';
import type { RandomFaults } from '../random-faults';

/**
 * Fault switch of the AWS front: the next N matching requests are answered with a real AWS error
 * instead of being forwarded, so the product's retry policy can be tested on the same scenario that
 * runs clean. Error shapes per protocol:
 *  - awsJson1.x: HTTP 400, `x-amzn-ErrorType` and `{"__type": "...", "message": "..."}`
 *    (https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html#operation-error-serialization)
 *  - restJson1 (EKS): HTTP 429 + `x-amzn-ErrorType` and `{"message": "..."}`
 *    (https://smithy.io/2.0/aws/protocols/aws-restjson1-protocol.html#operation-error-serialization)
 *  - awsQuery (STS, Auto Scaling): HTTP 400 `<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>…`
 *    (https://smithy.io/2.0/aws/protocols/aws-query-protocol.html#operation-error-serialization)
 *  - ec2Query: HTTP 503 `<Response><Errors><Error><Code>RequestLimitExceeded</Code>…`
 *    (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html)
 */
export interface FaultRule {
  count: number;
  /** SigV4 signing name (ecs, eks, sts, …); every service when omitted. */
  service?: string;
  /** Only this operation (e.g. DescribeServices). */
  operation?: string;
}

export interface FrontFaults {
  throttleNext?: FaultRule;
  failNext?: FaultRule & { status?: 500 | 502 | 503 };
  /** The request is forwarded (the write happens in moto), then answered with this error: an ambiguous failure. */
  failAfterCommit?: FaultRule & { status?: 500 | 502 | 503 };
  /** A share of requests failing at random (throttled, 503, dropped connection, 503 after the write): the fault suite. */
  random?: RandomFaults;
}

export interface ErrorAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Takes one fault for this request if a rule matches (and counts it down). */
export function takeFault(faults: FrontFaults, service: string, operation: string): { kind: 'throttle' } | { kind: 'fail'; status: number } | undefined {
  const matches = (r?: FaultRule) => r && r.count > 0 && (!r.service || r.service === service) && (!r.operation || r.operation === operation);
  if (matches(faults.throttleNext)) {
    faults.throttleNext!.count--;
    return { kind: 'throttle' };
  }
  if (matches(faults.failNext)) {
    faults.failNext!.count--;
    return { kind: 'fail', status: faults.failNext!.status ?? 503 };
  }
  return undefined;
}

/** Takes one after-commit fault for this request if its rule matches (and counts it down). */
export function takeAfterCommitFault(faults: FrontFaults, service: string, operation: string): { kind: 'fail'; status: number } | undefined {
  const r = faults.failAfterCommit;
  if (!r || r.count <= 0 || (r.service && r.service !== service) || (r.operation && r.operation !== operation)) return undefined;
  r.count--;
  return { kind: 'fail', status: r.status ?? 503 };
}

export function faultAnswer(fault: { kind: 'throttle' } | { kind: 'fail'; status: number }, protocol: Protocol, service: string): ErrorAnswer {
  const requestId = randomUUID();
  const throttle = fault.kind === 'throttle';
  if (service === 'ec2') {
    const code = throttle ? 'RequestLimitExceeded' : 'Unavailable';
    return xml(throttle ? 503 : fault.status, `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${code}</Code><Message>${throttle ? 'Request limit exceeded.' : 'The server is overloaded and cannot handle the request.'}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`, requestId);
  }
  if (protocol === 'query') {
    const code = throttle ? 'Throttling' : 'ServiceUnavailable';
    const type = throttle ? 'Sender' : 'Receiver';
    return xml(throttle ? 400 : fault.status, `<ErrorResponse><Error><Type>${type}</Type><Code>${code}</Code><Message>${throttle ? 'Rate exceeded' : 'Service Unavailable'}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`, requestId);
  }
  const type = throttle ? 'ThrottlingException' : 'ServiceUnavailableException';
  const message = throttle ? 'Rate exceeded' : 'Service Unavailable';
  if (protocol === 'rest-json') {
    return json(throttle ? 429 : fault.status, { message }, type, requestId, 'application/json');
  }
  return json(throttle ? 400 : fault.status, { __type: type, message }, type, requestId, 'application/x-amz-json-1.1');
}

function json(status: number, body: object, type: string, requestId: string, contentType: string): ErrorAnswer {
  return { status, headers: { 'content-type': contentType, 'x-amzn-errortype': type, 'x-amzn-requestid': requestId }, body: JSON.stringify(body) };
}

function xml(status: number, body: string, requestId: string): ErrorAnswer {
  return { status, headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId }, body };
}
