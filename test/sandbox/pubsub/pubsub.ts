import { setTimeout as sleep } from 'node:timers/promises';
import type { SandboxGoogleKeys } from './google-keys';

/**
 * A local Pub/Sub with push subscriptions, delivering the way the service does
 * (https://cloud.google.com/pubsub/docs/push): one message per HTTPS POST of
 * {"message": {"data" (base64), "attributes", "messageId", "message_id", "publishTime", "publish_time"},
 * "subscription"} (plus "deliveryAttempt" when a dead-letter policy is set), with an OIDC token of the
 * subscription's service account as `Authorization: Bearer` when oidcToken is configured. A reply of
 * 102, 200, 201, 202 or 204 acknowledges; anything else (or no reply within the ack deadline) is a
 * nack: delivered again with exponential backoff between the retry policy's minimum and maximum, and
 * after maxDeliveryAttempts forwarded to the dead-letter topic (without one, retried until the
 * sandbox's own limit). Times are in milliseconds here; the service counts seconds.
 */
export interface PushSubscriptionSpec {
  /** projects/<project>/subscriptions/<name> */
  name: string;
  /** projects/<project>/topics/<name> */
  topic: string;
  pushEndpoint: string;
  oidcToken?: { serviceAccountEmail: string; audience?: string };
  ackDeadlineMs?: number;
  minimumBackoffMs?: number;
  maximumBackoffMs?: number;
  deadLetter?: { topic: string; maxDeliveryAttempts: number };
}

export interface PublishedMessage {
  messageId: string;
  publishTime: string;
  data: string;
  attributes: Record<string, string>;
}

export interface PushAttempt {
  subscription: string;
  messageId: string;
  attempt: number;
  /** HTTP status, or 0 when the request failed or timed out. */
  status: number;
  acked: boolean;
  ms: number;
}

const ACK = new Set([102, 200, 201, 202, 204]);
const LIMIT_WITHOUT_DEAD_LETTER = 25;

export class SandboxPubSub {
  readonly attempts: PushAttempt[] = [];
  readonly published: { topic: string; message: PublishedMessage }[] = [];
  private readonly topics = new Set<string>();
  private readonly subscriptions = new Map<string, PushSubscriptionSpec>();
  private readonly inFlight = new Set<Promise<void>>();
  private nextId = BigInt(Date.now()) * 1000n;
  private stopped = false;

  constructor(private readonly keys: SandboxGoogleKeys) {}

  createTopic(name: string): void {
    if (!/^projects\/[^/]+\/topics\/[^/]+$/.test(name)) throw new Error(`topic name ${name} is not projects/P/topics/T`);
    this.topics.add(name);
  }

  createSubscription(spec: PushSubscriptionSpec): void {
    if (!this.topics.has(spec.topic)) throw new Error(`NOT_FOUND: Resource not found (resource=${spec.topic.split('/').at(-1)}).`);
    if (spec.deadLetter && !this.topics.has(spec.deadLetter.topic)) throw new Error(`NOT_FOUND: dead letter topic ${spec.deadLetter.topic}`);
    this.subscriptions.set(spec.name, spec);
  }

  deleteSubscription(name: string): void {
    this.subscriptions.delete(name);
  }

  /** Publishes to a topic; every push subscription of it delivers (asynchronously). Returns the messageId. */
  publish(topic: string, m: { data: string | Buffer; attributes?: Record<string, string> }): string {
    if (!this.topics.has(topic)) throw new Error(`NOT_FOUND: Resource not found (resource=${topic.split('/').at(-1)}).`);
    const message: PublishedMessage = {
      messageId: String(this.nextId++),
      publishTime: new Date().toISOString(),
      data: Buffer.from(m.data).toString('base64'),
      attributes: { ...(m.attributes ?? {}) },
    };
    this.published.push({ topic, message });
    for (const sub of this.subscriptions.values()) if (sub.topic === topic) this.track(this.deliver(sub, message));
    return message.messageId;
  }

  /** Resolves once every message has been acknowledged, dead-lettered or given up on. */
  async idle(timeoutMs = 30_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (this.inFlight.size > 0) {
      if (Date.now() > end) throw new Error(`Pub/Sub sandbox: ${this.inFlight.size} message(s) still being delivered after ${timeoutMs} ms`);
      await Promise.race([...this.inFlight, sleep(50)]);
    }
  }

  stop(): void {
    this.stopped = true;
  }

  /** The body a push subscription POSTs (https://cloud.google.com/pubsub/docs/push#receive_push). */
  static pushBody(sub: string, m: PublishedMessage, deliveryAttempt?: number): Record<string, unknown> {
    return {
      message: { attributes: m.attributes, data: m.data, messageId: m.messageId, message_id: m.messageId, publishTime: m.publishTime, publish_time: m.publishTime },
      subscription: sub,
      ...(deliveryAttempt !== undefined ? { deliveryAttempt } : {}),
    };
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  private async deliver(sub: PushSubscriptionSpec, m: PublishedMessage): Promise<void> {
    const min = sub.minimumBackoffMs ?? 100;
    const max = sub.maximumBackoffMs ?? 2_000;
    const limit = sub.deadLetter?.maxDeliveryAttempts ?? LIMIT_WITHOUT_DEAD_LETTER;
    for (let attempt = 1; !this.stopped && this.subscriptions.has(sub.name); attempt++) {
      const t0 = Date.now();
      const status = await this.push(sub, m, attempt);
      const acked = ACK.has(status);
      this.attempts.push({ subscription: sub.name, messageId: m.messageId, attempt, status, acked, ms: Date.now() - t0 });
      if (acked) return;
      if (attempt >= limit) {
        if (sub.deadLetter) this.publish(sub.deadLetter.topic, { data: Buffer.from(m.data, 'base64'), attributes: { ...m.attributes, CloudPubSubDeadLetterSourceDeliveryCount: String(attempt), CloudPubSubDeadLetterSourceSubscription: sub.name.split('/').at(-1)! } });
        return;
      }
      await sleep(Math.min(max, min * 2 ** (attempt - 1)));
    }
  }

  private async push(sub: PushSubscriptionSpec, m: PublishedMessage, attempt: number): Promise<number> {
    const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)' };
    if (sub.oidcToken) {
      // the audience defaults to the push endpoint URL
      headers.authorization = `Bearer ${await this.keys.idToken({ audience: sub.oidcToken.audience ?? sub.pushEndpoint, email: sub.oidcToken.serviceAccountEmail })}`;
    }
    try {
      const res = await fetch(sub.pushEndpoint, {
        method: 'POST',
        headers,
        body: JSON.stringify(SandboxPubSub.pushBody(sub.name, m, sub.deadLetter ? attempt : undefined)),
        signal: AbortSignal.timeout(sub.ackDeadlineMs ?? 10_000),
      });
      await res.arrayBuffer();
      return res.status;
    } catch {
      return 0;
    }
  }
}
