import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { AutoScalingClient, CreateAutoScalingGroupCommand, CreateLaunchConfigurationCommand } from '@aws-sdk/client-auto-scaling';
import { ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { parse } from 'yaml';
import { resetAwsClients } from '../../shared/platforms/aws/clients';
import { startSandbox, type Sandbox } from '../sandbox/index';
import { lambdaContext } from '../sandbox/lambda-runner';
import { deployStackResources } from '../sandbox/stack';

/**
 * Issue 7: `on-aws-event` had no DLQ or on-failure destination, so with SQS unavailable each of
 * Lambda's attempts gave up and the events were gone. EventBridge invokes the function
 * asynchronously: a rule's DLQ only catches events EventBridge could not hand to Lambda; once Lambda
 * accepted one, only the function's own asynchronous-invocation config (retries, then the
 * on-failure destination) sees the failure. So the destination is what catches "SQS unavailable".
 */
const yml = parse(readFileSync('serverless.yml', 'utf8')) as Record<string, any>;
const fn = yml.functions['on-aws-event'];
const resources = yml.resources.Resources as Record<string, any>;

let sandbox: Sandbox;
let restoreEnv: () => void;
let sqsDirect: SQSClient;
let workUrl: string;
let ingestDlqUrl: string;
let handler: (e: unknown, c: Context) => Promise<unknown>;

beforeAll(async () => {
  sandbox = await startSandbox({ motoUrl: inject('motoUrl'), region: 'sa-east-1' });
  restoreEnv = sandbox.useAwsEnv();
  resetAwsClients();
  const stack = await deployStackResources({ stage: `ing${randomBytes(3).toString('hex')}`, ...sandbox.aws });
  workUrl = Object.values(stack.queues).find((q) => q.name.endsWith('-work.fifo'))!.url;
  const dlq = Object.values(stack.queues).find((q) => q.name.endsWith('-ingest-dlq'));
  expect(dlq, 'the stack has an ingest DLQ').toBeDefined();
  ingestDlqUrl = dlq!.url;
  Object.assign(process.env, {
    SENSORFLEET_QUEUE_URL: workUrl,
    // 111122223333: the account of events/aws/eventbridge-eks-createcluster.json (events of other accounts are dropped, issue 8)
    SENSORFLEET_CONFIG: JSON.stringify({ targets: { aws: [{ accountId: sandbox.aws.accountId, regions: [sandbox.aws.region] }, { accountId: '111122223333', regions: ['us-west-2'] }] } }),
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  });
  vi.resetModules();
  handler = (await import('../../functions/on-aws-event')).handler as unknown as typeof handler;
  // Lambda's own delivery to the destination does not pass through the sandbox's faulty front
  sqsDirect = new SQSClient({ region: sandbox.aws.region, endpoint: sandbox.motoUrl, credentials: sandbox.aws.credentials });
}, 120_000);

afterAll(async () => {
  if (sandbox) sandbox.front.faults = {};
  restoreEnv?.();
  resetAwsClients();
  await sandbox?.stop();
});

/**
 * Lambda's asynchronous invocation as documented (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html):
 * the first try plus MaximumRetryAttempts retries (the waits between them are left out here), then the
 * invocation record to the on-failure destination.
 */
async function invokeAsync(event: unknown, config: { maximumRetryAttempts: number; onFailureQueueUrl: string }): Promise<{ invocations: number; failed: boolean }> {
  let last: Error | undefined;
  const tries = 1 + config.maximumRetryAttempts;
  for (let i = 0; i < tries; i++) {
    try {
      await handler(event, lambdaContext('on-aws-event', 30_000));
      return { invocations: i + 1, failed: false };
    } catch (err) {
      last = err as Error;
    }
  }
  const record = {
    version: '1.0',
    timestamp: new Date().toISOString(),
    requestContext: { requestId: randomUUID(), functionArn: 'arn:aws:lambda:sa-east-1:123456789012:function:sensorfleet-on-aws-event:$LATEST', condition: 'RetriesExhausted', approximateInvokeCount: tries },
    requestPayload: event,
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    responsePayload: { errorType: last?.name ?? 'Error', errorMessage: last?.message ?? '' },
  };
  await sqsDirect.send(new SendMessageCommand({ QueueUrl: config.onFailureQueueUrl, MessageBody: JSON.stringify(record) }));
  return { invocations: tries, failed: true };
}

async function ingestDlq(): Promise<any[]> {
  const out = await sqsDirect.send(new ReceiveMessageCommand({ QueueUrl: ingestDlqUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 60 }));
  return (out.Messages ?? []).map((m) => JSON.parse(m.Body!));
}

describe('on-aws-event has its own DLQ', () => {
  it('serverless.yml: asynchronous retries and an on-failure destination to a standard queue the role may write', () => {
    expect(fn.maximumRetryAttempts).toBe(2);
    expect(fn.destinations?.onFailure).toMatchObject({ type: 'sqs', arn: { 'Fn::GetAtt': [expect.any(String), 'Arn'] } });
    const queueId = fn.destinations.onFailure.arn['Fn::GetAtt'][0] as string;
    expect(resources[queueId]).toMatchObject({ Type: 'AWS::SQS::Queue' });
    expect(resources[queueId].Properties.FifoQueue).toBeUndefined(); // Lambda destinations take no FIFO queue
    const role = resources[fn.role].Properties.Policies.flatMap((p: any) => p.PolicyDocument.Statement);
    const writes = role.filter((s: any) => [s.Action].flat().includes('sqs:SendMessage')).flatMap((s: any) => [s.Resource].flat());
    expect(writes).toContainEqual({ 'Fn::GetAtt': [queueId, 'Arn'] });
  });

  it('with SQS unavailable every attempt fails and the event reaches the ingest DLQ with the error', async () => {
    const event = JSON.parse(readFileSync('events/aws/eventbridge-eks-createcluster.json', 'utf8'));
    event.id = `sqs-down-${randomUUID()}`;
    sandbox.front.faults = { failNext: { service: 'sqs', operation: 'SendMessageBatch', count: 1000 } };
    let result;
    try {
      result = await invokeAsync(event, { maximumRetryAttempts: fn.maximumRetryAttempts, onFailureQueueUrl: ingestDlqUrl });
    } finally {
      sandbox.front.faults = {};
    }
    expect(result).toEqual({ invocations: 3, failed: true });
    const [record] = (await ingestDlq()).filter((r) => r.requestPayload?.id === event.id);
    expect(record).toBeDefined();
    expect(record.responsePayload.errorMessage).toMatch(/could not queue 1 event\(s\)/);
  }, 120_000);

  it('an ASG launch whose group cannot be read (Auto Scaling unavailable) fails the invocation instead of being dropped', async () => {
    const autoscaling = new AutoScalingClient({ region: sandbox.aws.region, endpoint: sandbox.motoUrl, credentials: sandbox.aws.credentials });
    const group = `eks-ng-${randomBytes(3).toString('hex')}`;
    await autoscaling.send(new CreateLaunchConfigurationCommand({ LaunchConfigurationName: `lc-${group}`, ImageId: 'ami-12c6146b', InstanceType: 't3.medium' }));
    await autoscaling.send(
      new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: group,
        LaunchConfigurationName: `lc-${group}`,
        MinSize: 0,
        MaxSize: 1,
        DesiredCapacity: 0,
        AvailabilityZones: [`${sandbox.aws.region}a`],
        Tags: [{ Key: 'eks:cluster-name', Value: 'web', PropagateAtLaunch: true, ResourceId: group, ResourceType: 'auto-scaling-group' }],
      }),
    );
    const launch = JSON.parse(readFileSync('events/aws/eventbridge-asg-launch.json', 'utf8'));
    const event = { ...launch, id: randomUUID(), account: sandbox.aws.accountId, region: sandbox.aws.region, detail: { ...launch.detail, AutoScalingGroupName: group } };
    sandbox.front.faults = { failNext: { service: 'autoscaling', operation: 'DescribeAutoScalingGroups', count: 1000 } };
    try {
      await expect(handler(event, lambdaContext('on-aws-event', 30_000))).rejects.toThrow(/ASG launch .* could not be resolved/);
    } finally {
      sandbox.front.faults = {};
    }
    // once Auto Scaling answers, the retry queues the cluster event
    await expect(handler(event, lambdaContext('on-aws-event', 30_000))).resolves.toEqual({ queued: 1, rejected: 0 });
  }, 120_000);
});
