import type { RingPlan, RunRing } from '../state/rollout-records';

/**
 * Pure: how a run is cut so that 10,000 clusters fit every AWS limit, and the sizes that prove it.
 *
 * The limits (AWS quotas): a Step Functions execution's input and any state's payload 256 KiB; a
 * Standard execution's history 25,000 events (a Distributed Map's child executions each have their
 * own); a DynamoDB item 400 KiB.
 *
 * The layout: the run item keeps each ring's size and chunk count only; a ring's members are chunk
 * items (RUN#<id> CHUNK#<ring>#<chunk>, at most chunkSize refs each); the execution input is the run
 * id, the queue, the table and per ring the list of its chunk numbers; each chunk is one child
 * execution of the workflow's Distributed Map, which reads its chunk (dynamodb:getItem), hands its
 * clusters to the queue with task tokens (an inline Map) and then asks the chunk's gate.
 *
 * At 10,000 clusters, chunkSize 100, shares [25, 100], blastRadius 25 % (the 100% ring split in 3),
 * references of 200 characters (longer than any platform's: an AKS ref is at most ~195), gate deadline
 * 900 s polled every 30 s, as test/unit/run-limits.test.ts computes them:
 *   execution input          759 B                          (limit 256 KiB)
 *   largest item             a chunk item, 20,197 B         (limit 400 KiB); the run item 793 B, and
 *                            137,628 B after 200 history lines of the longest kept (600 characters)
 *   history, child execution 100 x 8 + 31 x 10 + 20 = 1,130 events (limit 25,000)
 *   history, parent          5 rings x 18 + 12 = 102 events, +12 per halt and resume
 * The old layout (every ring in the input and in one run item, one inline Map for a ring) needed
 * ~2 MB of input and of one item, and ~80,000 history events in one execution at 10,000 clusters.
 */
export const AWS_LIMITS = {
  executionInputBytes: 256 * 1024,
  historyEvents: 25_000,
  dynamoItemBytes: 400 * 1024,
} as const;

/** Longest text a record keeps of a reason (gate reasons list clusters: a chunk's can be long). */
export const MAX_REASON_CHARS = 2_000;

/** Longest history line a run item keeps: a run item holds ~600 of them before DynamoDB's item limit (run-limits.test.ts). */
export const MAX_EVENT_CHARS = 600;

export function bounded(text: string, max = MAX_REASON_CHARS): string {
  return text.length <= max ? text : `${text.slice(0, max - 30)}… (${text.length - max + 30} more characters)`;
}

/** The chunks of a ring's members, in the ring's order. */
export function chunksOf(clusters: readonly string[], chunkSize: number): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < clusters.length; i += chunkSize) out.push(clusters.slice(i, i + chunkSize));
  return out;
}

export function runRingOf(plan: RingPlan, chunkSize: number): RunRing {
  return { ring: plan.ring, name: plan.name, gate: plan.gate, size: plan.clusters.length, chunks: Math.ceil(plan.clusters.length / chunkSize) };
}

/** The execution's input (the state machine in serverless.yml reads exactly this). */
export interface RunInput {
  runId: string;
  queueUrl: string;
  tableName: string;
  ringCount: number;
  rings: { ring: number; name: string; gate: boolean; size: number; chunks: number[] }[];
}

export function runInputOf(runId: string, queueUrl: string, tableName: string, rings: readonly RunRing[]): RunInput {
  return {
    runId,
    queueUrl,
    tableName,
    ringCount: rings.length,
    rings: rings.map((r) => ({ ring: r.ring, name: r.name, gate: r.gate, size: r.size, chunks: Array.from({ length: r.chunks }, (_, i) => i) })),
  };
}

/**
 * DynamoDB's item size (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html):
 * attribute names plus values; strings their UTF-8 bytes, numbers up to 21 bytes, lists and maps 3
 * bytes plus 1 per element plus the elements.
 */
export function dynamoItemBytes(item: Record<string, unknown>): number {
  let total = 0;
  for (const [name, value] of Object.entries(item)) if (value !== undefined) total += Buffer.byteLength(name) + valueBytes(value);
  return total;
}

function valueBytes(v: unknown): number {
  if (typeof v === 'string') return Buffer.byteLength(v);
  if (typeof v === 'number') return 1 + Math.ceil(String(Math.abs(v)).replace(/[.-]/g, '').replace(/^0+/, '').length / 2);
  if (typeof v === 'boolean' || v === null) return 1;
  if (Array.isArray(v)) return 3 + v.reduce((n: number, x) => n + 1 + valueBytes(x), 0);
  if (typeof v === 'object') return 3 + Object.entries(v as Record<string, unknown>).reduce((n, [k, x]) => (x === undefined ? n : n + 1 + Buffer.byteLength(k) + valueBytes(x)), 0);
  return 0;
}

/**
 * History events of one child execution (one chunk): per cluster one inline-Map iteration of a
 * waitForTaskToken task (MapIterationStarted, TaskStateEntered, TaskScheduled, TaskStarted,
 * TaskSubmitted, TaskSucceeded, TaskStateExited, MapIterationSucceeded); per gate poll the task's 6,
 * the Choice's 2 and the Wait's 2; around them ExecutionStarted/Succeeded, the getItem task (5), the
 * Map's 4, NeedsGate (2), the last Pass (2) and spare for retries (4).
 */
export function childHistoryEvents(clusters: number, gatePolls: number): number {
  return clusters * 8 + gatePolls * 10 + 20;
}

/**
 * History events of the parent execution: per ring PickRing (2), the Distributed Map's 6 (entered,
 * started, MapRunStarted, MapRunSucceeded, succeeded, exited), RingPassed's task (6), NextIndex (2),
 * NextRing (2); per halt and resume the failed Map run, Halt's task (6) and Decision (2), 12 in all;
 * ExecutionStarted, FirstRing (2), the first NextRing (2), Finished's task (6), ExecutionSucceeded.
 * moto's executor, which keeps its children's events out of the parent's history as AWS does, gave
 * 65 for 3 rings (test/e2e/run-chunks.test.ts checks the bound).
 */
export function parentHistoryEvents(rings: number, halts: number): number {
  return rings * 18 + halts * 12 + 12;
}

/** The gate's polls at most: the deadline over the poll interval, plus the first ask. */
export function maxGatePolls(deadlineSeconds: number, pollSeconds: number): number {
  return Math.ceil(deadlineSeconds / Math.max(1, pollSeconds)) + 1;
}
