import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SandboxEntra } from '../azure/entra';

/**
 * A local Azure Event Grid delivering to webhooks as the service does
 * (https://learn.microsoft.com/azure/event-grid/webhook-event-delivery, .../delivery-and-retry):
 *  - creating an event subscription runs the endpoint validation: Event Grid schema -> POST of a
 *    one-element array with Microsoft.EventGrid.SubscriptionValidationEvent (`aeg-event-type:
 *    SubscriptionValidation`), which must answer 200 {"validationResponse": code}; CloudEvents 1.0 ->
 *    OPTIONS with `WebHook-Request-Origin: eventgrid.azure.net`, which must answer 200 with a matching
 *    `WebHook-Allowed-Origin`. Otherwise the subscription is Failed and receives nothing;
 *  - each event is POSTed alone (maxEventsPerBatch 1): an array of one event (Event Grid schema,
 *    `application/json`) or one structured CloudEvent (`application/cloudevents+json`), with
 *    aeg-event-type Notification, aeg-subscription-name, aeg-delivery-count, aeg-data-version and
 *    aeg-metadata-version; plus the subscription's static delivery properties (a secret header) and
 *    the endpoint URL's query (a secret parameter) as configured;
 *  - Entra-protected webhooks: a bearer token Event Grid's own application (4962773b-…) gets from the
 *    webhook's tenant for `<applicationIdOrUri>/.default` with the client credentials flow — from the
 *    sandbox Entra, so it is signed by the sandbox tenant key — cached until 5 minutes before expiry;
 *  - 200-204 is success; 400, 401, 403 and 413 are not retried (dead-lettered); anything else, a
 *    refused connection or no answer within 30 s is retried on the retry schedule (10 s, 30 s, 1 min, …;
 *    scaled to milliseconds here) up to maxDeliveryAttempts.
 */
export const EVENT_GRID_APP_ID = '4962773b-9cdb-44cf-a8bf-237846a00ab7';
export const EVENT_GRID_ORIGIN = 'eventgrid.azure.net';

export interface EventGridEvent {
  id: string;
  topic: string;
  subject: string;
  eventType: string;
  eventTime: string;
  data: Record<string, unknown>;
  dataVersion: string;
  metadataVersion: '1';
}

export interface EventSubscriptionSpec {
  name: string;
  /** The webhook URL, with any query (a shared secret) Event Grid is to send. */
  endpoint: string;
  schema: 'EventGridSchema' | 'CloudEventSchemaV1_0';
  /** Entra-protected webhook: tenant and application id or ID URI Event Grid asks its token for. */
  entra?: { tenantId: string; applicationIdOrUri: string };
  /** Static delivery properties (header name -> value). */
  deliveryHeaders?: Record<string, string>;
  includedEventTypes?: string[];
  /** Advanced filter: subject (resource id) contains one of these, case-insensitively. */
  subjectContains?: string[];
  maxDeliveryAttempts?: number;
  /** The retry schedule (the service: 10 s, 30 s, 1 min, 5 min, …). */
  retryDelaysMs?: number[];
}

export interface EventSubscriptionState {
  spec: EventSubscriptionSpec;
  provisioningState: 'Succeeded' | 'Failed';
  reason?: string;
}

export interface DeliveryAttempt {
  subscription: string;
  eventId: string;
  attempt: number;
  status: number;
  ms: number;
}

const SUCCESS = new Set([200, 201, 202, 203, 204]);
const NO_RETRY = new Set([400, 401, 403, 413]);

export class SandboxEventGrid {
  readonly attempts: DeliveryAttempt[] = [];
  readonly deadLettered: { subscription: string; event: EventGridEvent; status: number }[] = [];
  readonly subscriptions = new Map<string, EventSubscriptionState>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly secrets = new Map<string, string>();
  private readonly tokens = new Map<string, { token: string; expiresAt: number }>();

  constructor(private readonly entra: SandboxEntra) {}

  /** Event Grid's service principal in a tenant (every tenant has one) and its app-role assignment on the webhook's application. */
  enableEntraDelivery(tenantId: string, webhookApp: { identifiers: string[]; assignRole?: boolean }): void {
    if (!this.secrets.has(tenantId)) {
      const secret = randomBytes(24).toString('base64url');
      this.entra.registerApp({ tenantId, clientId: EVENT_GRID_APP_ID, displayName: 'Microsoft.EventGrid', secrets: [secret] });
      this.secrets.set(tenantId, secret);
    }
    this.entra.exposeApi({ identifiers: webhookApp.identifiers, roleAssignments: webhookApp.assignRole === false ? {} : { [EVENT_GRID_APP_ID]: ['AzureEventGridSecureWebhookSubscriber'] } });
  }

  /** Creates (or updates) an event subscription; the endpoint validation decides its state. */
  async createSubscription(spec: EventSubscriptionSpec): Promise<EventSubscriptionState> {
    let state: EventSubscriptionState;
    try {
      const problem = spec.schema === 'EventGridSchema' ? await this.validateEventGridSchema(spec) : await this.validateCloudEvents(spec);
      state = problem ? { spec, provisioningState: 'Failed', reason: problem } : { spec, provisioningState: 'Succeeded' };
    } catch (err) {
      state = { spec, provisioningState: 'Failed', reason: `Webhook validation handshake failed for ${redactedUrl(spec.endpoint)}: ${(err as Error).message}` };
    }
    this.subscriptions.set(spec.name, state);
    return state;
  }

  /** Publishes events of a topic; each Succeeded subscription whose filter matches gets each one. */
  publish(events: EventGridEvent[]): void {
    for (const state of this.subscriptions.values()) {
      if (state.provisioningState !== 'Succeeded') continue;
      for (const e of events) if (matches(state.spec, e)) this.track(this.deliver(state.spec, e));
    }
  }

  async idle(timeoutMs = 30_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (this.inFlight.size > 0) {
      if (Date.now() > end) throw new Error(`Event Grid sandbox: ${this.inFlight.size} event(s) still being delivered after ${timeoutMs} ms`);
      await Promise.race([...this.inFlight, sleep(50)]);
    }
  }

  /** One delivery of `body` with the subscription's headers and auth, as a raw HTTP answer (for tests of single requests). */
  async post(spec: EventSubscriptionSpec, body: string, headers: Record<string, string>): Promise<{ status: number; body: string; headers: Headers }> {
    const res = await fetch(spec.endpoint, { method: 'POST', headers: { ...(await this.authHeaders(spec)), ...(spec.deliveryHeaders ?? {}), ...headers }, body, signal: AbortSignal.timeout(30_000) });
    return { status: res.status, body: await res.text(), headers: res.headers };
  }

  static cloudEvent(e: EventGridEvent): Record<string, unknown> {
    return { specversion: '1.0', id: e.id, source: e.topic, subject: e.subject, type: e.eventType, time: e.eventTime, datacontenttype: 'application/json', data: e.data };
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  private async deliver(spec: EventSubscriptionSpec, e: EventGridEvent): Promise<void> {
    const delays = spec.retryDelaysMs ?? [50, 100, 200, 400, 800];
    const max = spec.maxDeliveryAttempts ?? 30;
    for (let attempt = 1; ; attempt++) {
      const t0 = Date.now();
      let status = 0;
      try {
        const cloud = spec.schema === 'CloudEventSchemaV1_0';
        const out = await this.post(spec, JSON.stringify(cloud ? SandboxEventGrid.cloudEvent(e) : [e]), {
          'content-type': cloud ? 'application/cloudevents+json; charset=utf-8' : 'application/json',
          'aeg-event-type': 'Notification',
          'aeg-subscription-name': spec.name.toUpperCase(),
          'aeg-delivery-count': String(attempt - 1),
          'aeg-data-version': e.dataVersion,
          'aeg-metadata-version': e.metadataVersion,
          ...(cloud ? { origin: EVENT_GRID_ORIGIN } : {}),
        });
        status = out.status;
      } catch {
        status = 0;
      }
      this.attempts.push({ subscription: spec.name, eventId: e.id, attempt, status, ms: Date.now() - t0 });
      if (SUCCESS.has(status)) return;
      if (NO_RETRY.has(status) || attempt >= max) {
        this.deadLettered.push({ subscription: spec.name, event: e, status });
        return;
      }
      await sleep(delays[Math.min(attempt - 1, delays.length - 1)]!);
    }
  }

  private async validateEventGridSchema(spec: EventSubscriptionSpec): Promise<string | undefined> {
    const code = randomUUID().toUpperCase();
    const validation = {
      id: randomUUID(),
      topic: '/subscriptions/00000000-0000-0000-0000-000000000000',
      subject: '',
      data: { validationCode: code, validationUrl: `https://rp-westeurope.eventgrid.azure.net:553/eventsubscriptions/${spec.name}/validate?id=${code}&t=${new Date().toISOString()}&apiVersion=2025-02-15&token=${randomBytes(8).toString('hex')}` },
      eventType: 'Microsoft.EventGrid.SubscriptionValidationEvent',
      eventTime: new Date().toISOString(),
      metadataVersion: '1',
      dataVersion: '1',
    };
    const out = await this.post(spec, JSON.stringify([validation]), { 'content-type': 'application/json', 'aeg-event-type': 'SubscriptionValidation', 'aeg-subscription-name': spec.name.toUpperCase(), 'aeg-delivery-count': '0', 'aeg-data-version': '1', 'aeg-metadata-version': '1' });
    if (out.status !== 200) return `Webhook validation handshake failed for ${redactedUrl(spec.endpoint)}. Http POST request failed with response code ${out.status}.`;
    let answer: unknown;
    try {
      answer = JSON.parse(out.body);
    } catch {
      answer = undefined;
    }
    if ((answer as { validationResponse?: unknown } | undefined)?.validationResponse !== code) {
      return `Webhook validation handshake failed for ${redactedUrl(spec.endpoint)}. Http POST request retuned 2XX response with response body ${out.body}. When a validation request is accepted without validation code in the response body, Http GET is expected on the validation url included in the validation event(within 10 minutes).`;
    }
    return undefined;
  }

  private async validateCloudEvents(spec: EventSubscriptionSpec): Promise<string | undefined> {
    const res = await fetch(spec.endpoint, { method: 'OPTIONS', headers: { ...(await this.authHeaders(spec)), 'webhook-request-origin': EVENT_GRID_ORIGIN }, signal: AbortSignal.timeout(30_000) });
    await res.arrayBuffer();
    const allowed = res.headers.get('webhook-allowed-origin');
    if (res.status !== 200) return `Webhook validation handshake failed for ${redactedUrl(spec.endpoint)}. Http OPTIONS request failed with response code ${res.status}.`;
    if (allowed !== EVENT_GRID_ORIGIN && allowed !== '*') return `Webhook validation handshake failed for ${redactedUrl(spec.endpoint)}. WebHook-Allowed-Origin ${allowed ?? '(none)'} does not allow ${EVENT_GRID_ORIGIN}.`;
    return undefined;
  }

  private async authHeaders(spec: EventSubscriptionSpec): Promise<Record<string, string>> {
    if (!spec.entra) return {};
    return { authorization: `Bearer ${await this.entraToken(spec.entra.tenantId, spec.entra.applicationIdOrUri)}` };
  }

  private async entraToken(tenantId: string, resource: string): Promise<string> {
    const key = `${tenantId}|${resource}`;
    const cached = this.tokens.get(key);
    if (cached && cached.expiresAt - 300_000 > Date.now()) return cached.token;
    const secret = this.secrets.get(tenantId);
    if (!secret) throw new Error(`Event Grid has no service principal in tenant ${tenantId} (enableEntraDelivery)`);
    const res = await fetch(`${this.entra.url}/${tenantId}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: EVENT_GRID_APP_ID, client_secret: secret, scope: `${resource}/.default` }).toString(),
    });
    const body = (await res.json()) as { access_token?: string; expires_in?: number; error_description?: string };
    if (!res.ok || !body.access_token) throw new Error(`Entra refused Event Grid a token: ${body.error_description?.split('\r\n')[0] ?? res.status}`);
    this.tokens.set(key, { token: body.access_token, expiresAt: Date.now() + (body.expires_in ?? 3600) * 1000 });
    return body.access_token;
  }

  /** Forget cached Entra tokens (after the sandbox Entra's clock or keys changed). */
  forgetTokens(): void {
    this.tokens.clear();
  }
}

function matches(spec: EventSubscriptionSpec, e: EventGridEvent): boolean {
  if (spec.includedEventTypes && !spec.includedEventTypes.includes(e.eventType)) return false;
  if (spec.subjectContains && !spec.subjectContains.some((s) => e.subject.toLowerCase().includes(s.toLowerCase()))) return false;
  return true;
}

/** Event Grid never shows the query of an endpoint URL (it may hold a secret). */
function redactedUrl(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname}`;
}
