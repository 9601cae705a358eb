import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../shared/config/load';
import { planRun } from '../../shared/rollout/start-run';
import { AWS_LIMITS, bounded, MAX_EVENT_CHARS, childHistoryEvents, dynamoItemBytes, maxGatePolls, parentHistoryEvents, runInputOf } from '../../shared/rollout/run-limits';
import { chunkItem, runItem } from '../../shared/state/rollout-store';

/**
 * Issue 7: a run of 10,000 clusters fits every AWS limit (pure size computation: the items and the
 * execution input as the store and start-run build them). The old layout kept every ring's clusters
 * in the execution input and in one run item, and handed every cluster out from one inline Map.
 */
const N = 10_000;
/** References of 200 characters: longer than any platform's (an AKS ref is at most ~195). */
const refs = Array.from({ length: N }, (_, i) => `azure-aks:00000000-0000-4000-8000-${String(i).padStart(12, '0')}:${'rg-'.padEnd(90, 'x')}:${`aks-${i}-`.padEnd(60, 'y')}`.padEnd(200, 'z'));
const config = parseConfig({ sensor: { version: '1.36.0-0' }, rollout: { checkInGate: { enabled: true } } });
const running = new Map(refs.map((r) => [r, '1.35.0-0']));

function tenThousand(cfg = config) {
  return planRun({ runId: 'run-20261201-0123456789ab', config: cfg, clusters: refs, trigger: { source: 'nightly', eventId: 'e' }, now: new Date('2026-12-01T02:00:00Z'), released: new Map(), running, baseline: '1.35.0-0' });
}

describe('a run of 10,000 clusters against the AWS limits', () => {
  it('the rings hold every cluster once, cut into chunks of at most rollout.rings.chunkSize', () => {
    const { run, chunks } = tenThousand();
    const members = chunks.flatMap((c) => c.clusters);
    expect(members).toHaveLength(N);
    expect(new Set(members).size).toBe(N);
    expect(Math.max(...chunks.map((c) => c.clusters.length))).toBeLessThanOrEqual(config.rollout.rings.chunkSize);
    expect(run.rings.reduce((n, r) => n + r.size, 0)).toBe(N);
    for (const r of run.rings) expect(chunks.filter((c) => c.ring === r.ring)).toHaveLength(r.chunks);
  });

  it('execution input, largest item, history per execution: each under its limit (sizes printed)', () => {
    const { run, chunks } = tenThousand();
    const input = runInputOf(run.runId, 'https://sqs.eu-west-1.amazonaws.com/123456789012/sensorfleet-prod-work.fifo', 'sensorfleet-prod', run.rings);
    const inputBytes = Buffer.byteLength(JSON.stringify(input));
    const largestChunk = Math.max(...chunks.map((c) => dynamoItemBytes(chunkItem(c))));
    // a run item after a long life: every ring's gate verdict and 200 history lines, each of the longest kept
    const worn = { ...run, gates: Object.fromEntries(run.rings.map((r) => [String(r.ring), { verdict: 'fail' as const, reason: bounded('x'.repeat(10_000)), at: run.startedAt }])), history: [...run.history, ...Array.from({ length: 200 }, () => ({ at: run.startedAt, event: bounded('y'.repeat(10_000), MAX_EVENT_CHARS) }))] };
    const runBytes = dynamoItemBytes(runItem(run));
    const wornBytes = dynamoItemBytes(runItem(worn));
    const polls = maxGatePolls(config.rollout.checkInGate.deadlineSeconds, config.rollout.checkInGate.pollSeconds);
    const child = childHistoryEvents(config.rollout.rings.chunkSize, polls);
    const parent = parentHistoryEvents(run.rings.length, 20);
    console.log(
      `10,000 clusters, chunkSize ${config.rollout.rings.chunkSize}: rings ${run.rings.map((r) => `${r.name} ${r.size}/${r.chunks} chunks`).join(', ')}; execution input ${inputBytes} B; largest chunk item ${largestChunk} B; run item ${runBytes} B (${wornBytes} B with 200 history lines); history: child ${child} events, parent ${parent} (20 halts)`,
    );
    expect(inputBytes).toBeLessThan(AWS_LIMITS.executionInputBytes);
    expect(JSON.stringify(input)).not.toContain(refs[0]);
    expect(largestChunk).toBeLessThan(AWS_LIMITS.dynamoItemBytes);
    expect(runBytes).toBeLessThan(AWS_LIMITS.dynamoItemBytes);
    expect(wornBytes).toBeLessThan(AWS_LIMITS.dynamoItemBytes);
    expect(child).toBeLessThan(AWS_LIMITS.historyEvents);
    expect(parent).toBeLessThan(AWS_LIMITS.historyEvents);
  });

  it('holds at the largest chunk size the configuration accepts (500) too', () => {
    const big = parseConfig({ sensor: { version: '1.36.0-0' }, rollout: { rings: { chunkSize: 500 } } });
    const { run, chunks } = tenThousand(big);
    expect(Math.max(...chunks.map((c) => dynamoItemBytes(chunkItem(c))))).toBeLessThan(AWS_LIMITS.dynamoItemBytes);
    expect(Buffer.byteLength(JSON.stringify(runInputOf(run.runId, 'q', 't', run.rings)))).toBeLessThan(AWS_LIMITS.executionInputBytes);
    expect(childHistoryEvents(500, maxGatePolls(900, 1))).toBeLessThan(AWS_LIMITS.historyEvents);
    expect(() => parseConfig({ rollout: { rings: { chunkSize: 501 } } })).toThrow(/chunkSize/);
  });

  it('the layout before chunking would not have fit: every cluster in the input and in one item', () => {
    const { run, chunks } = tenThousand();
    const oldInput = Buffer.byteLength(JSON.stringify({ runId: run.runId, queueUrl: 'q', rings: run.rings.map((r) => ({ ...r, clusters: chunks.filter((c) => c.ring === r.ring).flatMap((c) => c.clusters) })) }));
    expect(oldInput).toBeGreaterThan(AWS_LIMITS.executionInputBytes);
    expect(childHistoryEvents(N, 0)).toBeGreaterThan(AWS_LIMITS.historyEvents);
  });

  it('DynamoDB item size follows the documented rules', () => {
    expect(dynamoItemBytes({ a: 'xyz' })).toBe(4);
    expect(dynamoItemBytes({ list: ['ab', 'cd'] })).toBe(4 + 3 + 2 * (1 + 2));
    expect(dynamoItemBytes({ m: { k: 'v' } })).toBe(1 + 3 + 1 + 1 + 1);
  });
});
