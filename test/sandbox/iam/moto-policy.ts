import type { PolicyStatement } from './roles';

/**
 * A role's statements as moto 5.2.1 can check them (toolchain.md §7). moto resolves the real resource
 * ARN only for SQS queues, IAM roles, STS AssumeRole and S3; every other service's request is checked
 * against resource `*`, so a statement scoped to a table, secret, cluster or state machine would be
 * denied there although AWS allows it. In the TEST COPY ONLY those statements get Resource `*`: for
 * those services the enforced test proves the action set; for SQS and STS it proves the resources too.
 *
 * AWS authorises SQS's batch calls as their single action (DeleteMessageBatch needs sqs:DeleteMessage,
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-api-permissions-reference.html);
 * moto asks for `sqs:DeleteMessageBatch` itself, so an SQS statement also names the batch form of the
 * actions it grants. Likewise DynamoDB has no IAM action TransactWriteItems: AWS checks the action of
 * each item in the transaction (dynamodb:PutItem, UpdateItem, DeleteItem, ConditionCheckItem,
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html); moto asks
 * for `dynamodb:TransactWriteItems`, so a statement granting one of those item actions names it too
 * (which item actions a transaction holds is then not checked here: test/integration/issue7-iam-roles
 * pins them statically).
 */
const RESOURCES_CHECKED = new Set(['sqs', 'iam', 'sts', 's3']);
const SQS_BATCH: Record<string, string> = {
  'sqs:SendMessage': 'sqs:SendMessageBatch',
  'sqs:DeleteMessage': 'sqs:DeleteMessageBatch',
  'sqs:ChangeMessageVisibility': 'sqs:ChangeMessageVisibilityBatch',
};
const TRANSACT_WRITE_ITEM_ACTIONS = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:ConditionCheckItem'];

function motoActions(service: string, actions: string[]): string[] {
  if (service === 'sqs') return [...actions, ...actions.flatMap((a) => (SQS_BATCH[a] ? [SQS_BATCH[a]] : []))];
  if (service === 'dynamodb' && actions.some((a) => TRANSACT_WRITE_ITEM_ACTIONS.includes(a))) return [...actions, 'dynamodb:TransactWriteItems'];
  return actions;
}

export function motoCheckableStatements(statements: PolicyStatement[]): PolicyStatement[] {
  const out: PolicyStatement[] = [];
  for (const s of statements) {
    const byService = new Map<string, string[]>();
    for (const a of s.Action) {
      const service = a.split(':')[0]!;
      byService.set(service, [...(byService.get(service) ?? []), a]);
    }
    for (const [service, actions] of byService) {
      const checked = RESOURCES_CHECKED.has(service);
      out.push({ ...s, Action: motoActions(service, actions), Resource: checked ? s.Resource : ['*'], ...(s.Condition ? { Condition: conditionWithStrings(s.Condition) } : {}) });
    }
  }
  return out;
}

/** moto's policy validator takes condition values as strings only; IAM reads `900` and `"900"` alike. */
function conditionWithStrings(condition: Record<string, Record<string, unknown>>): Record<string, Record<string, unknown>> {
  const str = (v: unknown): unknown => (typeof v === 'number' ? String(v) : Array.isArray(v) ? v.map(str) : v);
  return Object.fromEntries(Object.entries(condition).map(([op, kv]) => [op, Object.fromEntries(Object.entries(kv).map(([k, v]) => [k, str(v)]))]));
}

/** The policy document moto stores (Condition kept: moto evaluates it, keys it cannot supply fail closed). */
export function policyDocument(statements: PolicyStatement[]): string {
  return JSON.stringify({ Version: '2012-10-17', Statement: statements });
}

/** A copy of the statements without one action (the proof that a permission is really needed). */
export function withoutAction(statements: PolicyStatement[], action: string): PolicyStatement[] {
  const found = statements.some((s) => s.Action.includes(action));
  if (!found) throw new Error(`no statement grants ${action}`);
  return statements.map((s) => ({ ...s, Action: s.Action.filter((a) => a !== action) })).filter((s) => s.Action.length > 0);
}
