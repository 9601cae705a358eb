/**
 * The webhook's view of one HTTP request and its reply, the same whether it came through a Lambda
 * Function URL (functions/on-webhook.ts) or the local server (`sensorfleet webhook serve`).
 */
export interface WebhookRequest {
  method: string;
  path: string;
  /** Lower-case names; a repeated header is joined with ", " (as Lambda Function URLs do). */
  headers: Record<string, string>;
  /** From the raw query string (it may carry the Event Grid secret: never logged). */
  query: URLSearchParams;
  body: Buffer;
  /** The body was larger than the configured cap (the adapter stopped reading). */
  bodyTooLarge?: boolean;
}

export interface WebhookReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export function jsonReply(status: number, body: Record<string, unknown>, headers: Record<string, string> = {}): WebhookReply {
  return { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body: JSON.stringify(body) };
}

/** `Authorization: Bearer <token>` -> the token; undefined when absent or another scheme. */
export function bearerToken(headers: Record<string, string>): string | undefined {
  const m = /^Bearer[ ]+([^\s]+)\s*$/i.exec(headers.authorization ?? '');
  return m?.[1];
}

export function lowerCaseHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}
