import type { WebhookReply, WebhookRequest } from './http';
import { lowerCaseHeaders } from './http';

/**
 * Lambda Function URL / API Gateway HTTP API requests (payload format 2.0,
 * https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html) to and from the webhook's own
 * request and reply. The query is read from rawQueryString: queryStringParameters joins repeated
 * parameters with commas, which would change a secret that holds one.
 */
export interface HttpEventV2 {
  rawPath?: string;
  rawQueryString?: string;
  headers?: Record<string, string | undefined>;
  body?: string;
  isBase64Encoded?: boolean;
  requestContext?: { http?: { method?: string; path?: string } };
}

export interface HttpResultV2 {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

export function isHttpEventV2(event: unknown): event is HttpEventV2 {
  const e = event as HttpEventV2 | undefined;
  return typeof e === 'object' && e !== null && typeof e.requestContext?.http?.method === 'string';
}

export function fromHttpEventV2(event: HttpEventV2, maxBodyBytes: number): WebhookRequest {
  const raw = event.body ?? '';
  // base64 is 4/3 of the bytes: a body over the cap is refused before it is decoded
  const tooLarge = (event.isBase64Encoded ? Math.floor((raw.length * 3) / 4) : Buffer.byteLength(raw)) > maxBodyBytes;
  const body = tooLarge ? Buffer.alloc(0) : event.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  return {
    method: event.requestContext!.http!.method!.toUpperCase(),
    path: event.rawPath ?? event.requestContext?.http?.path ?? '/',
    headers: lowerCaseHeaders(event.headers ?? {}),
    query: new URLSearchParams(event.rawQueryString ?? ''),
    body,
    ...(tooLarge ? { bodyTooLarge: true } : {}),
  };
}

export function toHttpResultV2(reply: WebhookReply): HttpResultV2 {
  return { statusCode: reply.status, headers: reply.headers, body: reply.body };
}
