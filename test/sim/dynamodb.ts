/**
 * A light DynamoDB (JSON protocol, DynamoDB_20120810.*) for the fan-out simulation: the operations the
 * fleet table and Powertools idempotency use, with conditions, transactions, a GSI, pagination, the
 * 400 KB item limit and per-partition throughput.
 * Limits (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html):
 *   - item size at most 400 KB;
 *   - a partition serves at most 3,000 read units and 1,000 write units per second (on-demand too);
 *     beyond that DynamoDB answers ProvisionedThroughputExceededException (the SDK retries it as throttling);
 *   - TransactWriteItems: at most 100 actions.
 * Latency: single-digit milliseconds (modelled as 4 ms reads, 6 ms writes, 12 ms transactions).
 */
import { AwsError, throttled } from './aws-json';
import { equal, parseCondition, parseUpdate, type AV, type Item } from './dynamodb-expressions';
import type { RateLimits } from './rate-limit';

export const DYNAMODB_LIMITS = {
  itemBytes: 400 * 1024,
  partitionReadsPerSecond: 3000,
  partitionWritesPerSecond: 1000,
};

export const DYNAMODB_LATENCY_MS = { read: 4, write: 6, transact: 12, query: 6 };

interface Table {
  hash: string;
  range?: string;
  indexes: Record<string, { hash: string; range?: string }>;
  items: Map<string, Item>;
  /** Item keys by (index name, '' for the table) and hash key value: a query reads its partition only. */
  partitions: Map<string, Map<string, Set<string>>>;
}

export interface LimitFinding {
  limit: string;
  value: number;
  max: number;
  where: string;
}

const TYPE = 'com.amazonaws.dynamodb.v20120810#';

export class SimDynamoDb {
  private readonly tables = new Map<string, Table>();
  /** Limits the product went past (also refused when enforce is on). */
  readonly findings: LimitFinding[] = [];
  largestItemBytes = 0;

  constructor(private readonly limits: RateLimits, private readonly enforce: boolean) {}

  createTable(name: string, hash: string, range: string | undefined, indexes: Table['indexes'] = {}): void {
    this.tables.set(name, { hash, ...(range ? { range } : {}), indexes, items: new Map(), partitions: new Map() });
  }

  /** Items stored now, per table. */
  itemCount(): number {
    return [...this.tables.values()].reduce((n, t) => n + t.items.size, 0);
  }

  latencyMs(op: string): number {
    if (op.startsWith('Transact')) return DYNAMODB_LATENCY_MS.transact;
    if (op === 'Query' || op === 'Scan') return DYNAMODB_LATENCY_MS.query;
    return op === 'GetItem' || op === 'BatchGetItem' ? DYNAMODB_LATENCY_MS.read : DYNAMODB_LATENCY_MS.write;
  }

  handle(op: string, req: any): unknown {
    switch (op) {
      case 'GetItem': {
        const t = this.table(req.TableName);
        this.throughput('read', req.TableName, req.Key[t.hash]);
        const item = t.items.get(this.keyOf(t, req.Key));
        return item ? { Item: item } : {};
      }
      case 'PutItem': {
        const t = this.table(req.TableName);
        this.throughput('write', req.TableName, req.Item[t.hash]);
        const key = this.keyOf(t, req.Item);
        const old = t.items.get(key);
        this.check(req, old, req.ReturnValuesOnConditionCheckFailure);
        this.store(t, key, req.Item, req.TableName);
        return req.ReturnValues === 'ALL_OLD' && old ? { Attributes: old } : {};
      }
      case 'UpdateItem': {
        const t = this.table(req.TableName);
        this.throughput('write', req.TableName, req.Key[t.hash]);
        const key = this.keyOf(t, req.Key);
        const old = t.items.get(key);
        this.check(req, old, req.ReturnValuesOnConditionCheckFailure);
        const next = this.updated(req, old);
        this.store(t, key, next, req.TableName);
        return req.ReturnValues === 'ALL_NEW' ? { Attributes: next } : req.ReturnValues === 'ALL_OLD' && old ? { Attributes: old } : {};
      }
      case 'DeleteItem': {
        const t = this.table(req.TableName);
        this.throughput('write', req.TableName, req.Key[t.hash]);
        const key = this.keyOf(t, req.Key);
        const old = t.items.get(key);
        this.check(req, old, req.ReturnValuesOnConditionCheckFailure);
        this.remove(t, key);
        return req.ReturnValues === 'ALL_OLD' && old ? { Attributes: old } : {};
      }
      case 'Query':
        return this.query(req);
      case 'TransactWriteItems':
        return this.transact(req);
      default:
        throw new AwsError(`${TYPE}UnknownOperationException`, `operation ${op} is not simulated`);
    }
  }

  private table(name: string): Table {
    const t = this.tables.get(name);
    if (!t) throw new AwsError(`${TYPE}ResourceNotFoundException`, `Requested resource not found: Table: ${name} not found`);
    return t;
  }

  private keyOf(t: Table, item: Item): string {
    const h = item[t.hash];
    if (!h) throw new AwsError(`${TYPE}ValidationException`, 'The provided key element does not match the schema');
    return JSON.stringify([h, t.range ? item[t.range] : null]);
  }

  /** Throughput is per partition, i.e. per hash key value: items under one static hash key share one partition. */
  private throughput(kind: 'read' | 'write', table: string, hashValue: AV | undefined): void {
    const partition = `${table}|${JSON.stringify(hashValue ?? '')}`;
    if (!this.limits.admit(kind === 'read' ? 'dynamodb.partitionReads' : 'dynamodb.partitionWrites', partition)) {
      throw throttled(`${TYPE}ProvisionedThroughputExceededException`, 'The level of configured provisioned throughput for the table was exceeded.');
    }
  }

  private check(req: { ConditionExpression?: string; ExpressionAttributeNames?: Record<string, string>; ExpressionAttributeValues?: Record<string, AV> }, old: Item | undefined, returnOld?: string): void {
    if (!req.ConditionExpression) return;
    const cond = parseCondition(req.ConditionExpression, { names: req.ExpressionAttributeNames, values: req.ExpressionAttributeValues });
    if (!cond(old ?? {})) throw new AwsError(`${TYPE}ConditionalCheckFailedException`, 'The conditional request failed', 400, returnOld === 'ALL_OLD' && old ? { Item: old } : {});
  }

  private updated(req: any, old: Item | undefined): Item {
    const base: Item = { ...(old ?? {}), ...req.Key };
    if (!req.UpdateExpression) return base;
    return parseUpdate(req.UpdateExpression, { names: req.ExpressionAttributeNames, values: req.ExpressionAttributeValues })(base);
  }

  private store(t: Table, key: string, item: Item, table: string): void {
    const bytes = itemBytes(item);
    this.largestItemBytes = Math.max(this.largestItemBytes, bytes);
    if (bytes > DYNAMODB_LIMITS.itemBytes) {
      this.findings.push({ limit: 'dynamodb.itemBytes', value: bytes, max: DYNAMODB_LIMITS.itemBytes, where: `${table} ${key.slice(0, 80)}` });
      if (this.enforce) throw new AwsError(`${TYPE}ValidationException`, 'Item size has exceeded the maximum allowed size');
    }
    this.unindex(t, key);
    t.items.set(key, item);
    for (const [name, ix] of this.indexesOf(t)) {
      const h = item[ix.hash];
      if (!h) continue;
      let byValue = t.partitions.get(name);
      if (!byValue) t.partitions.set(name, (byValue = new Map()));
      const v = JSON.stringify(h);
      let keys = byValue.get(v);
      if (!keys) byValue.set(v, (keys = new Set()));
      keys.add(key);
    }
  }

  private indexesOf(t: Table): [string, { hash: string; range?: string }][] {
    return [['', { hash: t.hash, ...(t.range ? { range: t.range } : {}) }], ...Object.entries(t.indexes)];
  }

  private unindex(t: Table, key: string): void {
    const old = t.items.get(key);
    if (!old) return;
    for (const [name, ix] of this.indexesOf(t)) {
      const h = old[ix.hash];
      if (h) t.partitions.get(name)?.get(JSON.stringify(h))?.delete(key);
    }
  }

  private remove(t: Table, key: string): void {
    this.unindex(t, key);
    t.items.delete(key);
  }

  private query(req: any): unknown {
    const t = this.table(req.TableName);
    const index = req.IndexName ? t.indexes[req.IndexName] : { hash: t.hash, ...(t.range ? { range: t.range } : {}) };
    if (!index) throw new AwsError(`${TYPE}ValidationException`, `The table does not have the specified index: ${req.IndexName}`);
    const cond = parseCondition(req.KeyConditionExpression, { names: req.ExpressionAttributeNames, values: req.ExpressionAttributeValues });
    const filter = req.FilterExpression ? parseCondition(req.FilterExpression, { names: req.ExpressionAttributeNames, values: req.ExpressionAttributeValues }) : undefined;
    // the partition the key condition names (`<hash> = :v`), then the condition on its items
    const hashEq = /^\s*(#?\w+)\s*=\s*(:\w+)/.exec(req.KeyConditionExpression);
    const hashName = hashEq ? (hashEq[1]!.startsWith('#') ? req.ExpressionAttributeNames?.[hashEq[1]!] : hashEq[1]) : undefined;
    const hashVal = hashEq ? req.ExpressionAttributeValues?.[hashEq[2]!] : undefined;
    const candidates =
      hashName === index.hash && hashVal
        ? [...(t.partitions.get(req.IndexName ?? '')?.get(JSON.stringify(hashVal)) ?? [])].map((k) => t.items.get(k)!).filter(Boolean)
        : [...t.items.values()];
    let rows = candidates.filter((i) => i[index.hash] !== undefined && cond(i));
    const hashValue = rows[0]?.[index.hash];
    if (hashValue) this.throughput('read', req.TableName, hashValue);
    const sortKey = new Map(rows.map((i) => [i, (index.range ? (i[index.range]?.S ?? i[index.range]?.N ?? '') : '') + '\u0000' + this.keyOf(t, i)]));
    rows.sort((a, b) => (sortKey.get(a)! < sortKey.get(b)! ? -1 : sortKey.get(a)! > sortKey.get(b)! ? 1 : 0));
    if (req.ScanIndexForward === false) rows.reverse();
    if (req.ExclusiveStartKey) {
      const start = this.keyOf(t, req.ExclusiveStartKey);
      const at = rows.findIndex((i) => this.keyOf(t, i) === start);
      rows = rows.slice(at + 1);
    }
    // a page ends at Limit items or 1 MB (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Query.Pagination.html)
    const page: Item[] = [];
    let bytes = 0;
    for (const i of rows) {
      if (req.Limit !== undefined && page.length >= req.Limit) break;
      if (bytes > 1024 * 1024) break;
      page.push(i);
      bytes += itemBytes(i);
    }
    const more = page.length < rows.length;
    const last = page.at(-1);
    const items = filter ? page.filter(filter) : page;
    return {
      Items: items,
      Count: items.length,
      ScannedCount: page.length,
      ...(more && last ? { LastEvaluatedKey: this.lastKey(t, index, last) } : {}),
    };
  }

  private lastKey(t: Table, index: { hash: string; range?: string }, item: Item): Item {
    const key: Item = { [t.hash]: item[t.hash]! };
    if (t.range) key[t.range] = item[t.range]!;
    key[index.hash] = item[index.hash]!;
    if (index.range && item[index.range]) key[index.range] = item[index.range]!;
    return key;
  }

  private transact(req: { TransactItems: any[] }): unknown {
    if (req.TransactItems.length > 100) throw new AwsError(`${TYPE}ValidationException`, 'Member must have length less than or equal to 100');
    const staged: { t: Table; key: string; next: Item | undefined; table: string }[] = [];
    const reasons: { Code: string; Message?: string; Item?: Item }[] = [];
    let failed = false;
    for (const action of req.TransactItems) {
      const [kind, a] = Object.entries(action)[0] as [string, any];
      const t = this.table(a.TableName);
      const keyItem = kind === 'Put' ? a.Item : a.Key;
      this.throughput('write', a.TableName, keyItem[t.hash]);
      const key = this.keyOf(t, keyItem);
      const old = t.items.get(key);
      try {
        this.check(a, old, a.ReturnValuesOnConditionCheckFailure);
        reasons.push({ Code: 'None' });
        if (kind === 'Put') staged.push({ t, key, next: a.Item, table: a.TableName });
        else if (kind === 'Update') staged.push({ t, key, next: this.updated(a, old), table: a.TableName });
        else if (kind === 'Delete') staged.push({ t, key, next: undefined, table: a.TableName });
      } catch (err) {
        if (!(err instanceof AwsError) || !err.type.endsWith('ConditionalCheckFailedException')) throw err;
        failed = true;
        reasons.push({ Code: 'ConditionalCheckFailed', Message: 'The conditional request failed', ...(old && a.ReturnValuesOnConditionCheckFailure === 'ALL_OLD' ? { Item: old } : {}) });
      }
    }
    if (failed) {
      throw new AwsError(`${TYPE}TransactionCanceledException`, `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((r) => r.Code).join(', ')}]`, 400, { CancellationReasons: reasons });
    }
    for (const s of staged) {
      if (s.next === undefined) this.remove(s.t, s.key);
      else this.store(s.t, s.key, s.next, s.table);
    }
    return {};
  }
}

/** DynamoDB's item size: attribute names plus values (JSON length is close enough for a limit check). */
export function itemBytes(item: Item): number {
  return Buffer.byteLength(JSON.stringify(item));
}

export { equal };
