import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isMap, isSeq, parse, parseDocument, type YAMLMap, type YAMLSeq } from 'yaml';
import { bundleCalls, type BundleCalls } from '../support/issue7-sdk-calls';

/**
 * Issue 7, IAM: each function's role in serverless.yml holds exactly the actions its bundle calls
 * (found in the sources esbuild bundles, test/support/issue7-sdk-calls.ts), plus what AWS needs
 * besides the call itself, minus what the function provably never calls (each with its reason).
 * A missing action fails here before it fails in AWS; an action no code calls fails here too.
 */
const text = readFileSync('serverless.yml', 'utf8');
const yml = parse(text) as Record<string, any>;
const doc = parseDocument(text);

/** Needed by every Lambda function: writing its own log group (the runtime does it with this role). */
const LAMBDA_LOGS = ['logs:CreateLogStream', 'logs:PutLogEvents'];

/** Calls that need no permission at all. */
const NO_PERMISSION: Record<string, string> = {
  // https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html: "No permissions are required"
  'sts:GetCallerIdentity': 'needs no permission',
};

/** What a call needs besides its own action. */
const IMPLIED: Record<string, string[]> = {
  // the task definition names an execution role (iam:PassRole) and carries our managed-by tag
  // (tag-on-create is authorised as ecs:TagResource with condition ecs:CreateAction)
  'ecs:RegisterTaskDefinition': ['iam:PassRole', 'ecs:TagResource'],
  'ecs:CreateService': ['ecs:TagResource'],
};

/** Calls of the adapters' observe/plan/apply (bundled wherever the adapters are): only the worker makes them. */
const RECONCILE_ONLY = [
        'ec2:DescribeInstances',
        'ecs:CreateService',
        'ecs:DescribeClusters',
        'ecs:DescribeContainerInstances',
        'ecs:DescribeServices',
        'ecs:DescribeTaskDefinition',
        'ecs:DescribeTasks',
        'ecs:ListContainerInstances',
        'ecs:ListTaskDefinitions',
        'ecs:ListTasks',
        'ecs:RegisterTaskDefinition',
        'ecs:UpdateService',
        'eks:DescribeCluster',
        'eks:CreateAccessEntry',
        'eks:AssociateAccessPolicy',
];

const DISCOVERY_ONLY = 'redeploy resolves a selector with the adapters’ discover() only; the worker does the rest';

const FUNCTIONS: Record<string, { platform?: string[]; notCalled?: Record<string, string> }> = {
  'on-aws-event': {},
  'reconcile-worker': {
    // Lambda's SQS event source mapping polls and deletes with the function's role
    platform: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
    notCalled: {
      'ecs:ListClusters': 'the worker reconciles the one cluster its item names; it never discovers',
      'eks:ListClusters': 'the worker reconciles the one cluster its item names; it never discovers',
    },
  },
  // nightly discovers and starts the rollout workflow; the worker reconciles (the adapters' other calls are bundled, never made)
  nightly: {
    notCalled: Object.fromEntries(
      [
        ...RECONCILE_ONLY,
        'secretsmanager:DescribeSecret',
      ].map((a) => [a, 'nightly starts a run (discover, run record, StartExecution); the worker reconciles each cluster']),
    ),
  },
  redeploy: {
    notCalled: Object.fromEntries(
      [
        ...RECONCILE_ONLY,
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'secretsmanager:DescribeSecret',
      ].map((a) => [a, DISCOVERY_ONLY]),
    ),
  },
  'on-webhook': {
    notCalled: { 'sts:AssumeRole': 'on-webhook calls its own account only (the work queue, its secrets); AWS clients there never name a role' },
  },
  'qualys-hygiene': {
    notCalled: {
      'dynamodb:GetItem': 'hygiene only lists the inventory (Query on byKind)',
      'dynamodb:PutItem': 'hygiene only lists the inventory (Query on byKind)',
      'sts:AssumeRole': 'hygiene reads its own account only (its secrets and the inventory)',
    },
  },
};

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, any>;
}

/** The role's statements; a statement under `Fn::If [cond, statement, AWS::NoValue]` counts as present. */
function statementsOf(roleId: string): Statement[] {
  const role = yml.resources.Resources[roleId];
  expect(role, roleId).toBeDefined();
  return role.Properties.Policies.flatMap((p: any) => p.PolicyDocument.Statement).map((s: any) => (s['Fn::If'] ? s['Fn::If'][1] : s));
}

function actionsOf(statements: Statement[]): string[] {
  return [...new Set(statements.filter((s) => s.Effect === 'Allow').flatMap((s) => [s.Action].flat()))].sort();
}

const bundles = new Map<string, Promise<BundleCalls>>();
function calls(fn: string): Promise<BundleCalls> {
  if (!bundles.has(fn)) bundles.set(fn, bundleCalls(yml.functions[fn].handler.replace(/\.handler$/, '.ts')));
  return bundles.get(fn)!;
}

describe('each role holds exactly what its function calls', () => {
  it('every function is covered', () => {
    expect(Object.keys(yml.functions).sort()).toEqual(Object.keys(FUNCTIONS).sort());
  });

  it.each(Object.keys(FUNCTIONS))('%s', async (fn) => {
    const spec = FUNCTIONS[fn]!;
    const bundle = await calls(fn);
    const found = [...bundle.actions.keys()];
    // an exclusion names something the bundle really contains (a stale one fails)
    for (const a of Object.keys(spec.notCalled ?? {})) expect(found, `${fn}: notCalled ${a}`).toContain(a);
    const called = found.filter((a) => !(a in (spec.notCalled ?? {})) && !(a in NO_PERMISSION));
    const expected = [...new Set([...called, ...called.flatMap((a) => IMPLIED[a] ?? []), ...LAMBDA_LOGS, ...(spec.platform ?? [])])].sort();
    const granted = actionsOf(statementsOf(yml.functions[fn].role));
    const missing = expected.filter((a) => !granted.includes(a));
    const extra = granted.filter((a) => !expected.includes(a));
    expect({ fn, missing, extra }).toEqual({ fn, missing: [], extra: [] });
  }, 60_000);
});

describe('resources', () => {
  it('every statement on Resource "*" says why (a comment right above it)', () => {
    for (const fn of Object.keys(FUNCTIONS)) {
      const roleId = yml.functions[fn].role;
      const seq = doc.getIn(['resources', 'Resources', roleId, 'Properties', 'Policies', 0, 'PolicyDocument', 'Statement'], true) as YAMLSeq;
      expect(isSeq(seq), roleId).toBe(true);
      seq.items.forEach((item, i) => {
        const node = item as YAMLMap;
        const stmt = isMap(node) ? (node.toJSON() as Statement) : undefined;
        if (stmt?.Resource === '*') expect(node.commentBefore?.trim(), `${roleId} statement ${i} (${JSON.stringify(stmt.Action)})`).toBeTruthy();
      });
    }
  });

  it('the worker may send to its own queue (a requeued item) and to its DLQ; on-aws-event to the work queue and its ingest DLQ', () => {
    const sendsTo = (fn: string) => statementsOf(yml.functions[fn].role).filter((s) => [s.Action].flat().includes('sqs:SendMessage')).flatMap((s) => [s.Resource].flat());
    expect(sendsTo('reconcile-worker')).toEqual([{ 'Fn::GetAtt': ['WorkQueue', 'Arn'] }, { 'Fn::GetAtt': ['WorkDeadLetterQueue', 'Arn'] }]);
    expect(sendsTo('on-aws-event')).toEqual([{ 'Fn::GetAtt': ['WorkQueue', 'Arn'] }, { 'Fn::GetAtt': ['IngestDeadLetterQueue', 'Arn'] }]);
  });

  it('ecs:TagResource only for tagging on create (condition ecs:CreateAction)', () => {
    for (const fn of Object.keys(FUNCTIONS)) {
      for (const s of statementsOf(yml.functions[fn].role).filter((x) => [x.Action].flat().includes('ecs:TagResource'))) {
        expect([s.Action].flat()).toEqual(['ecs:TagResource']);
        expect(s.Condition?.StringEquals?.['ecs:CreateAction']).toEqual(['CreateService', 'RegisterTaskDefinition']);
      }
    }
  });

  it('the worker may read the Qualys API secret (a ring’s check-in gate); hygiene the registry credential secrets', () => {
    const readable = (fn: string) => JSON.stringify(statementsOf(yml.functions[fn].role).filter((s) => [s.Action].flat().includes('secretsmanager:GetSecretValue')).map((s) => s.Resource));
    expect(readable('reconcile-worker')).toContain('${self:custom.qualysApiSecretName}');
    expect(readable('nightly')).not.toContain('${self:custom.qualysApiSecretName}');
    expect(readable('qualys-hygiene')).toContain('${self:custom.qualysApiSecretName}');
    expect(readable('qualys-hygiene')).toContain('${self:custom.registryCredentialsSecretPrefix}');
  });

  it('sts:AssumeRole names the target role in the configured target accounts only, never in any account', () => {
    const assume = Object.keys(FUNCTIONS)
      .flatMap((fn) => statementsOf(yml.functions[fn].role))
      .filter((s) => [s.Action].flat().includes('sts:AssumeRole'));
    expect(assume.length).toBeGreaterThan(0);
    for (const s of assume) {
      expect(JSON.stringify(s.Resource)).not.toMatch(/iam::\*|targetRoleArn/);
      expect(evaluate(s.Resource, { targetAccountIds: '111111111111,222222222222' })).toEqual([
        'arn:aws:iam::111111111111:role/sensorfleet-target',
        'arn:aws:iam::222222222222:role/sensorfleet-target',
      ]);
    }
    // without target accounts the statement is left out (Fn::If on the HasTargetAccounts condition)
    const condition = yml.resources.Conditions?.HasTargetAccounts;
    expect(condition).toEqual({ 'Fn::Not': [{ 'Fn::Equals': ['${self:custom.targetAccountIds}', ''] }] });
    for (const fn of Object.keys(FUNCTIONS)) {
      const raw = yml.resources.Resources[yml.functions[fn].role].Properties.Policies.flatMap((p: any) => p.PolicyDocument.Statement);
      for (const s of raw.filter((x: any) => x['Fn::If'])) expect(s['Fn::If'][0]).toBe('HasTargetAccounts');
      for (const s of raw.filter((x: any) => !x['Fn::If'])) expect([s.Action].flat()).not.toContain('sts:AssumeRole');
    }
  });
});

/** Evaluates the intrinsics an AssumeRole resource uses (Fn::Join, Fn::Split) after the framework's ${self:custom.*} and ${param:...} substitution. */
function evaluate(value: unknown, params: Record<string, string>): unknown {
  if (typeof value === 'string') return substitute(value, params);
  if (Array.isArray(value)) return value.map((v) => evaluate(v, params));
  if (value && typeof value === 'object') {
    const o = value as Record<string, any>;
    if ('Fn::Join' in o) {
      const [sep, parts] = o['Fn::Join'];
      return (evaluate(parts, params) as unknown[]).flat().join(substitute(sep, params));
    }
    if ('Fn::Split' in o) {
      const [sep, s] = o['Fn::Split'];
      return String(evaluate(s, params)).split(substitute(sep, params));
    }
  }
  throw new Error(`cannot evaluate ${JSON.stringify(value)}`);
}

function substitute(s: string, params: Record<string, string>): string {
  return s.replace(/\$\{self:custom\.([\w]+)\}/g, (_m, key: string) => {
    const raw = String(yml.custom[key]);
    const m = /^\$\{param:(\w+),\s*'([^']*)'\}$/.exec(raw);
    return m ? (params[m[1]!] ?? m[2]!) : raw;
  });
}
