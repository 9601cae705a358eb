import { readFileSync } from 'node:fs';
import { build } from 'esbuild';

/**
 * The AWS API actions a function's bundle can call, found in the sources esbuild puts into it
 * (its metafile inputs, dynamic imports included): every `new <X>Command(` / `paginate<X>(` imported
 * from an @aws-sdk client or lib-dynamodb (statically, or destructured from a lazy import() of one),
 * named as IAM names them; the calls our code signs by hand; and the calls of bundled libraries that
 * talk to AWS themselves.
 */
export interface BundleCalls {
  /** IAM action -> the source files that call it. */
  actions: Map<string, Set<string>>;
  inputs: string[];
}

/** @aws-sdk package -> IAM service prefix. */
const SERVICE_PREFIX: Record<string, string> = {
  '@aws-sdk/client-auto-scaling': 'autoscaling',
  '@aws-sdk/client-dynamodb': 'dynamodb',
  '@aws-sdk/lib-dynamodb': 'dynamodb',
  '@aws-sdk/client-ec2': 'ec2',
  '@aws-sdk/client-ecs': 'ecs',
  '@aws-sdk/client-s3': 's3',
  '@aws-sdk/client-eks': 'eks',
  '@aws-sdk/client-eventbridge': 'events',
  '@aws-sdk/client-secrets-manager': 'secretsmanager',
  '@aws-sdk/client-sfn': 'states',
  '@aws-sdk/client-sqs': 'sqs',
  '@aws-sdk/client-sts': 'sts',
};

/** Operation names whose IAM action differs (batch APIs are authorised as their single action; document-client names). */
const ACTION_OF: Record<string, string> = {
  'sqs:SendMessageBatch': 'sqs:SendMessage',
  'sqs:DeleteMessageBatch': 'sqs:DeleteMessage',
  'sqs:ChangeMessageVisibilityBatch': 'sqs:ChangeMessageVisibility',
  'dynamodb:Get': 'dynamodb:GetItem',
  'dynamodb:Put': 'dynamodb:PutItem',
  'dynamodb:Update': 'dynamodb:UpdateItem',
  'dynamodb:Delete': 'dynamodb:DeleteItem',
  'dynamodb:BatchWrite': 'dynamodb:BatchWriteItem',
  'dynamodb:BatchGet': 'dynamodb:BatchGetItem',
};

/** Calls signed by hand (no SDK client): the file and the actions it calls. */
const HAND_SIGNED: Record<string, string[]> = {
  // one SigV4-signed Query call (the EC2 client alone would blow the bundle budget)
  'shared/platforms/aws/ec2-host-names.ts': ['ec2:DescribeInstances'],
  // a presigned sts:GetCallerIdentity URL handed to the Kubernetes API server: needs no permission
  'shared/platforms/eks/token.ts': [],
};

/** Bundled libraries that call AWS with the function's credentials. */
const LIBRARY_CALLS: Array<{ input: RegExp; actions: string[] }> = [
  // Powertools idempotency's DynamoDB persistence layer: get, conditional put, update, delete of its records
  { input: /@aws-lambda-powertools\/idempotency\/lib\/esm\/persistence\/DynamoDBPersistenceLayer\.js$/, actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'] },
];

export async function bundleCalls(entry: string): Promise<BundleCalls> {
  const out = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    metafile: true,
    outfile: 'out.mjs',
    platform: 'node',
    format: 'esm',
    target: 'node22',
    mainFields: ['module', 'main'],
    logLevel: 'silent',
  });
  const inputs = Object.keys(out.metafile!.inputs);
  const actions = new Map<string, Set<string>>();
  const add = (action: string, file: string) => {
    const a = ACTION_OF[action] ?? action;
    if (!actions.has(a)) actions.set(a, new Set());
    actions.get(a)!.add(file);
  };
  for (const file of inputs) {
    if (/^(functions|shared)\/.*\.ts$/.test(file)) {
      const source = readFileSync(file, 'utf8');
      for (const a of sdkCallsIn(source)) add(a, file);
      for (const a of HAND_SIGNED[file] ?? []) add(a, file);
    }
    for (const lib of LIBRARY_CALLS) if (lib.input.test(file)) for (const a of lib.actions) add(a, file);
  }
  return { actions, inputs };
}

/** `import { A, B as C } from '@aws-sdk/client-x'` then `new ACommand(` / `paginateB(` / `TransactWriteCommand({ ... Put: ...})`. */
export function sdkCallsIn(source: string): string[] {
  const found: string[] = [];
  const imports = /import\s*\{([^}]*)\}\s*from\s*'(@aws-sdk\/[a-z0-9-]+)'/g;
  for (const m of source.matchAll(imports)) {
    const prefix = SERVICE_PREFIX[m[2]!];
    if (!prefix) continue;
    for (const spec of m[1]!.split(',').map((s) => s.trim()).filter((s) => s && !s.startsWith('type '))) {
      const [imported, local = imported] = spec.split(/\s+as\s+/) as [string, string?];
      const used = (name: string) => new RegExp(`(new\\s+${escape(name)}\\s*\\(|\\b${escape(name)}\\s*\\()`).test(source);
      const command = /^(\w+)Command$/.exec(imported);
      const paginator = /^paginate(\w+)$/.exec(imported);
      if (command && used(local!)) {
        found.push(...transactionItems(prefix, command[1]!, source));
      } else if (paginator && used(local!)) {
        found.push(`${prefix}:${paginator[1]}`);
      }
    }
  }
  // `const { XCommand, Client } = await sdk()` where the file loads one SDK package with import() (a lazy chunk)
  const dynamic = [...new Set([...source.matchAll(/import\(\s*'(@aws-sdk\/[a-z0-9-]+)'\s*\)/g)].map((m) => m[1]!))];
  if (dynamic.length === 1 && SERVICE_PREFIX[dynamic[0]!]) {
    const prefix = SERVICE_PREFIX[dynamic[0]!]!;
    for (const m of source.matchAll(/const\s*\{([^}]*)\}\s*=\s*await\b/g)) {
      for (const name of m[1]!.split(',').map((x) => x.trim().split(/\s*:\s*/)[0]!)) {
        const command = /^(\w+)Command$/.exec(name);
        if (command && new RegExp(`new\\s+${escape(name)}\\s*\\(`).test(source)) found.push(...transactionItems(prefix, command[1]!, source));
      }
    }
  }
  return found;
}

/** A transaction is authorised per item action (TransactWriteItems: PutItem, UpdateItem, DeleteItem, ConditionCheckItem). */
function transactionItems(prefix: string, op: string, source: string): string[] {
  if (op === 'TransactGet') return [`${prefix}:GetItem`];
  if (op !== 'TransactWrite') return [`${prefix}:${op}`];
  const items = { Put: 'PutItem', Update: 'UpdateItem', Delete: 'DeleteItem', ConditionCheck: 'ConditionCheckItem' };
  return Object.entries(items).filter(([key]) => new RegExp(`\\b${key}:\\s*\\{`).test(source)).map(([, action]) => `${prefix}:${action}`);
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
