import { readFileSync } from 'node:fs';
import { CreateEventBusCommand, EventBridgeClient, PutEventsCommand, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { parse } from 'yaml';
import { lambdaContext } from './lambda-runner';

/**
 * Events of member accounts reaching the control plane, in moto's EventBridge as infra/ sets it up:
 *  - the control plane's bus (serverless.yml resource EventBus) with on-aws-event's rules (its
 *    serverless.yml patterns); their target is an SQS queue standing in for the function (EventBridge ->
 *    Lambda needs Docker in moto), from which `deliver` invokes the handler with each event;
 *  - in each member account and region, the forwarding rules of infra/modules/event-forwarding
 *    (patterns.json) on the default bus, targeting the control plane's bus with the forwarding role.
 * What moto does and does not do here (moto 5.2.1, moto/events/models.py Rule.send_to_targets): a rule
 * whose target is another account's bus re-puts the event there (cross-account and cross-region work);
 * it does NOT check the target bus's policy (PutPermission/PutPolicy are stored, never enforced) nor the
 * rule's RoleArn, and the forwarded envelope gets a new id and the receiving account and region (real
 * EventBridge keeps the sender's `account` and `region`). The bus policy is therefore checked
 * structurally (test/unit/infra-*.test.ts), and on-aws-event drops events of unconfigured accounts itself.
 */
export interface AwsForwarding {
  centralBusName: string;
  centralBusArn: string;
  /** Forwarding rules in a member account's region (what infra/aws-member-account creates there). */
  addMemberAccount(accountId: string, region: string): Promise<void>;
  /**
   * The stack's own region (serverless.yml resources OwnRegionForward*): its default bus forwards to the
   * control plane's bus with the rules serverless.yml defines (bus to bus in one account and region).
   */
  addOwnRegion(): Promise<void>;
  /** PutEvents of an AWS-shaped event on a member account's default bus. */
  putEvent(accountId: string, region: string, event: { source: string; 'detail-type': string; detail: Record<string, unknown>; resources?: string[] }): Promise<void>;
  /** Invokes the handler with each event that reached on-aws-event's rules; returns how many. */
  deliver(handler: (event: unknown, context: Context) => Promise<unknown>): Promise<number>;
  stop(): void;
}

export async function startAwsForwarding(o: { motoUrl: string; accountId: string; region: string; stage: string; serverlessYml?: string }): Promise<AwsForwarding> {
  const yml = parse(readFileSync(o.serverlessYml ?? 'serverless.yml', 'utf8')) as Record<string, any>;
  const busName = String(yml.resources.Resources.EventBus.Properties.Name).replace('${self:service}', yml.service).replace('${sls:stage}', o.stage);
  const patterns = (yml.functions['on-aws-event'].events as { eventBridge?: { pattern: unknown } }[]).flatMap((e) => (e.eventBridge ? [e.eventBridge.pattern] : []));
  const forwarded = JSON.parse(readFileSync('infra/modules/event-forwarding/patterns.json', 'utf8')) as Record<string, unknown>;
  const clients = new Map<string, { eb: EventBridgeClient; sqs: SQSClient }>();
  const as = (account: string, region: string) => {
    const key = `${account}|${region}`;
    let c = clients.get(key);
    if (!c) {
      const config = { endpoint: o.motoUrl, region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
      c = { eb: new EventBridgeClient(config), sqs: new SQSClient(config) };
      for (const client of [c.eb, c.sqs] as { middlewareStack: any }[]) {
        client.middlewareStack.add((next: any) => async (args: any) => {
          args.request.headers['x-moto-account-id'] = account;
          return next(args);
        }, { step: 'build', name: 'motoAccount' });
      }
      clients.set(key, c);
    }
    return c;
  };

  const cp = as(o.accountId, o.region);
  const bus = await cp.eb.send(new CreateEventBusCommand({ Name: busName }));
  const queue = await cp.sqs.send(new CreateQueueCommand({ QueueName: `${busName}-on-aws-event-invocations` }));
  const queueArn = (await cp.sqs.send(new GetQueueAttributesCommand({ QueueUrl: queue.QueueUrl!, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
  for (const [i, pattern] of patterns.entries()) {
    const name = `${busName}-on-aws-event-${i}`;
    await cp.eb.send(new PutRuleCommand({ Name: name, EventBusName: busName, EventPattern: JSON.stringify(pattern), State: 'ENABLED' }));
    await cp.eb.send(new PutTargetsCommand({ Rule: name, EventBusName: busName, Targets: [{ Id: 'on-aws-event', Arn: queueArn }] }));
  }

  return {
    centralBusName: busName,
    centralBusArn: bus.EventBusArn!,
    async addMemberAccount(accountId, region) {
      const m = as(accountId, region);
      for (const [name, pattern] of Object.entries(forwarded)) {
        const rule = `sensorfleet-forward-${name}`;
        await m.eb.send(new PutRuleCommand({ Name: rule, EventPattern: JSON.stringify(pattern), State: 'ENABLED', Description: 'sensorfleet: forward to the control plane bus' }));
        await m.eb.send(new PutTargetsCommand({ Rule: rule, Targets: [{ Id: 'control-plane-bus', Arn: bus.EventBusArn!, RoleArn: `arn:aws:iam::${accountId}:role/sensorfleet-event-forwarding` }] }));
      }
    },
    async addOwnRegion() {
      const resources = yml.resources.Resources as Record<string, { Type: string; Properties: Record<string, any> }>;
      for (const [id, r] of Object.entries(resources)) {
        if (r.Type !== 'AWS::Events::Rule' || r.Properties.EventBusName !== 'default') continue;
        const targets = r.Properties.Targets as { Id: string; Arn: unknown }[];
        if (targets.length !== 1 || JSON.stringify(targets[0]!.Arn) !== JSON.stringify({ 'Fn::GetAtt': ['EventBus', 'Arn'] })) throw new Error(`${id}: expected one target, the EventBus`);
        await cp.eb.send(new PutRuleCommand({ Name: id, EventPattern: JSON.stringify(r.Properties.EventPattern), State: 'ENABLED', Description: r.Properties.Description }));
        await cp.eb.send(new PutTargetsCommand({ Rule: id, Targets: [{ Id: targets[0]!.Id, Arn: bus.EventBusArn!, RoleArn: `arn:aws:iam::${o.accountId}:role/${id}-role` }] }));
      }
    },
    async putEvent(accountId, region, e) {
      const out = await as(accountId, region).eb.send(new PutEventsCommand({ Entries: [{ Source: e.source, DetailType: e['detail-type'], Detail: JSON.stringify(e.detail), Resources: e.resources ?? [] }] }));
      if (out.FailedEntryCount) throw new Error(`PutEvents failed: ${JSON.stringify(out.Entries)}`);
    },
    async deliver(handler) {
      let n = 0;
      for (;;) {
        const r = await cp.sqs.send(new ReceiveMessageCommand({ QueueUrl: queue.QueueUrl!, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 60 }));
        if (!r.Messages?.length) return n;
        for (const m of r.Messages) {
          await handler(JSON.parse(m.Body!), lambdaContext('on-aws-event'));
          n++;
        }
        await cp.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queue.QueueUrl!, Entries: r.Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
      }
    },
    stop() {
      for (const c of clients.values()) {
        c.eb.destroy();
        c.sqs.destroy();
      }
    },
  };
}
