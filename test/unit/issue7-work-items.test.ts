import { readFileSync } from 'node:fs';
import { Logger } from '@aws-lambda-powertools/logger';
import type { SQSRecord } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { reconciledLogAttributes } from '../../shared/lambda/reconciled-log';
import { processFifoBatch, type RecordDisposition } from '../../shared/queue/fifo-batch';
import { readWorkItem, RECEIVES_BEFORE_FRESH_MESSAGE, secondsUntilDue } from '../../shared/queue/work-item';
import type { ReconcileRecord } from '../../shared/state/records';

/** Issue 7: the work item's own counters, the FIFO batch contract with held followers, the `reconciled` log line. */
const NOW = new Date('2026-11-23T12:00:00Z');
const event = { id: 'e1', time: '2026-11-23T11:59:00Z', kind: 'cluster-created', cluster: 'aws-eks:123456789012:us-east-1:a', source: 't', detail: {} };

function record(o: { id?: string; group?: string; body?: unknown; attrs?: Record<string, string>; receives?: number; sent?: number }): SQSRecord {
  return {
    messageId: o.id ?? 'm1',
    receiptHandle: `rh-${o.id ?? 'm1'}`,
    body: typeof o.body === 'string' ? o.body : JSON.stringify(o.body ?? event),
    attributes: {
      ApproximateReceiveCount: String(o.receives ?? 1),
      SentTimestamp: String(o.sent ?? NOW.getTime() - 5000),
      SenderId: 'x',
      ApproximateFirstReceiveTimestamp: String(NOW.getTime()),
      ...(o.group ? { MessageGroupId: o.group } : {}),
    },
    messageAttributes: Object.fromEntries(Object.entries(o.attrs ?? {}).map(([k, v]) => [k, { stringValue: v, dataType: 'Number', stringListValues: [], binaryListValues: [] }])),
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:q.fifo',
    awsRegion: 'us-east-1',
  } as SQSRecord;
}

describe('reading a work item', () => {
  it('a fresh message: no failed attempts, first seen when it was sent', () => {
    const r = readWorkItem(record({}), NOW);
    expect(r.ok && r.item).toMatchObject({ attempts: 0, firstSeenAt: NOW.getTime() - 5000, receiveCount: 1 });
    expect(r.ok && r.item.notBefore).toBeUndefined();
  });

  it('a requeued message carries our counters, whatever SQS counted', () => {
    const r = readWorkItem(record({ receives: 7, attrs: { attempts: '2', firstSeenAt: String(NOW.getTime() - 90_000), notBefore: String(NOW.getTime() + 4_200) } }), NOW);
    expect(r.ok && r.item).toMatchObject({ attempts: 2, firstSeenAt: NOW.getTime() - 90_000, receiveCount: 7 });
    expect(r.ok && secondsUntilDue(r.item, NOW)).toBe(5);
  });

  it('a first-seen time in the future is clamped to now', () => {
    const r = readWorkItem(record({ attrs: { firstSeenAt: String(NOW.getTime() + 86_400_000) } }), NOW);
    expect(r.ok && r.item.firstSeenAt).toBe(NOW.getTime());
  });

  it('malformed bodies are reported with the reason', () => {
    expect(readWorkItem(record({ body: 'nope' }), NOW)).toMatchObject({ ok: false, reason: 'body is not JSON' });
    expect(readWorkItem(record({ body: { not: 'an event' } }), NOW)).toMatchObject({ ok: false, reason: expect.stringMatching(/^id: /) });
  });

  it('the fresh-message threshold stays well below the queue redrive backstop', () => {
    const yml = parse(readFileSync('serverless.yml', 'utf8')) as any;
    const maxReceiveCount = yml.resources.Resources.WorkQueue.Properties.RedrivePolicy.maxReceiveCount;
    expect(RECEIVES_BEFORE_FRESH_MESSAGE * 2).toBeLessThanOrEqual(maxReceiveCount);
  });
});

describe('FIFO batches', () => {
  it('a held record holds the rest of its group with the same delay; other groups go on', async () => {
    const records = [record({ id: 'a1', group: 'A' }), record({ id: 'b1', group: 'B' }), record({ id: 'a2', group: 'A' }), record({ id: 'a3', group: 'A' }), record({ id: 'b2', group: 'B' })];
    const handled: string[] = [];
    const held: Array<{ ids: string[]; seconds: number }> = [];
    const outcome: Record<string, RecordDisposition> = { a1: { kind: 'held', delaySeconds: 60 }, b1: { kind: 'done' }, b2: { kind: 'done' } };
    const res = await processFifoBatch(
      records,
      async (r) => {
        handled.push(r.messageId);
        return outcome[r.messageId]!;
      },
      async (rs, seconds) => {
        held.push({ ids: rs.map((r) => r.messageId), seconds });
        return new Set();
      },
    );
    expect(handled).toEqual(['a1', 'b1', 'b2']);
    expect(held).toEqual([{ ids: ['a2', 'a3'], seconds: 60 }]);
    expect(res.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(['a1', 'a2', 'a3']);
  });

  it('a requeued record is done itself (deleted) but its followers wait its delay', async () => {
    const delays: number[] = [];
    const res = await processFifoBatch(
      [record({ id: 'a1', group: 'A' }), record({ id: 'a2', group: 'A' })],
      async () => ({ kind: 'requeued', delaySeconds: 30 }),
      async (_rs, seconds) => {
        delays.push(seconds);
        return new Set<string>();
      },
    );
    expect(delays).toEqual([30]);
    expect(res.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(['a2']);
  });

  it('a handler that throws fails only its record and its group', async () => {
    const res = await processFifoBatch(
      [record({ id: 'a1', group: 'A' }), record({ id: 'b1', group: 'B' })],
      async (r) => {
        if (r.messageId === 'a1') throw new Error('boom');
        return { kind: 'done' };
      },
      async () => new Set(),
    );
    expect(res.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(['a1']);
  });
});

describe('the reconciled log line', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    delete process.env.POWERTOOLS_DEV;
  });

  it('carries the failure reason through Powertools (whose reserved `message` key would drop it)', () => {
    process.env.POWERTOOLS_DEV = 'true';
    const lines: Record<string, unknown>[] = [];
    for (const m of ['info', 'warn'] as const) vi.spyOn(console, m).mockImplementation((line: unknown) => void lines.push(JSON.parse(String(line))));
    const logger = new Logger({ serviceName: 'issue7' });
    const failed = { cluster: 'aws-ecs:1:r:x', outcome: 'failed', message: 'AWS account 1 is not a configured target', changed: { writes: 0, reads: 1 }, terminal: true } as unknown as ReconcileRecord;
    logger.info('reconciled', reconciledLogAttributes(failed, 'e1'));
    const line = lines.find((l) => l.message === 'reconciled');
    expect(line).toMatchObject({ cluster: 'aws-ecs:1:r:x', eventId: 'e1', outcome: 'failed', reason: 'AWS account 1 is not a configured target', writes: 0, terminal: true });
    // what the old line did: Powertools drops the key and warns
    lines.length = 0;
    logger.info('reconciled', { message: failed.message });
    expect(lines.find((l) => l.message === 'reconciled')).not.toHaveProperty('reason');
    expect(JSON.stringify(lines)).not.toContain('not a configured target');
  });
});
