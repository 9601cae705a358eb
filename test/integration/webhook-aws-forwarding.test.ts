import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { resetAwsClients } from '../../shared/platforms/aws/clients';
import { ecsContainerInstanceStateChange, eksCreateCluster } from '../sandbox/event-factory';
import { captureConsole } from '../sandbox/eventgrid/webhook-harness';
import { startAwsForwarding, type AwsForwarding } from '../sandbox/member-account';
import { deployStackResources } from '../sandbox/stack';
import { importBundledHandler } from '../support/bundle';

/**
 * Member accounts and regions (issue 8) in moto's EventBridge: the forwarding rules of
 * infra/modules/event-forwarding on each member's default bus target the control plane's bus (a
 * cross-account and cross-region bus target), where on-aws-event's rules (serverless.yml) listen; the
 * bundled on-aws-event then queues events of configured target accounts only and drops the others with
 * a log line. moto does not enforce bus policies: that is checked structurally in test/unit/infra-*.
 */
const endpoint = inject('motoUrl');
const region = 'eu-west-1';
const CONTROL = '123456789012';
const MEMBER = '345678901234';
const OTHER_REGION = 'us-west-2';
const STRANGER = '456789012345';
const suffix = randomBytes(3).toString('hex');
let forwarding: AwsForwarding;
let handler: (e: unknown, c: Context) => Promise<{ queued: number }>;
let sqs: SQSClient;
let queueUrl: string;
const logs: string[] = [];
let restoreConsole: () => void;

beforeAll(async () => {
  Object.assign(process.env, { AWS_ENDPOINT_URL: endpoint, AWS_REGION: region, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' });
  delete process.env.AWS_SESSION_TOKEN;
  resetAwsClients();
  const stage = `wf${suffix}`;
  const stack = await deployStackResources({ stage, region, accountId: CONTROL, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, endpoint });
  queueUrl = Object.values(stack.queues).find((q) => q.name.endsWith('-work.fifo'))!.url;
  forwarding = await startAwsForwarding({ motoUrl: endpoint, accountId: CONTROL, region, stage });
  await forwarding.addMemberAccount(MEMBER, region);
  await forwarding.addMemberAccount(MEMBER, OTHER_REGION);
  await forwarding.addMemberAccount(STRANGER, region);
  await forwarding.addOwnRegion();
  Object.assign(process.env, {
    SENSORFLEET_QUEUE_URL: queueUrl,
    SENSORFLEET_CONFIG: JSON.stringify({ targets: { aws: [{ accountId: CONTROL, regions: [region] }, { accountId: MEMBER, regions: [region, OTHER_REGION], roleArn: `arn:aws:iam::${MEMBER}:role/sensorfleet-target` }] } }),
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_DEV: 'true',
    POWERTOOLS_LOG_LEVEL: 'INFO',
  });
  restoreConsole = captureConsole(logs);
  handler = await importBundledHandler('functions/on-aws-event.ts');
  sqs = new SQSClient({ region, endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
}, 120_000);

afterAll(() => {
  restoreConsole?.();
  forwarding?.stop();
  sqs?.destroy();
});

async function queued(): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 600 }));
    if (!r.Messages?.length) return out;
    out.push(...r.Messages.map((m) => (JSON.parse(m.Body!) as { cluster: string }).cluster));
  }
}

describe('forwarding from member accounts to the control plane bus (moto EventBridge)', () => {
  it('the central bus is the one serverless.yml defines, and its rules are the same patterns infra/ forwards', () => {
    expect(forwarding.centralBusName).toBe(`sensorfleet-wf${suffix}`);
    expect(forwarding.centralBusArn).toBe(`arn:aws:events:${region}:${CONTROL}:event-bus/sensorfleet-wf${suffix}`);
  });

  it("a member's EKS CreateCluster, in the control plane's region and in another, reaches on-aws-event and is queued", async () => {
    await forwarding.putEvent(MEMBER, region, eksCreateCluster({ account: MEMBER, region }, `eks-a-${suffix}`));
    await forwarding.putEvent(MEMBER, OTHER_REGION, eksCreateCluster({ account: MEMBER, region: OTHER_REGION }, `eks-b-${suffix}`));
    expect(await forwarding.deliver(handler)).toBe(2);
    expect((await queued()).sort()).toEqual([`aws-eks:${MEMBER}:${region}:eks-a-${suffix}`, `aws-eks:${MEMBER}:${OTHER_REGION}:eks-b-${suffix}`]);
  });

  it("the stack's own account and region: its default bus forwards to the control plane bus (serverless.yml OwnRegionForward*), the cluster is queued", async () => {
    await forwarding.putEvent(CONTROL, region, eksCreateCluster({ account: CONTROL, region }, `eks-own-${suffix}`));
    await forwarding.putEvent(CONTROL, region, ecsContainerInstanceStateChange({ account: CONTROL, region }, `ecs-own-${suffix}`, `arn:aws:ecs:${region}:${CONTROL}:container-instance/ecs-own-${suffix}/0123456789abcdef`, 'i-0own'));
    expect(await forwarding.deliver(handler)).toBe(2);
    expect((await queued()).sort()).toEqual([`aws-ecs:${CONTROL}:${region}:ecs-own-${suffix}`, `aws-eks:${CONTROL}:${region}:eks-own-${suffix}`]);
  });

  it('an ECS container instance change of a member cluster is forwarded too (the cluster ARN names the account)', async () => {
    const e = ecsContainerInstanceStateChange({ account: MEMBER, region }, `ecs-${suffix}`, `arn:aws:ecs:${region}:${MEMBER}:container-instance/ecs-${suffix}/0123456789abcdef`, 'i-0abc');
    await forwarding.putEvent(MEMBER, region, e);
    expect(await forwarding.deliver(handler)).toBe(1);
    expect(await queued()).toEqual([`aws-ecs:${MEMBER}:${region}:ecs-${suffix}`]);
  });

  it('what the patterns do not match is not forwarded (S3 CreateBucket via CloudTrail)', async () => {
    const s3 = JSON.parse(readFileSync('test/fixtures/events/reference/aws-eventbridge-cloudtrail-envelope-s3-createbucket.json', 'utf8'));
    await forwarding.putEvent(MEMBER, region, s3);
    expect(await forwarding.deliver(handler)).toBe(0);
  });

  it('an account that is not a configured target: forwarded (moto enforces no bus policy) but dropped by on-aws-event with a log line, nothing queued', async () => {
    await forwarding.putEvent(STRANGER, region, eksCreateCluster({ account: STRANGER, region }, `eks-stranger-${suffix}`));
    expect(await forwarding.deliver(handler)).toBe(1);
    expect(await queued()).toEqual([]);
    const line = logs.find((l) => l.includes('event dropped: not a configured target'));
    expect(line).toContain(`account ${STRANGER} is not a configured target (targets.aws)`);
  });
});
