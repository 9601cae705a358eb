import { readFileSync } from 'node:fs';
import { CreateTableCommand, DynamoDBClient, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { CreateStateMachineCommand, SFNClient } from '@aws-sdk/client-sfn';
import { parse } from 'yaml';

/**
 * Creates the stack's own resources (SQS queues, DynamoDB table) in moto from the `resources`
 * section of serverless.yml, so the sandbox runs against the same definitions that deploy.
 * Supports the variable forms serverless.yml uses (${self:…}, ${sls:stage}, ${opt:…, default},
 * ${param:…, default}, ${env:…, default}, ${aws:region}, ${aws:accountId}) and Fn::GetAtt/Ref
 * between these resources.
 */
export interface StackOutputs {
  queues: Record<string, { url: string; arn: string; name: string }>;
  tables: Record<string, { name: string }>;
  /** Step Functions state machines (runs only with startSandbox({ stepFunctions: true }): moto's executor behind the front). */
  stateMachines: Record<string, { arn: string; name: string }>;
}

export interface StackContext {
  stage: string;
  region: string;
  accountId: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  endpoint: string;
}

export async function deployStackResources(ctx: StackContext, serverlessYml = 'serverless.yml'): Promise<StackOutputs> {
  const doc = parse(readFileSync(serverlessYml, 'utf8')) as Record<string, any>;
  const resolve = variableResolver(doc, ctx);
  const resources = resolve(doc.resources?.Resources ?? {}) as Record<string, { Type: string; Properties: Record<string, any> }>;
  const clientConfig = { region: ctx.region, endpoint: ctx.endpoint, credentials: ctx.credentials };
  const sqs = new SQSClient(clientConfig);
  const ddb = new DynamoDBClient(clientConfig);
  const out: StackOutputs = { queues: {}, tables: {}, stateMachines: {} };

  const queueIds = Object.keys(resources).filter((id) => resources[id]!.Type === 'AWS::SQS::Queue');
  // dead-letter queues first: the others' RedrivePolicy points at them
  queueIds.sort((a, b) => Number(Boolean(resources[a]!.Properties.RedrivePolicy)) - Number(Boolean(resources[b]!.Properties.RedrivePolicy)));
  for (const id of queueIds) {
    const p = resources[id]!.Properties;
    const attributes: Record<string, string> = {};
    for (const [k, v] of Object.entries(p)) {
      if (k === 'QueueName' || k === 'Tags') continue;
      attributes[k] = k === 'RedrivePolicy' ? JSON.stringify(intrinsics(v, out)) : String(v);
    }
    const created = await sqs.send(new CreateQueueCommand({ QueueName: p.QueueName, Attributes: attributes }));
    const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: created.QueueUrl, AttributeNames: ['QueueArn'] }));
    out.queues[id] = { url: created.QueueUrl!, arn: attrs.Attributes!.QueueArn!, name: p.QueueName };
  }
  for (const [id, r] of Object.entries(resources)) {
    if (r.Type !== 'AWS::DynamoDB::Table') continue;
    const p = r.Properties;
    await ddb.send(
      new CreateTableCommand({
        TableName: p.TableName,
        AttributeDefinitions: p.AttributeDefinitions,
        KeySchema: p.KeySchema,
        GlobalSecondaryIndexes: p.GlobalSecondaryIndexes,
        BillingMode: p.BillingMode ?? 'PAY_PER_REQUEST',
      }),
    );
    if (p.TimeToLiveSpecification?.Enabled) {
      await ddb.send(new UpdateTimeToLiveCommand({ TableName: p.TableName, TimeToLiveSpecification: p.TimeToLiveSpecification }));
    }
    out.tables[id] = { name: p.TableName };
  }
  const sfn = new SFNClient(clientConfig);
  for (const [id, r] of Object.entries(resources)) {
    if (r.Type !== 'AWS::StepFunctions::StateMachine') continue;
    const p = r.Properties;
    // the role is the stack's too; moto needs only its ARN (IAM roles are not created in the sandbox)
    const role = p.RoleArn?.['Fn::GetAtt']?.[0];
    const roleArn = typeof p.RoleArn === 'string' ? p.RoleArn : `arn:aws:iam::${ctx.accountId}:role/${role ?? id}`;
    const created = await sfn.send(new CreateStateMachineCommand({ name: p.StateMachineName, definition: JSON.stringify(intrinsics(p.Definition, out)), roleArn, type: p.StateMachineType ?? 'STANDARD' }));
    out.stateMachines[id] = { arn: created.stateMachineArn!, name: p.StateMachineName };
  }
  sfn.destroy();
  return out;
}

function intrinsics(value: any, out: StackOutputs): any {
  if (Array.isArray(value)) return value.map((v) => intrinsics(v, out));
  if (value && typeof value === 'object') {
    if ('Fn::GetAtt' in value) {
      const [id, attr] = value['Fn::GetAtt'] as [string, string];
      const q = out.queues[id];
      if (!q) throw new Error(`Fn::GetAtt ${id}.${attr}: resource not created yet`);
      return attr === 'Arn' ? q.arn : attr === 'QueueName' ? q.name : q.url;
    }
    if ('Ref' in value) return out.queues[value.Ref]?.url ?? out.tables[value.Ref]?.name ?? value.Ref;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, intrinsics(v, out)]));
  }
  return value;
}

function variableResolver(doc: Record<string, any>, ctx: StackContext): (v: any) => any {
  const lookup = (expr: string): string => {
    const [ref, ...fallback] = splitTop(expr);
    const def = fallback.length ? unquote(fallback.join(',').trim()) : undefined;
    const [kind, ...rest] = ref!.trim().split(':');
    const path = rest.join(':');
    let value: unknown;
    if (kind === 'self') value = path.split('.').reduce<any>((o, k) => o?.[k], doc);
    else if (kind === 'sls' && path === 'stage') value = ctx.stage;
    else if (kind === 'opt' && path === 'stage') value = ctx.stage;
    else if (kind === 'opt' && path === 'region') value = ctx.region;
    else if (kind === 'aws' && path === 'region') value = ctx.region;
    else if (kind === 'aws' && path === 'accountId') value = ctx.accountId;
    else if (kind === 'env') value = process.env[path];
    else if (kind === 'param') value = undefined;
    if (value === undefined || value === null) {
      if (def === undefined) throw new Error(`serverless.yml variable \${${expr}} has no value in the sandbox`);
      value = def.startsWith('${') ? resolveString(def) : def;
    }
    return typeof value === 'string' ? resolveString(value) : String(value);
  };
  const resolveString = (s: string): string => {
    let prev = '';
    let cur = s;
    while (cur !== prev) {
      prev = cur;
      cur = cur.replace(/\$\{([^${}]+)\}/g, (_m, expr: string) => lookup(expr));
    }
    return cur;
  };
  const walk = (v: any): any => {
    if (typeof v === 'string') {
      const r = resolveString(v);
      return /^\d+$/.test(r) && r !== v ? Number(r) : r;
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk;
}

function splitTop(expr: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of expr) {
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
      continue;
    }
    if (ch === '{') depth++;
    if (ch === '}') depth--;
    cur += ch;
  }
  parts.push(cur);
  return parts;
}

function unquote(s: string): string {
  return s.replace(/^['"]|['"]$/g, '');
}
