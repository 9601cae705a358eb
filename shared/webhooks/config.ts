import * as z from 'zod';

/**
 * `webhooks:` — how `on-webhook` (and `sensorfleet webhook serve`) authenticates Azure Event Grid and
 * GCP Pub/Sub push deliveries. A source that is not configured answers 404: nothing is accepted by
 * default. Every object is strict, like the rest of the configuration.
 */

/** Microsoft.EventGrid's first-party application: the client of the Entra tokens Event Grid attaches. */
export const EVENT_GRID_APP_ID = '4962773b-9cdb-44cf-a8bf-237846a00ab7';
/** The app role Event Grid's service principal is assigned on the webhook application (secure-webhook-delivery.md). */
export const EVENT_GRID_APP_ROLE = 'AzureEventGridSecureWebhookSubscriber';

const uuid = z.string().regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, 'a GUID such as 00000000-0000-0000-0000-000000000000');
const path = z.string().regex(/^\/[A-Za-z0-9/_-]*$/, 'a URL path such as /azure/event-grid');
const headerName = z.string().regex(/^[A-Za-z0-9-]+$/, 'an HTTP header name');

export const entraAuthSchema = z.strictObject({
  method: z.literal('entra'),
  /** The tenant of the webhook's Entra application (the subscription's `azureActiveDirectoryTenantId`). */
  tenantId: uuid,
  /** The application id and/or application ID URI Event Grid asks tokens for (`azureActiveDirectoryApplicationIdOrUri`). */
  audiences: z.array(z.string().min(1)).min(1),
  authorityHost: z.string().url().default('https://login.microsoftonline.com'),
  /** Default `<authorityHost>/<tenantId>/discovery/v2.0/keys`. */
  jwksUrl: z.string().url().optional(),
  /** Token clients accepted (`appid` of v1 tokens, `azp` of v2 tokens): Event Grid's own application by default. */
  clientAppIds: z.array(z.string().min(1)).min(1).default([EVENT_GRID_APP_ID]),
  /** The app role the token must carry in `roles`, or false to not require one. */
  appRole: z.union([z.literal(false), z.string().min(1)]).default(EVENT_GRID_APP_ROLE),
});

export const sharedSecretAuthSchema = z.strictObject({
  method: z.literal('shared-secret'),
  /** Secrets Manager secret: the secret as the whole string, or JSON {"secret": "..."}. */
  secretId: z.string().min(1),
  secretRegion: z.string().optional(),
  /** Where Event Grid sends it: a query parameter of the endpoint URL and/or a (secret) delivery property header. */
  queryParameter: z.string().regex(/^[A-Za-z0-9_-]+$/).default('code'),
  header: headerName.default('x-sensorfleet-webhook-secret'),
});

export const eventGridWebhookSchema = z.strictObject({
  path: path.default('/azure/event-grid'),
  auth: z.discriminatedUnion('method', [entraAuthSchema, sharedSecretAuthSchema]),
  /** CloudEvents abuse protection: origins whose OPTIONS handshake is granted (Event Grid's is eventgrid.azure.net). */
  allowedOrigins: z.array(z.string().min(1)).min(1).default(['eventgrid.azure.net']),
  /** WebHook-Allowed-Rate answered in the handshake (requests per minute), or '*'. */
  allowedRate: z.union([z.number().int().positive(), z.literal('*')]).optional(),
});

export const pubsubWebhookSchema = z.strictObject({
  path: path.default('/gcp/pubsub'),
  /** Google's OAuth2 signing keys; the sandbox serves its own. */
  jwksUrl: z.string().url().default('https://www.googleapis.com/oauth2/v3/certs'),
  issuers: z.array(z.string().min(1)).min(1).default(['https://accounts.google.com', 'accounts.google.com']),
  /** The push subscription's `oidcToken.audience` (or its endpoint URL when none was set). */
  audience: z.string().min(1),
  /** The push subscription's `oidcToken.serviceAccountEmail`. */
  serviceAccountEmail: z.string().email(),
  /** Only these subscriptions (projects/P/subscriptions/S); default: any the token admits. */
  subscriptions: z.array(z.string().regex(/^projects\/[^/]+\/subscriptions\/[^/]+$/, 'projects/<project>/subscriptions/<name>')).min(1).optional(),
});

export const webhooksConfigSchema = z.strictObject({
  /** Larger request bodies are refused with 413 before anything is parsed (Event Grid batches are at most 1 MB). */
  maxBodyBytes: z.number().int().positive().max(6 * 1024 * 1024).default(1024 * 1024),
  /** Clock skew allowed on token times (exp, nbf, iat). */
  clockToleranceSeconds: z.number().int().min(0).max(300).default(60),
  eventGrid: eventGridWebhookSchema.optional(),
  pubsub: pubsubWebhookSchema.optional(),
});
export type WebhooksConfig = z.infer<typeof webhooksConfigSchema>;
export type EventGridWebhookConfig = z.infer<typeof eventGridWebhookSchema>;
export type PubSubWebhookConfig = z.infer<typeof pubsubWebhookSchema>;
export type EntraAuthConfig = z.infer<typeof entraAuthSchema>;
export type SharedSecretAuthConfig = z.infer<typeof sharedSecretAuthSchema>;

export const WEBHOOKS_DEFAULT: WebhooksConfig = webhooksConfigSchema.parse({});
