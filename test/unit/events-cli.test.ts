import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { eventNormalizeCommand } from '../../shared/cli/commands/event-normalize';

/** `sensorfleet event normalize <file|->`: one JSON array on stdout, [] for non-cluster payloads, exit 2 + one line for malformed input. */
async function run(args: string[], stdinText = '') {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await eventNormalizeCommand(args, { stdin: Readable.from([stdinText]), stdout, stderr });
  return { code, out, err };
}

describe('event normalize', () => {
  it('prints one JSON array of canonical events for a file', async () => {
    const r = await run(['events/azure/eventgrid-aks-mixed-batch.json']);
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    const events = JSON.parse(r.out);
    expect(events.map((e: { kind: string }) => e.kind)).toEqual(['nodes-changed', 'cluster-deleted', 'nodes-changed']);
  });

  it('reads stdin with -', async () => {
    const r = await run(['-'], JSON.stringify({ message: { data: Buffer.from('hello').toString('base64'), messageId: '1' }, subscription: 'projects/p/subscriptions/s' }));
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual([]);
  });

  it('prints [] for a payload that is not a cluster event', async () => {
    const r = await run(['test/fixtures/events/reference/aws-events-scheduled-event.json']);
    expect([r.code, JSON.parse(r.out)]).toEqual([0, []]);
  });

  it('exits 2 with one line on stderr for malformed input, printing nothing on stdout', async () => {
    const r = await run(['-'], '{"detail-type": "AWS API Call via CloudTrail", "source": "aws.eks"');
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/malformed event: payload is not JSON/);
  });

  it('names the failing SQS record', async () => {
    const r = await run(['test/fixtures/events/reference/aws-lambda-sqs-event.json']);
    expect(r.code).toBe(2);
    expect(r.err.trim()).toBe('malformed event 059f36b4-87a3-44ab-83d2-661975830a7d: payload is not JSON');
  });

  it('lists an ASG launch it cannot resolve offline on stderr and still prints the array', async () => {
    const r = await run(['events/aws/eventbridge-asg-launch.json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual([]);
    expect(r.err).toMatch(/eks-ng-general-prod-web.*--resolve-asg/);
  });

  it('exits 2 for a missing file or missing argument', async () => {
    expect((await run(['no/such/file.json'])).code).toBe(2);
    expect((await run([])).code).toBe(2);
  });
});
