import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { AutoScalingClient, CreateAutoScalingGroupCommand, CreateLaunchConfigurationCommand } from '@aws-sdk/client-auto-scaling';
import { ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { resetAwsClients } from '../../shared/platforms/aws/clients';
import { lambdaContext } from '../sandbox/lambda-runner';
import { deployStackResources } from '../sandbox/stack';

/**
 * functions/on-aws-event end to end against moto: EventBridge payload -> canonical events -> the
 * FIFO work queue from serverless.yml; ASG launches resolved through the group's tags in moto's
 * Auto Scaling; bad input logged and answered normally (never retried, nothing queued).
 */
const region = 'us-east-1';
const account = '123456789012';
const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };
const endpoint = inject('motoUrl');
const suffix = randomBytes(4).toString('hex');
const sqs = new SQSClient({ region, endpoint, credentials });
const autoscaling = new AutoScalingClient({ region, endpoint, credentials });
let queueUrl = '';
let handler: (event: unknown, context: Context) => Promise<{ queued: number; rejected: number }>;

beforeAll(async () => {
  const stack = await deployStackResources({ stage: `h${suffix}`, region, accountId: account, credentials, endpoint });
  queueUrl = Object.values(stack.queues).find((q) => q.name.endsWith('-work.fifo'))!.url;
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_REGION: region,
    SENSORFLEET_QUEUE_URL: queueUrl,
    POWERTOOLS_METRICS_DISABLED: 'true',
    // on-aws-event queues only events of configured target accounts: the samples' and this test's
    SENSORFLEET_CONFIG: JSON.stringify({ targets: { aws: [{ accountId: '111122223333', regions: ['us-west-2'] }, { accountId: account, regions: [region] }] } }),
    // Powertools' documented switch to write logs through the global console, so a test can read them
    POWERTOOLS_DEV: 'true',
  });
  resetAwsClients();
  handler = (await import('../../functions/on-aws-event')).handler as unknown as typeof handler;
  await autoscaling.send(new CreateLaunchConfigurationCommand({ LaunchConfigurationName: `lc-${suffix}`, ImageId: 'ami-12c6146b', InstanceType: 't3.medium' }));
});

async function drain(): Promise<Message[]> {
  const all: Message[] = [];
  for (;;) {
    const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 600 }));
    if (!r.Messages?.length) return all;
    all.push(...r.Messages);
  }
}

async function asg(name: string, tags: Record<string, string>) {
  await autoscaling.send(
    new CreateAutoScalingGroupCommand({
      AutoScalingGroupName: name,
      LaunchConfigurationName: `lc-${suffix}`,
      MinSize: 0,
      MaxSize: 1,
      DesiredCapacity: 0,
      AvailabilityZones: [`${region}a`],
      Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value, PropagateAtLaunch: true, ResourceId: name, ResourceType: 'auto-scaling-group' })),
    }),
  );
}

function asgLaunch(asgName: string) {
  const e = JSON.parse(readFileSync('events/aws/eventbridge-asg-launch.json', 'utf8'));
  return { ...e, id: `${randomBytes(8).toString('hex')}`, account, region, detail: { ...e.detail, AutoScalingGroupName: asgName } };
}

describe('on-aws-event handler', () => {
  it('queues the cluster event of an EventBridge CloudTrail event, once even when delivered twice', async () => {
    const event = JSON.parse(readFileSync('events/aws/eventbridge-eks-createcluster.json', 'utf8'));
    expect(await handler(event, lambdaContext('on-aws-event'))).toEqual({ queued: 1, rejected: 0 });
    await handler(event, lambdaContext('on-aws-event'));
    const messages = await drain();
    expect(messages.map((m) => JSON.parse(m.Body!).cluster)).toEqual(['aws-eks:111122223333:us-west-2:test']);
  });

  it('resolves an ASG launch through the group tags (eks:cluster-name) and queues nodes-changed', async () => {
    await asg(`eks-ng-${suffix}`, { 'eks:cluster-name': `web-${suffix}` });
    expect(await handler(asgLaunch(`eks-ng-${suffix}`), lambdaContext('on-aws-event'))).toEqual({ queued: 1, rejected: 0 });
    const [m] = await drain();
    expect(JSON.parse(m!.Body!)).toMatchObject({ kind: 'nodes-changed', cluster: `aws-eks:${account}:${region}:web-${suffix}`, detail: { asgName: `eks-ng-${suffix}`, instanceId: 'i-1234567890abcdef0' } });
  });

  it('drops an ASG launch whose group names no cluster (logged, nothing queued, no throw)', async () => {
    await asg(`plain-${suffix}`, { team: 'web' });
    expect(await handler(asgLaunch(`plain-${suffix}`), lambdaContext('on-aws-event'))).toEqual({ queued: 0, rejected: 0 });
    expect(await handler(asgLaunch(`missing-${suffix}`), lambdaContext('on-aws-event'))).toEqual({ queued: 0, rejected: 0 });
    expect(await drain()).toEqual([]);
  });

  it('logs a malformed event with its id and reason and returns normally', async () => {
    const lines: string[] = [];
    const spy = vi.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => {
      lines.push(args.map(String).join(' '));
    });
    try {
      const bad = { version: '0', id: `bad-${suffix}`, 'detail-type': 'AWS API Call via CloudTrail', source: 'aws.eks', region, account, detail: { eventSource: 'eks.amazonaws.com', eventName: 'CreateCluster' } };
      expect(await handler(bad, lambdaContext('on-aws-event'))).toEqual({ queued: 0, rejected: 1 });
      expect(await handler('not json at all', lambdaContext('on-aws-event'))).toEqual({ queued: 0, rejected: 1 });
    } finally {
      spy.mockRestore();
    }
    const warning = lines.map((l) => JSON.parse(l)).find((l) => l.message === 'event not processed' && l.eventId === `bad-${suffix}`);
    expect(warning?.reason).toMatch(/eventID/);
    expect(await drain()).toEqual([]);
  });
});
