import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runCli } from '../support/run-cli';
import { startSandbox, type Sandbox } from '../sandbox/index';
import { deployStackResources } from '../sandbox/stack';

/**
 * `sensorfleet invoke FUNCTION --event FILE` (issue 10): `serverless invoke local -p events/…` failed
 * offline because it resolves stack outputs. This bundles the handler as `serverless package` does and
 * runs it against the sandbox, with the README's samples from events/.
 */
let sandbox: Sandbox;
let restore: () => void;
let queueUrl: string;

const run = runCli;

beforeAll(async () => {
  sandbox = await startSandbox({ motoUrl: inject('motoUrl') });
  restore = sandbox.useAwsEnv();
  const stack = await deployStackResources({ stage: `inv${randomBytes(3).toString('hex')}`, ...sandbox.aws });
  queueUrl = Object.values(stack.queues).find((q) => q.name.endsWith('-work.fifo'))!.url;
  process.env.SENSORFLEET_QUEUE_URL = queueUrl;
}, 120_000);

afterAll(async () => {
  delete process.env.SENSORFLEET_QUEUE_URL;
  restore?.();
  await sandbox?.stop();
});

describe('sensorfleet invoke', () => {
  it('runs on-aws-event on a sample from events/: its result on stdout, its logs on stderr, the work item in the queue', async () => {
    const r = await run(['invoke', 'on-aws-event', '--event', 'events/aws/eventbridge-eks-createcluster.json', '--config', 'events/sample-targets.yaml']);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toEqual({ queued: 1, rejected: 0 });
    expect(r.err).toContain('"function":"on-aws-event"'); // Powertools' JSON log lines, not mixed into the result
    const sqs = new SQSClient({ region: sandbox.aws.region, endpoint: sandbox.aws.endpoint, credentials: sandbox.aws.credentials });
    const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ['MessageGroupId'] }));
    const message = got.Messages?.find((m) => m.Attributes?.MessageGroupId === 'aws-eks:111122223333:us-west-2:test');
    expect(JSON.parse(message!.Body!)).toMatchObject({ kind: 'cluster-created', cluster: 'aws-eks:111122223333:us-west-2:test' });
    sqs.destroy();
  }, 120_000);

  it('a handler that throws is exit 1 with the error as Lambda reports it', async () => {
    const saved = process.env.SENSORFLEET_QUEUE_URL;
    process.env.SENSORFLEET_QUEUE_URL = '';
    try {
      const r = await run(['invoke', 'on-aws-event', '--event', 'events/aws/eventbridge-ecs-createcluster.json', '--config', 'events/../package.json']);
      expect(r.code).toBe(2); // package.json is no configuration: rejected before anything runs
      const threw = await run(['invoke', 'on-aws-event', '--event', 'events/aws/eventbridge-ecs-createcluster.json', '--config', 'events/sample-targets.yaml']);
      expect(threw.code).toBe(1);
      expect(threw.err).toContain('{"errorType":"Error","errorMessage":"SENSORFLEET_QUEUE_URL is not set"}');
      expect(threw.out).toBe('');
    } finally {
      process.env.SENSORFLEET_QUEUE_URL = saved;
    }
  }, 120_000);

  it('an unknown function or an event that is not JSON is exit 2', async () => {
    const unknown = await run(['invoke', 'on-azure-event', '--event', 'events/aws/eventbridge-eks-createcluster.json']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('no function "on-azure-event" in serverless.yml (one of on-aws-event, reconcile-worker, nightly, redeploy, qualys-hygiene');
    const notJson = await run(['invoke', 'on-aws-event', '--event', 'README.md']);
    expect(notJson.code).toBe(2);
    expect(notJson.err).toContain('the event README.md is not JSON');
  });
});
