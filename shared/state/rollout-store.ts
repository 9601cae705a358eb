import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, TransactWriteCommand, UpdateCommand, paginateQuery } from '@aws-sdk/lib-dynamodb';
import { awsClient } from '../platforms/aws/clients';
import { RunInProgressError, RunNotFoundError, RunNotHaltedError } from '../rollout/errors';
import pLimit from 'p-limit';
import { bounded, MAX_EVENT_CHARS } from '../rollout/run-limits';
import { FINISHED_RUN, type BaselineRecord, type ChunkGate, type GateState, type ReleaseRecord, type RingChunk, type RingClusterResult, type RunRecord, type RunStatus } from './rollout-records';

/**
 * Rollout state in the fleet table (same single-table layout as dynamodb-store.ts):
 *   run        pk=RUN#<id>      sk=RUN                       gsi1pk=RUN      gsi1sk=<startedAt>#<id>
 *   chunk      pk=RUN#<id>      sk=CHUNK#<ring>#<chunk>      a ring's members, at most rollout.rings.chunkSize (numbers not padded)
 *   chunk gate pk=RUN#<id>      sk=GATE#<ring>#<chunk>       that chunk's gate in the ring's current pass
 *   result     pk=RUN#<id>      sk=RESULT#<ring>#<cluster>
 *   release    pk=CLUSTER#<ref> sk=RELEASE                   gsi1pk=RELEASE  gsi1sk=<ref>
 *   active     pk=ROLLOUT       sk=ACTIVE    the one run that may release rings now
 *   baseline   pk=ROLLOUT       sk=BASELINE  the version the whole fleet is approved at
 * Every transition of a run is a conditional write, so two deliveries of one message (or two
 * operators) cannot move it twice.
 */
export class DynamoDbRolloutStore {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    readonly tableName: string,
    region = process.env.AWS_REGION ?? 'us-east-1',
  ) {
    this.doc = DynamoDBDocumentClient.from(awsClient(DynamoDBClient, { region }), { marshallOptions: { removeUndefinedValues: true } });
  }

  async getRelease(cluster: string): Promise<ReleaseRecord | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { pk: `CLUSTER#${cluster}`, sk: 'RELEASE' } }));
    return out.Item ? strip<ReleaseRecord>(out.Item) : undefined;
  }

  async putRelease(r: ReleaseRecord): Promise<void> {
    await this.doc.send(new PutCommand({ TableName: this.tableName, Item: { pk: `CLUSTER#${r.cluster}`, sk: 'RELEASE', gsi1pk: 'RELEASE', gsi1sk: r.cluster, ...r } }));
  }

  async listReleases(): Promise<ReleaseRecord[]> {
    const out: ReleaseRecord[] = [];
    const pages = paginateQuery({ client: this.doc }, { TableName: this.tableName, IndexName: 'byKind', KeyConditionExpression: 'gsi1pk = :k', ExpressionAttributeValues: { ':k': 'RELEASE' } });
    for await (const page of pages) for (const item of page.Items ?? []) out.push(strip(item));
    return out;
  }

  /** The sensor version each cluster of the inventory runs now (dynamodb-store.ts writes the inventory). */
  async runningVersions(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const pages = paginateQuery(
      { client: this.doc },
      { TableName: this.tableName, IndexName: 'byKind', KeyConditionExpression: 'gsi1pk = :k', ExpressionAttributeValues: { ':k': 'INVENTORY' }, ProjectionExpression: 'gsi1sk, sensorVersion' },
    );
    for await (const page of pages) for (const item of page.Items ?? []) if (typeof item.sensorVersion === 'string') out.set(String(item.gsi1sk), item.sensorVersion);
    return out;
  }

  async getBaseline(): Promise<BaselineRecord | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { pk: 'ROLLOUT', sk: 'BASELINE' } }));
    return out.Item ? strip<BaselineRecord>(out.Item) : undefined;
  }

  /** The run that may release rings now, if one is running or halted. */
  async activeRun(): Promise<RunRecord | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { pk: 'ROLLOUT', sk: 'ACTIVE' } }));
    if (!out.Item || FINISHED_RUN.includes(out.Item.status as RunStatus)) return undefined;
    return this.getRun(String(out.Item.runId));
  }

  /** The run record and the ACTIVE pointer together, only when no other run is running or halted. */
  async createRun(run: RunRecord): Promise<void> {
    try {
      await this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: this.tableName, Item: runItem(run), ConditionExpression: 'attribute_not_exists(pk)' } },
            {
              Put: {
                TableName: this.tableName,
                Item: { pk: 'ROLLOUT', sk: 'ACTIVE', runId: run.runId, status: run.status, since: run.startedAt },
                ConditionExpression: 'attribute_not_exists(pk) OR #s IN (:succeeded, :aborted, :failed)',
                ExpressionAttributeNames: { '#s': 'status' },
                ExpressionAttributeValues: { ':succeeded': 'succeeded', ':aborted': 'aborted', ':failed': 'failed' },
              },
            },
          ],
        }),
      );
    } catch (err) {
      if ((err as { name?: string }).name !== 'TransactionCanceledException') throw err;
      const active = await this.activeRun();
      throw new RunInProgressError(active?.runId ?? 'unknown', active?.status ?? 'running');
    }
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { pk: `RUN#${runId}`, sk: 'RUN' }, ConsistentRead: true }));
    return out.Item ? strip<RunRecord>(out.Item) : undefined;
  }

  async requireRun(runId: string): Promise<RunRecord> {
    const run = await this.getRun(runId);
    if (!run) throw new RunNotFoundError(runId, this.tableName);
    return run;
  }

  /** Newest first. */
  async listRuns(limit = 10): Promise<RunRecord[]> {
    const out = await this.doc.send(
      new QueryCommand({ TableName: this.tableName, IndexName: 'byKind', KeyConditionExpression: 'gsi1pk = :k', ExpressionAttributeValues: { ':k': 'RUN' }, ScanIndexForward: false, Limit: limit }),
    );
    return (out.Items ?? []).map((i) => strip<RunRecord>(i));
  }

  async setExecution(runId: string, executionArn: string): Promise<void> {
    await this.update(runId, 'SET executionArn = :a', { ':a': executionArn });
  }

  async recordResult(r: RingClusterResult): Promise<void> {
    await this.doc.send(new PutCommand({ TableName: this.tableName, Item: { pk: `RUN#${r.runId}`, sk: `RESULT#${ringKey(r.ring)}#${r.cluster}`, ...r, message: bounded(r.message) } }));
  }

  /** Every cluster's result, or one ring's. */
  async listResults(runId: string, ring?: number): Promise<RingClusterResult[]> {
    return this.queryRun<RingClusterResult>(runId, ring === undefined ? 'RESULT#' : `RESULT#${ringKey(ring)}#`);
  }

  /** A ring's members, written before the run record (so a run that exists has every chunk). */
  async putChunks(chunks: RingChunk[]): Promise<void> {
    const limit = pLimit(16);
    await Promise.all(chunks.map((c) => limit(() => this.doc.send(new PutCommand({ TableName: this.tableName, Item: chunkItem(c) })))));
  }

  async getChunk(runId: string, ring: number, chunk: number): Promise<RingChunk | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { pk: `RUN#${runId}`, sk: chunkKey('CHUNK', ring, chunk) }, ConsistentRead: true }));
    return out.Item ? strip<RingChunk>(out.Item) : undefined;
  }

  /** Every member of a ring, in chunk order. */
  async listRingClusters(runId: string, ring: number): Promise<string[]> {
    return (await this.queryRun<RingChunk>(runId, `CHUNK#${ring}#`)).sort((a, b) => a.chunk - b.chunk).flatMap((c) => c.clusters);
  }

  /**
   * When this pass of the ring first asked the chunk's gate: set on the first ask of a pass (a resume
   * starts a new pass, run.resumes), read back on the later ones.
   */
  async chunkGateStartedAt(runId: string, ring: number, chunk: number, pass: number, now: string): Promise<string> {
    const Key = { pk: `RUN#${runId}`, sk: chunkKey('GATE', ring, chunk) };
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key,
          UpdateExpression: 'SET startedAt = :now, #p = :pass, runId = :run, ring = :ring, chunk = :chunk, verdict = :wait, reason = :why, #at = :now',
          ConditionExpression: 'attribute_not_exists(pk) OR #p < :pass',
          ExpressionAttributeNames: { '#p': 'pass', '#at': 'at' },
          ExpressionAttributeValues: { ':now': now, ':pass': pass, ':run': runId, ':ring': ring, ':chunk': chunk, ':wait': 'wait', ':why': 'first look' },
        }),
      );
      return now;
    } catch (err) {
      if ((err as { name?: string }).name !== 'ConditionalCheckFailedException') throw err;
      const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key, ConsistentRead: true }));
      return String(out.Item?.startedAt ?? now);
    }
  }

  async putChunkGate(g: ChunkGate): Promise<void> {
    await this.doc.send(new PutCommand({ TableName: this.tableName, Item: { pk: `RUN#${g.runId}`, sk: chunkKey('GATE', g.ring, g.chunk), ...g, reason: bounded(g.reason) } }));
  }

  async listChunkGates(runId: string, ring: number): Promise<ChunkGate[]> {
    return this.queryRun<ChunkGate>(runId, `GATE#${ring}#`);
  }

  async recordGate(runId: string, ring: number, gate: GateState, event?: string): Promise<void> {
    const g = { ...gate, reason: bounded(gate.reason) };
    await this.update(runId, `SET gates.#r = :g${event ? ', history = list_append(history, :h)' : ''}`, { ':g': g, ...(event ? { ':h': [{ at: gate.at, event: bounded(event, MAX_EVENT_CHARS) }] } : {}) }, { '#r': String(ring) });
  }

  async appendHistory(runId: string, at: string, event: string): Promise<void> {
    await this.update(runId, 'SET history = list_append(history, :h)', { ':h': [{ at, event: bounded(event, MAX_EVENT_CHARS) }] });
  }

  private async queryRun<T>(runId: string, prefix: string): Promise<T[]> {
    const out: T[] = [];
    const pages = paginateQuery(
      { client: this.doc },
      { TableName: this.tableName, KeyConditionExpression: 'pk = :pk AND begins_with(sk, :sk)', ExpressionAttributeValues: { ':pk': `RUN#${runId}`, ':sk': prefix }, ConsistentRead: true },
    );
    for await (const page of pages) for (const item of page.Items ?? []) out.push(strip(item));
    return out;
  }

  /**
   * running -> halted with the reason and the token resume/abort will answer (again halted: the newer
   * token wins). False when the run has ended meanwhile (an abort, a second delivery after it finished).
   */
  async halt(runId: string, given: NonNullable<RunRecord['halt']>): Promise<boolean> {
    const halt = { ...given, reason: bounded(given.reason) };
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: `RUN#${runId}`, sk: 'RUN' },
          UpdateExpression: 'SET #s = :halted, updatedAt = :at, halt = :halt, history = list_append(history, :h)',
          ConditionExpression: '#s IN (:running, :halted)',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':halted': 'halted', ':running': 'running', ':at': halt.at, ':halt': halt, ':h': [{ at: halt.at, event: bounded(`halted in ring ${halt.ring}: ${halt.reason}`, MAX_EVENT_CHARS) }] },
        }),
      );
      return true;
    } catch (err) {
      if ((err as { name?: string }).name === 'ConditionalCheckFailedException') return false;
      throw err;
    }
  }

  /**
   * halted -> running (resume) or aborted (abort): claimed here before the workflow is told, so two
   * operators cannot both act on one halt. Returns the record as it was (with the token to answer).
   */
  async claimHalt(runId: string, next: 'running' | 'aborted', at: string, event: string): Promise<RunRecord> {
    const before = await this.requireRun(runId);
    if (before.status !== 'halted' || !before.halt) throw new RunNotHaltedError(runId, before.status);
    // a resume runs the ring again: its verdict is cleared and its chunks' gates start a new pass
    const clearGate = next === 'running' ? `REMOVE gates.#r ADD resumes :one` : '';
    try {
      await this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.tableName,
                Key: { pk: `RUN#${runId}`, sk: 'RUN' },
                UpdateExpression: `SET #s = :next, updatedAt = :at, history = list_append(history, :h)${next === 'aborted' ? ', finishedAt = :at, endReason = :why' : ''} ${clearGate}`.trim(),
                ConditionExpression: '#s = :halted AND halt.taskToken = :token',
                ExpressionAttributeNames: { '#s': 'status', ...(next === 'running' ? { '#r': String(before.halt.ring) } : {}) },
                ExpressionAttributeValues: { ':next': next, ':at': at, ':h': [{ at, event }], ':halted': 'halted', ':token': before.halt.taskToken, ...(next === 'aborted' ? { ':why': event } : { ':one': 1 }) },
              },
            },
            ...(next === 'aborted' ? [this.activePointer(runId, 'aborted')] : []),
          ],
        }),
      );
    } catch (err) {
      if ((err as { name?: string }).name !== 'TransactionCanceledException') throw err;
      const now = await this.requireRun(runId);
      throw new RunNotHaltedError(runId, now.status);
    }
    return before;
  }

  /** Gives a claimed halt back (the workflow could not be told): the run is halted again, as before. */
  async unclaimHalt(before: RunRecord, at: string, why: string): Promise<void> {
    await this.doc.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Put: {
              TableName: this.tableName,
              Item: { pk: `RUN#${before.runId}`, sk: 'RUN', gsi1pk: 'RUN', gsi1sk: `${before.startedAt}#${before.runId}`, ...before, history: [...before.history, { at, event: why }] },
            },
          },
          { Put: { TableName: this.tableName, Item: { pk: 'ROLLOUT', sk: 'ACTIVE', runId: before.runId, status: 'halted', since: before.startedAt } } },
        ],
      }),
    );
  }

  /** The run ended (every ring released, or the workflow failed); the ACTIVE pointer lets the next run start. */
  async finish(runId: string, status: Extract<RunStatus, 'succeeded' | 'failed'>, at: string, event: string): Promise<boolean> {
    try {
      await this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.tableName,
                Key: { pk: `RUN#${runId}`, sk: 'RUN' },
                UpdateExpression: `SET #s = :next, updatedAt = :at, finishedAt = :at, history = list_append(history, :h)${status === 'failed' ? ', endReason = :why' : ''}`,
                ConditionExpression: '#s IN (:running, :halted)',
                ExpressionAttributeNames: { '#s': 'status' },
                ExpressionAttributeValues: { ':next': status, ':at': at, ':h': [{ at, event }], ':running': 'running', ':halted': 'halted', ...(status === 'failed' ? { ':why': event } : {}) },
              },
            },
            this.activePointer(runId, status),
          ],
        }),
      );
      return true;
    } catch (err) {
      if ((err as { name?: string }).name === 'TransactionCanceledException') return false; // already finished: a second delivery
      throw err;
    }
  }

  async putBaseline(b: BaselineRecord): Promise<void> {
    await this.doc.send(new PutCommand({ TableName: this.tableName, Item: { pk: 'ROLLOUT', sk: 'BASELINE', ...b } }));
  }

  private activePointer(runId: string, status: RunStatus) {
    return {
      Update: {
        TableName: this.tableName,
        Key: { pk: 'ROLLOUT', sk: 'ACTIVE' },
        UpdateExpression: 'SET #s = :s',
        ConditionExpression: 'runId = :id',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':s': status, ':id': runId },
      },
    };
  }

  private async update(runId: string, expression: string, values: Record<string, unknown>, names: Record<string, string> = {}): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: `RUN#${runId}`, sk: 'RUN' },
        UpdateExpression: `${expression}, updatedAt = :now`,
        ConditionExpression: 'attribute_exists(pk)',
        ...(Object.keys(names).length ? { ExpressionAttributeNames: names } : {}),
        ExpressionAttributeValues: { ...values, ':now': new Date().toISOString() },
      }),
    );
  }
}

/** The run's item as written (pure: test/unit/run-limits.test.ts sizes it). */
export function runItem(run: RunRecord): Record<string, unknown> {
  return { pk: `RUN#${run.runId}`, sk: 'RUN', gsi1pk: 'RUN', gsi1sk: `${run.startedAt}#${run.runId}`, ...run };
}

/** A chunk's item as written; the workflow's ReadChunk reads `clusters` (a list of strings). */
export function chunkItem(c: RingChunk): Record<string, unknown> {
  return { pk: `RUN#${c.runId}`, sk: chunkKey('CHUNK', c.ring, c.chunk), ...c };
}

function ringKey(ring: number): string {
  return String(ring).padStart(3, '0');
}

/** Not padded: the workflow builds the chunk's key with States.Format (serverless.yml ReadChunk). */
function chunkKey(kind: 'CHUNK' | 'GATE', ring: number, chunk: number): string {
  return `${kind}#${ring}#${chunk}`;
}

function strip<T>(item: Record<string, unknown>): T {
  const { pk: _pk, sk: _sk, gsi1pk: _g1, gsi1sk: _g2, expiration: _e, ...rest } = item;
  return rest as T;
}
