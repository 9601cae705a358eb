import { describe, expect, it } from 'vitest';
import { parseCondition, parseUpdate } from '../sim/dynamodb-expressions';
import { SimDynamoDb } from '../sim/dynamodb';
import { PROVIDER_LIMITS } from '../sim/limits';
import { RateLimits } from '../sim/rate-limit';

describe('simulated DynamoDB expressions and limits', () => {
  it('evaluates the conditions the product and Powertools idempotency use', () => {
    const names = { '#s': 'status', '#id': 'id', '#expiry': 'expiration' };
    const values = { ':running': { S: 'running' }, ':halted': { S: 'halted' }, ':now': { N: '100' } };
    const item = { id: { S: 'x' }, status: { S: 'running' }, expiration: { N: '50' }, halt: { M: { taskToken: { S: 't' } } } };
    expect(parseCondition('#s IN (:running, :halted)', { names, values })(item)).toBe(true);
    expect(parseCondition('attribute_not_exists(#id) OR #expiry < :now', { names, values })(item)).toBe(true);
    expect(parseCondition('attribute_not_exists(#id) OR (#s = :halted AND #expiry < :now)', { names, values })(item)).toBe(false);
    expect(parseCondition('NOT attribute_exists(halt.taskToken)', { names, values })(item)).toBe(false);
  });

  it('applies SET with if_not_exists and list_append, and REMOVE, reading the item as it was', () => {
    const item = { history: { L: [{ S: 'a' }] }, gateStarted: { M: {} }, gates: { M: { '1': { S: 'pass' } } } };
    const next = parseUpdate('SET gateStarted.#r = if_not_exists(gateStarted.#r, :now), history = list_append(history, :h) REMOVE gates.#r', {
      names: { '#r': '1' },
      values: { ':now': { S: 't0' }, ':h': { L: [{ S: 'b' }] } },
    })(item);
    expect(next).toEqual({ history: { L: [{ S: 'a' }, { S: 'b' }] }, gateStarted: { M: { '1': { S: 't0' } } }, gates: { M: {} } });
    expect(item.history.L).toHaveLength(1);
  });

  it('refuses a failed condition, cancels a whole transaction, and pages a query', () => {
    const db = new SimDynamoDb(new RateLimits(PROVIDER_LIMITS, () => 0), true);
    db.createTable('t', 'pk', 'sk', { byKind: { hash: 'gsi1pk', range: 'gsi1sk' } });
    db.handle('PutItem', { TableName: 't', Item: { pk: { S: 'a' }, sk: { S: '1' } }, ConditionExpression: 'attribute_not_exists(pk)' });
    expect(() => db.handle('PutItem', { TableName: 't', Item: { pk: { S: 'a' }, sk: { S: '1' } }, ConditionExpression: 'attribute_not_exists(pk)' })).toThrow(/conditional request failed/);
    expect(() =>
      db.handle('TransactWriteItems', {
        TransactItems: [{ Put: { TableName: 't', Item: { pk: { S: 'b' }, sk: { S: '1' } } } }, { Put: { TableName: 't', Item: { pk: { S: 'a' }, sk: { S: '1' } }, ConditionExpression: 'attribute_not_exists(pk)' } }],
      }),
    ).toThrow(/Transaction cancelled/);
    expect(db.handle('GetItem', { TableName: 't', Key: { pk: { S: 'b' }, sk: { S: '1' } } })).toEqual({});
    for (let i = 0; i < 5; i++) db.handle('PutItem', { TableName: 't', Item: { pk: { S: `r${i}` }, sk: { S: 'R' }, gsi1pk: { S: 'RELEASE' }, gsi1sk: { S: `c${i}` } } });
    const first = db.handle('Query', { TableName: 't', IndexName: 'byKind', KeyConditionExpression: 'gsi1pk = :k', ExpressionAttributeValues: { ':k': { S: 'RELEASE' } }, Limit: 3 }) as any;
    const second = db.handle('Query', { TableName: 't', IndexName: 'byKind', KeyConditionExpression: 'gsi1pk = :k', ExpressionAttributeValues: { ':k': { S: 'RELEASE' } }, Limit: 3, ExclusiveStartKey: first.LastEvaluatedKey }) as any;
    expect([...first.Items, ...second.Items].map((i: any) => i.gsi1sk.S)).toEqual(['c0', 'c1', 'c2', 'c3', 'c4']);
    expect(second.LastEvaluatedKey).toBeUndefined();
  });

  it('finds (and, enforcing, refuses) an item over 400 KB', () => {
    const reporting = new SimDynamoDb(new RateLimits(PROVIDER_LIMITS, () => 0), false);
    reporting.createTable('t', 'pk', 'sk');
    const big = { pk: { S: 'run' }, sk: { S: 'RUN' }, clusters: { S: 'x'.repeat(500 * 1024) } };
    reporting.handle('PutItem', { TableName: 't', Item: big });
    expect(reporting.findings.map((f) => f.limit)).toEqual(['dynamodb.itemBytes']);
    const enforcing = new SimDynamoDb(new RateLimits(PROVIDER_LIMITS, () => 0), true);
    enforcing.createTable('t', 'pk', 'sk');
    expect(() => enforcing.handle('PutItem', { TableName: 't', Item: big })).toThrow(/Item size has exceeded the maximum allowed size/);
  });
});
