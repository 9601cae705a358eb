import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateEventBusCommand, DeleteEventBusCommand, DeleteRuleCommand, EventBridgeClient, PutEventsCommand, PutRuleCommand, PutTargetsCommand, RemoveTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, DeleteQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';
import { normalizeEvent } from '../../shared/events/normalize';

/**
 * The EventBridge patterns of on-aws-event, taken from serverless.yml, checked against the real
 * sample events through moto's EventBridge: a rule per pattern on a bus of our own, an SQS target,
 * PutEvents of each sample, then read the queue (moto routes by pattern; it has no TestEventPattern).
 */
const suffix = randomBytes(4).toString('hex');
const region = 'us-east-1';
const clientConfig = { region, endpoint: inject('motoUrl'), credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } };
const eb = new EventBridgeClient(clientConfig);
const sqs = new SQSClient(clientConfig);
const bus = `sf-patterns-${suffix}`;
let queueUrl = '';
const ruleNames: string[] = [];

type Envelope = { id: string; 'detail-type': string; source: string; resources?: string[]; detail: Record<string, unknown> };
const ref = (f: string) => JSON.parse(readFileSync(join('test/fixtures/events/reference', f), 'utf8')) as Envelope;
const fixture = (f: string) => JSON.parse(readFileSync(join('events', f), 'utf8')) as Envelope;

function patternsFromServerlessYml(): Record<string, unknown>[] {
  const doc = parse(readFileSync('serverless.yml', 'utf8')) as { functions: Record<string, { events?: { eventBridge?: { pattern: Record<string, unknown> } }[] }> };
  return (doc.functions['on-aws-event']!.events ?? []).flatMap((e) => (e.eventBridge ? [e.eventBridge.pattern] : []));
}

beforeAll(async () => {
  await eb.send(new CreateEventBusCommand({ Name: bus }));
  const q = await sqs.send(new CreateQueueCommand({ QueueName: `sf-patterns-${suffix}` }));
  queueUrl = q.QueueUrl!;
  const arn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
  const patterns = patternsFromServerlessYml();
  expect(patterns.length).toBeGreaterThanOrEqual(4);
  for (const [i, pattern] of patterns.entries()) {
    const name = `sf-on-aws-event-${suffix}-${i}`;
    await eb.send(new PutRuleCommand({ Name: name, EventBusName: bus, EventPattern: JSON.stringify(pattern), State: 'ENABLED' }));
    await eb.send(new PutTargetsCommand({ Rule: name, EventBusName: bus, Targets: [{ Id: 'queue', Arn: arn }] }));
    ruleNames.push(name);
  }
});

afterAll(async () => {
  for (const name of ruleNames) {
    await eb.send(new RemoveTargetsCommand({ Rule: name, EventBusName: bus, Ids: ['queue'] }));
    await eb.send(new DeleteRuleCommand({ Name: name, EventBusName: bus }));
  }
  await eb.send(new DeleteEventBusCommand({ Name: bus }));
  if (queueUrl) await sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
});

/** Puts one event on the bus and returns what the rules delivered to the queue. */
async function deliver(e: Envelope): Promise<Envelope[]> {
  const out = await eb.send(
    new PutEventsCommand({ Entries: [{ EventBusName: bus, Source: e.source, DetailType: e['detail-type'], Detail: JSON.stringify(e.detail), Resources: e.resources ?? [] }] }),
  );
  expect(out.FailedEntryCount ?? 0).toBe(0);
  const received: Envelope[] = [];
  for (;;) {
    const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 300 }));
    if (!r.Messages?.length) break;
    received.push(...r.Messages.map((m) => JSON.parse(m.Body!) as Envelope));
  }
  return received;
}

const ecsRunTask = fixture('aws/eventbridge-ecs-createcluster.json');
ecsRunTask.detail = { ...ecsRunTask.detail, eventName: 'RunTask' };
const eksDescribe = fixture('aws/eventbridge-eks-createcluster.json');
eksDescribe.detail = { ...eksDescribe.detail, eventName: 'DescribeCluster' };

describe('on-aws-event EventBridge patterns (serverless.yml) against moto', () => {
  it.each([
    ['ECS CreateCluster', fixture('aws/eventbridge-ecs-createcluster.json'), 'aws-ecs:123456789012:us-east-1:default'],
    ['ECS DeleteCluster', fixture('aws/eventbridge-ecs-deletecluster.json'), 'aws-ecs:123456789012:us-east-1:default'],
    ['EKS CreateCluster', fixture('aws/eventbridge-eks-createcluster.json'), 'aws-eks:111122223333:us-west-2:test'],
    ['EKS CreateNodegroup', fixture('aws/eventbridge-eks-createnodegroup.json'), 'aws-eks:111122223333:us-west-2:prod-web'],
    ['EKS UpdateNodegroupConfig', fixture('aws/eventbridge-eks-updatenodegroupconfig.json'), 'aws-eks:111122223333:us-west-2:prod-web'],
    ['EKS DeleteCluster', fixture('aws/eventbridge-eks-deletecluster.json'), 'aws-eks:111122223333:us-west-2:prod-web'],
    ['ECS Container Instance State Change', ref('aws-ecs-container-instance-state-change.json'), 'aws-ecs:111122223333:us-east-1:default'],
  ])('%s matches exactly one rule and normalises from what EventBridge delivered', async (_n, sample, cluster) => {
    const got = await deliver(sample);
    expect(got).toHaveLength(1);
    expect(got[0]!['detail-type']).toBe(sample['detail-type']);
    // the delivered envelope (new id, moto's account/region) still carries the record: same cluster
    const events = normalizeEvent(got[0]).events;
    expect(events.map((e) => e.cluster)).toEqual([cluster]);
  });

  it('EC2 Instance Launch Successful matches exactly one rule', async () => {
    const got = await deliver(ref('aws-autoscaling-ec2-instance-launch-successful.json'));
    expect(got).toHaveLength(1);
    // moto's delivery drops the envelope's `account` (real EventBridge keeps it); put it back to
    // check the delivered detail still names the group and the instance
    expect(normalizeEvent({ ...got[0], account: '123456789012' }).pending.map((p) => [p.asgName, p.instanceId, p.region])).toEqual([
      ['my-auto-scaling-group', 'i-1234567890abcdef0', 'us-east-1'],
    ]);
  });

  it.each([
    ['S3 CreateBucket via CloudTrail', ref('aws-eventbridge-cloudtrail-envelope-s3-createbucket.json')],
    ['Scheduled Event', ref('aws-events-scheduled-event.json')],
    ['ECS RunTask via CloudTrail', ecsRunTask],
    ['EKS DescribeCluster via CloudTrail', eksDescribe],
    ['EKS CreateCluster that failed (errorCode)', fixture('aws/eventbridge-eks-createcluster-denied.json')],
  ])('%s matches no rule', async (_n, sample) => {
    expect(await deliver(sample)).toEqual([]);
  });
});
