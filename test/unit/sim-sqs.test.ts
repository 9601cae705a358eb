import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { isHighThroughputFifo, PROVIDER_LIMITS } from '../sim/limits';
import { RateLimits } from '../sim/rate-limit';
import { SimFifoQueue, SimSqs } from '../sim/sqs';

const URL = 'https://sqs.us-east-1.amazonaws.com/100000000000/q.fifo';

function setup(highThroughput = false) {
  let now = 0;
  const limits = new RateLimits(PROVIDER_LIMITS, () => now);
  const sqs = new SimSqs(limits);
  const q = sqs.add(new SimFifoQueue(URL, 30, () => now, highThroughput));
  return { sqs, q, advance: (ms: number) => (now += ms) };
}

const send = (sqs: SimSqs, group: string, id: string) => sqs.handle('SendMessage', { QueueUrl: URL, MessageBody: `body-${id}`, MessageGroupId: group, MessageDeduplicationId: id });

describe('simulated SQS FIFO queue', () => {
  it('delivers a group in order and holds the group while one of its messages is in flight', () => {
    const { sqs, q, advance } = setup();
    send(sqs, 'g1', '1');
    send(sqs, 'g1', '2');
    send(sqs, 'g2', '3');
    const first = q.receive(1);
    expect(first.map((m) => m.body)).toEqual(['body-1']);
    // g1 is blocked behind its in-flight message; g2 is free
    expect(q.receive(10).map((m) => m.body)).toEqual(['body-3']);
    expect(q.receive(10)).toEqual([]);
    q.delete(first[0]!.receipt!);
    expect(q.receive(10).map((m) => m.body)).toEqual(['body-2']);
    advance(1);
    expect(q.maxDepth).toBe(3);
  });

  it('drops a repeated deduplication id within 5 minutes, accepts it after', () => {
    const { sqs, q, advance } = setup();
    const a = send(sqs, 'g', 'same') as { MessageId: string };
    const b = send(sqs, 'g', 'same') as { MessageId: string };
    expect(b.MessageId).toBe(a.MessageId);
    expect(q.depth()).toBe(1);
    advance(5 * 60_000);
    send(sqs, 'g', 'same');
    expect(q.depth()).toBe(2);
  });

  it('makes a changed-visibility message come back after its delay, with its receive count', () => {
    const { sqs, q, advance } = setup();
    send(sqs, 'g', '1');
    const [m] = q.receive(10);
    sqs.handle('ChangeMessageVisibility', { QueueUrl: URL, ReceiptHandle: m!.receipt, VisibilityTimeout: 60 });
    advance(59_000);
    expect(q.receive(10)).toEqual([]);
    advance(1_000);
    const again = q.receive(10);
    expect(again.map((x) => x.receiveCount)).toEqual([2]);
    expect(SimFifoQueue.record(again[0]!, 'arn:q')).toMatchObject({ attributes: { ApproximateReceiveCount: '2', MessageGroupId: 'g' } });
  });

  it('answers RequestThrottled beyond 300 SendMessage calls in a second (FIFO without high throughput)', () => {
    const { sqs } = setup();
    let throttled = 0;
    for (let i = 0; i < 310; i++) {
      try {
        send(sqs, `g${i}`, `id-${i}`);
      } catch (err) {
        expect((err as { type: string }).type).toBe('com.amazonaws.sqs#RequestThrottled');
        throttled++;
      }
    }
    expect(throttled).toBe(10);
  });

  it('a high-throughput queue takes the documented regional quota per action and deduplicates per message group', () => {
    const { sqs, q } = setup(true);
    for (let i = 0; i < 1_000; i++) send(sqs, `cluster-${i}`, `event-${i}`);
    expect(q.depth()).toBe(1_000);
    // the same deduplication id in another group is another message; in the same group it is dropped
    send(sqs, 'cluster-0', 'event-1');
    send(sqs, 'cluster-0', 'event-0');
    expect(q.depth()).toBe(1_001);
    expect(PROVIDER_LIMITS['sqsHighThroughput.SendMessage']).toMatchObject({ ratePerSecond: 70_000 });
  });

  it('serverless.yml\'s work queue is a high-throughput FIFO queue (the fan-out reads the same resource)', () => {
    const resources = YAML.parse(readFileSync('serverless.yml', 'utf8')).resources.Resources;
    expect(isHighThroughputFifo(resources.WorkQueue.Properties)).toBe(true);
    expect(isHighThroughputFifo({ FifoQueue: true })).toBe(false);
  });
});
