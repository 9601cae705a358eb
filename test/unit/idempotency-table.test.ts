import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

/**
 * The worker's Powertools idempotency records have a table of their own (serverless.yml IdempotencyTable),
 * keyed as Powertools documents it (https://docs.powertools.aws.dev/lambda/typescript/latest/features/idempotency/):
 * partition key `id` alone, so every record is its own partition key, and TTL on `expiration`.
 */
const doc = parse(readFileSync('serverless.yml', 'utf8')) as Record<string, any>;
const resources = doc.resources.Resources as Record<string, { Type: string; Properties: Record<string, any> }>;

function mentions(value: unknown, logicalId: string): boolean {
  if (Array.isArray(value)) return value.some((v) => mentions(v, logicalId));
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (o.Ref === logicalId) return true;
    if (Array.isArray(o['Fn::GetAtt']) && o['Fn::GetAtt'][0] === logicalId) return true;
    return Object.values(o).some((v) => mentions(v, logicalId));
  }
  return false;
}

describe('IdempotencyTable', () => {
  it('is keyed by `id` alone, on demand, with TTL on `expiration`', () => {
    const p = resources.IdempotencyTable!.Properties;
    expect(resources.IdempotencyTable!.Type).toBe('AWS::DynamoDB::Table');
    expect(p.KeySchema).toEqual([{ AttributeName: 'id', KeyType: 'HASH' }]);
    expect(p.AttributeDefinitions).toEqual([{ AttributeName: 'id', AttributeType: 'S' }]);
    expect(p.BillingMode).toBe('PAY_PER_REQUEST');
    expect(p.TimeToLiveSpecification).toEqual({ AttributeName: 'expiration', Enabled: true });
    expect(p.GlobalSecondaryIndexes).toBeUndefined();
  });

  it('is named to the reconcile worker only, in its own environment', () => {
    expect(doc.functions['reconcile-worker'].environment.SENSORFLEET_IDEMPOTENCY_TABLE).toEqual({ Ref: 'IdempotencyTable' });
    expect(mentions(doc.provider.environment, 'IdempotencyTable')).toBe(false);
    const others = Object.entries<any>(doc.functions).filter(([fn, def]) => fn !== 'reconcile-worker' && mentions(def.environment, 'IdempotencyTable'));
    expect(others.map(([fn]) => fn)).toEqual([]);
  });

  it('only the worker role reaches it, with the four calls Powertools makes and nothing else', () => {
    const grants: { role: string; actions: string[] }[] = [];
    for (const [id, r] of Object.entries(resources)) {
      if (r.Type !== 'AWS::IAM::Role') continue;
      for (const policy of r.Properties.Policies ?? []) {
        for (const s of policy.PolicyDocument.Statement) {
          if (mentions(s.Resource, 'IdempotencyTable')) grants.push({ role: id, actions: [s.Action].flat() });
          // no DynamoDB statement on every resource (`*`) or on a wildcard table ARN lets a role around it
          const text = JSON.stringify(s);
          if (text.includes('dynamodb:')) expect(text, id).not.toMatch(/"Resource":"\*"|table\/\*|dynamodb:\*/);
        }
      }
    }
    expect(grants).toEqual([{ role: 'ReconcileWorkerRole', actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'] }]);
  });
});
