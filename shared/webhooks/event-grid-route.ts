import type { SensorfleetConfig } from '../config/schema';
import { MalformedEventError } from '../events/errors';
import { fromCloudEvent, fromEventGridSchema, looksLikeCloudEvent, looksLikeEventGrid, normalizeGridEvent, type GridEvent } from '../events/event-grid';
import { clusterEvent, isObject, isoTime, str } from '../events/types';
import type { NodeResourceGroupOwner } from '../platforms/aks/node-resource-group';
import type { AzureTarget } from '../platforms/aks/config';
import type { EventGridWebhookConfig } from './config';
import { parseJsonBody, refuse, type DeliveryRecord, type SourceOutcome } from './delivery';
import { verifyEntraToken } from './entra-token';
import { bearerToken, jsonReply, type WebhookRequest } from './http';
import { whyGridEventIgnored } from './ignore-reasons';
import { SharedSecretVerifier, type SecretReader } from './shared-secret';

/**
 * Azure Event Grid deliveries (https://learn.microsoft.com/azure/event-grid/webhook-event-delivery):
 *  - CloudEvents abuse protection: OPTIONS with WebHook-Request-Origin -> 200 + WebHook-Allowed-Origin
 *    (and WebHook-Allowed-Rate) for an allowed origin (CloudEvents 1.0 http-webhook §4);
 *  - POST, authenticated (Entra token or shared secret) before anything else is read;
 *  - an Event Grid schema array holding a SubscriptionValidationEvent -> 200 {"validationResponse"};
 *  - else an array of events (Event Grid schema or a CloudEvents batch) or one CloudEvent: one record each.
 * A VM scale set write in a node resource group becomes its cluster's nodes-changed event through the
 * group's AKS-managed tags (one ARM read, lazily loaded with the Azure SDK).
 */
export type OwnerLookup = (target: AzureTarget, subscriptionId: string, resourceGroup: string) => Promise<NodeResourceGroupOwner>;

const VALIDATION_EVENT = 'Microsoft.EventGrid.SubscriptionValidationEvent';
const VMSS = /^\/subscriptions\/([^/]+)\/resourcegroups\/([^/]+)\/providers\/microsoft\.compute\/virtualmachinescalesets\/([^/]+)(?:\/virtualmachines\/[^/]+)?$/i;

export class EventGridRoute {
  private readonly secret: SharedSecretVerifier | undefined;

  constructor(
    readonly cfg: EventGridWebhookConfig,
    private readonly deps: { config: SensorfleetConfig; readSecret?: SecretReader; ownerOf: OwnerLookup; now?: () => Date },
  ) {
    this.secret = cfg.auth.method === 'shared-secret' ? new SharedSecretVerifier(cfg.auth, deps.readSecret) : undefined;
  }

  async handle(req: WebhookRequest): Promise<SourceOutcome> {
    if (req.method === 'OPTIONS') return this.handshake(req);
    if (req.method !== 'POST') return refuse(405, `method ${req.method} not allowed`, { allow: 'POST, OPTIONS' });
    const auth = await this.authenticate(req);
    if (!auth.ok) return refuse(auth.status, auth.reason);
    const parsed = parseJsonBody(req.body);
    if (!parsed.ok) return refuse(400, parsed.reason);
    const items = Array.isArray(parsed.value) ? parsed.value : [parsed.value];
    const validation = items.find((i) => isObject(i) && i.eventType === VALIDATION_EVENT);
    if (validation) return this.validate(validation as Record<string, unknown>, items.length);
    return { kind: 'records', records: await Promise.all(items.map((item) => this.record(item))) };
  }

  private handshake(req: WebhookRequest): SourceOutcome {
    const origin = req.headers['webhook-request-origin'];
    if (!origin) return refuse(400, 'OPTIONS without WebHook-Request-Origin is not a CloudEvents validation handshake');
    if (!this.cfg.allowedOrigins.includes(origin) && !this.cfg.allowedOrigins.includes('*')) return refuse(403, `origin ${origin} is not allowed`);
    const rate: Record<string, string> = this.cfg.allowedRate !== undefined ? { 'webhook-allowed-rate': String(this.cfg.allowedRate) } : {};
    return { kind: 'reply', note: `CloudEvents handshake granted to ${origin}`, reply: { status: 200, headers: { 'webhook-allowed-origin': origin, allow: 'POST, OPTIONS', ...rate }, body: '' } };
  }

  /** The synchronous handshake: 200 with the code (202 is not accepted by Event Grid). */
  private validate(event: Record<string, unknown>, count: number): SourceOutcome {
    const code = isObject(event.data) ? str(event.data.validationCode) : undefined;
    if (!code || count !== 1) return refuse(400, code ? 'a SubscriptionValidationEvent comes alone' : 'SubscriptionValidationEvent without data.validationCode');
    return { kind: 'reply', note: `subscription validated (${str(event.topic) ?? 'no topic'})`, reply: jsonReply(200, { validationResponse: code }) };
  }

  private async authenticate(req: WebhookRequest) {
    const auth = this.cfg.auth;
    if (auth.method === 'shared-secret') return this.secret!.verify(req);
    const token = bearerToken(req.headers);
    if (!token) return { ok: false as const, status: 401 as const, reason: 'no bearer token' };
    return verifyEntraToken(token, auth, this.deps.config.webhooks.clockToleranceSeconds);
  }

  private async record(item: unknown): Promise<DeliveryRecord> {
    const id = (isObject(item) && str(item.id)) || 'unknown';
    let e: GridEvent;
    try {
      if (!isObject(item)) throw new MalformedEventError(`expected an event object, got ${item === null ? 'null' : typeof item}`, id);
      if (looksLikeCloudEvent(item)) e = fromCloudEvent(item);
      else if (looksLikeEventGrid(item)) e = fromEventGridSchema(item);
      else throw new MalformedEventError('neither an Event Grid event nor a CloudEvent', id);
      const out = normalizeGridEvent(e, this.opts());
      if (out.events.length) return { id, events: out.events };
    } catch (err) {
      return { id, events: [], malformed: err instanceof MalformedEventError ? err.reason : `could not be read: ${(err as Error).message}` };
    }
    const vmss = this.vmssOf(e);
    if (vmss) return this.vmssRecord(e, vmss);
    return { id, events: [], ignored: whyGridEventIgnored(e) };
  }

  private opts() {
    return this.deps.now ? { now: this.deps.now } : {};
  }

  private vmssOf(e: GridEvent): { subscription: string; resourceGroup: string; name: string } | undefined {
    if (!/^Microsoft\.Resources\.Resource(Write|Delete)Success$/.test(e.eventType)) return undefined;
    const m = VMSS.exec(str(e.data.resourceUri) ?? str(e.subject) ?? '');
    return m ? { subscription: m[1]!.toLowerCase(), resourceGroup: m[2]!, name: m[3]! } : undefined;
  }

  private async vmssRecord(e: GridEvent, v: { subscription: string; resourceGroup: string; name: string }): Promise<DeliveryRecord> {
    const target = this.deps.config.targets.azure.find((t) => t.subscriptionId.toLowerCase() === v.subscription);
    if (!target) return { id: e.id, events: [], ignored: `VM scale set write in subscription ${v.subscription}, which is not a configured target (targets.azure)` };
    const owner = await this.deps.ownerOf(target, v.subscription, v.resourceGroup);
    if (!owner.ok) return owner.retryable ? { id: e.id, events: [], unavailable: owner.reason } : { id: e.id, events: [], ignored: `VM scale set ${v.name}: ${owner.reason}` };
    try {
      const event = clusterEvent(e.id, {
        id: `azure-eventgrid:${e.id}`,
        time: isoTime([e.time], this.opts()),
        kind: 'nodes-changed',
        cluster: { platform: 'azure-aks', scope: v.subscription, location: owner.resourceGroup, name: owner.name },
        source: e.eventType.replace(/^Microsoft\./, 'azure.'),
        detail: {
          eventType: e.eventType,
          operationName: str(e.data.operationName),
          virtualMachineScaleSet: v.name,
          nodeResourceGroup: v.resourceGroup,
          // AKS names a pool's scale set aks-<pool>-<8 digits>-vmss
          agentPool: /^aks-(.+)-\d{8}-vmss$/.exec(v.name)?.[1],
        },
      });
      return { id: e.id, events: [event] };
    } catch (err) {
      return { id: e.id, events: [], malformed: err instanceof MalformedEventError ? err.reason : String(err) };
    }
  }
}
