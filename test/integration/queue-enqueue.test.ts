import { randomBytes } from 'node:crypto';
import { GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { ClusterEvent } from '../../shared/domain/cluster-event';
import { resetAwsClients } from '../../shared/platforms/aws/clients';
import { enqueueClusterEvents, fifoId } from '../../shared/queue/work-queue';
import { deployStackResources } from '../sandbox/stack';

/**
 * enqueueClusterEvents against moto's SQS, on the FIFO work queue created from serverless.yml's
 * resources: deduplication by event id, one message group per cluster, batches of 10.
 */
const region = 'us-east-1';
const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };
const endpoint = inject('motoUrl');
const sqs = new SQSClient({ region, endpoint, credentials });

beforeAll(() => {
  // standard SDK endpoint configuration: the product's awsClient() picks these up
  process.env.AWS_ENDPOINT_URL = endpoint;
  process.env.AWS_ACCESS_KEY_ID = credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = credentials.secretAccessKey;
  process.env.AWS_REGION = region;
  resetAwsClients();
});

async function freshWorkQueue(): Promise<string> {
  const stack = await deployStackResources({ stage: `q${randomBytes(4).toString('hex')}`, region, accountId: '123456789012', credentials, endpoint });
  const work = Object.values(stack.queues).find((q) => q.name.endsWith('-work.fifo'));
  expect(work).toBeDefined();
  return work!.url;
}

async function drain(queueUrl: string): Promise<Message[]> {
  const all: Message[] = [];
  for (;;) {
    const r = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 600, MessageSystemAttributeNames: ['MessageGroupId', 'MessageDeduplicationId'] }),
    );
    if (!r.Messages?.length) return all;
    all.push(...r.Messages);
  }
}

function event(id: string, cluster: string, kind: ClusterEvent['kind'] = 'cluster-created'): ClusterEvent {
  return { id, time: '2024-03-01T10:00:00.000Z', kind, cluster, source: 'test', detail: {} };
}

describe('enqueueClusterEvents (SQS FIFO in moto)', () => {
  it('the same event delivered twice is one message', async () => {
    const url = await freshWorkQueue();
    const e = event('aws-cloudtrail:eab22523-174a-499c-9dd6-91e7be3ff8e3', 'aws-eks:111122223333:us-west-2:test');
    expect(await enqueueClusterEvents(url, [e])).toEqual({ sent: 1, failed: [] });
    expect(await enqueueClusterEvents(url, [e])).toEqual({ sent: 1, failed: [] }); // SQS accepts and drops the duplicate
    const messages = await drain(url);
    expect(messages).toHaveLength(1);
    expect(JSON.parse(messages[0]!.Body!)).toEqual(e);
    expect(messages[0]!.Attributes).toMatchObject({ MessageGroupId: e.cluster, MessageDeduplicationId: e.id });
  });

  it('two events for one cluster share a message group; other clusters get their own', async () => {
    const url = await freshWorkQueue();
    const cluster = 'aws-ecs:123456789012:us-east-1:payments';
    const out = await enqueueClusterEvents(url, [event('e-1', cluster), event('e-2', cluster, 'nodes-changed'), event('e-3', 'aws-ecs:123456789012:us-east-1:batch')]);
    expect(out).toEqual({ sent: 3, failed: [] });
    const messages = await drain(url);
    const groups = Object.fromEntries(messages.map((m) => [m.Attributes!.MessageDeduplicationId!, m.Attributes!.MessageGroupId!]));
    expect(groups).toEqual({ 'e-1': cluster, 'e-2': cluster, 'e-3': 'aws-ecs:123456789012:us-east-1:batch' });
    // FIFO order within the group
    const inGroup = messages.filter((m) => m.Attributes!.MessageGroupId === cluster).map((m) => JSON.parse(m.Body!).id);
    expect(inGroup).toEqual(['e-1', 'e-2']);
  });

  it('sends more than 10 events in batches of 10', async () => {
    const url = await freshWorkQueue();
    const events = Array.from({ length: 23 }, (_, i) => event(`bulk-${i}`, `aws-eks:123456789012:us-east-1:c${i % 5}`));
    expect(await enqueueClusterEvents(url, events)).toEqual({ sent: 23, failed: [] });
    const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages'] }));
    expect(Number(attrs.Attributes!.ApproximateNumberOfMessages)).toBe(23);
  });

  it('long or unusual ids are made valid FIFO ids (hashed, stable)', async () => {
    const url = await freshWorkQueue();
    const longRef = `azure-aks:8f3a9c2e-1b4d-4e5f-a6b7-c8d9e0f1a2b3:${'rg-'.padEnd(90, 'x')}:${'aks-'.padEnd(63, 'y')}`;
    const id = `gcp-pubsub:${'9'.repeat(150)} with spaces`;
    expect(fifoId(longRef)).toHaveLength(128);
    expect(fifoId(longRef)).toBe(fifoId(longRef));
    expect(fifoId(id)).not.toContain(' ');
    expect(await enqueueClusterEvents(url, [event(id, longRef), event(id, longRef)])).toEqual({ sent: 1, failed: [] });
    const [m] = await drain(url);
    expect(m!.Attributes).toMatchObject({ MessageGroupId: fifoId(longRef), MessageDeduplicationId: fifoId(id) });
    expect(JSON.parse(m!.Body!).cluster).toBe(longRef);
  });

  it('reports every event as failed, with the reason, when the queue does not exist', async () => {
    const url = `${endpoint}/123456789012/sensorfleet-missing-${randomBytes(4).toString('hex')}.fifo`;
    const out = await enqueueClusterEvents(url, [event('x-1', 'aws-eks:123456789012:us-east-1:a'), event('x-2', 'aws-eks:123456789012:us-east-1:b')]);
    expect(out.sent).toBe(0);
    expect(out.failed.map((f) => f.id)).toEqual(['x-1', 'x-2']);
    expect(out.failed[0]!.reason).toMatch(/queue/i);
  });
});
