import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { StackOutputs } from '../stack';

/**
 * The functions' IAM roles as serverless.yml defines them, with the framework's variables and the
 * CloudFormation intrinsics their policies use (Ref, Fn::GetAtt, Fn::Join, Fn::Split, Fn::Sub, Fn::If
 * on the template's Conditions) resolved against the sandbox stack's real names and ARNs.
 */
export interface PolicyStatement {
  Effect: 'Allow' | 'Deny';
  Action: string[];
  Resource: string[];
  Condition?: Record<string, Record<string, unknown>>;
}

export interface RoleDefinition {
  logicalId: string;
  policies: { name: string; statements: PolicyStatement[] }[];
}

export interface TemplateContext {
  stage: string;
  region: string;
  accountId: string;
  stack: StackOutputs;
  /** Deploy-time `--param` values (e.g. targetAccountIds); unset ones take serverless.yml's defaults. */
  params?: Record<string, string>;
  /** ARNs of the roles created in the sandbox, by logical id (Fn::GetAtt Role.Arn). */
  roleArns?: Record<string, string>;
}

const NO_VALUE = Symbol('AWS::NoValue');

export function loadTemplate(path = 'serverless.yml'): Record<string, any> {
  return parse(readFileSync(path, 'utf8')) as Record<string, any>;
}

/** The role of each function (functions.<name>.role), resolved. */
export function functionRoles(doc: Record<string, any>, ctx: TemplateContext): Map<string, RoleDefinition> {
  return new Map(Object.entries<any>(doc.functions ?? {}).map(([fn, def]) => [fn, roleDefinition(doc, String(def.role), ctx)]));
}

/** One AWS::IAM::Role resource's inline policies, resolved. */
export function roleDefinition(doc: Record<string, any>, logicalId: string, ctx: TemplateContext): RoleDefinition {
  const resource = doc.resources?.Resources?.[logicalId];
  if (resource?.Type !== 'AWS::IAM::Role') throw new Error(`${logicalId} is not an AWS::IAM::Role resource`);
  const resolved = resolveTemplateValue(doc, resource.Properties.Policies, ctx) as { PolicyName: string; PolicyDocument: { Statement: unknown[] } }[];
  return { logicalId, policies: resolved.map((p) => ({ name: p.PolicyName, statements: p.PolicyDocument.Statement.map(normaliseStatement) })) };
}

function normaliseStatement(s: any): PolicyStatement {
  return {
    Effect: s.Effect,
    Action: [s.Action].flat().map(String),
    Resource: [s.Resource].flat().map(String),
    ...(s.Condition ? { Condition: s.Condition } : {}),
  };
}

/** Framework variables first (${self:…}, ${sls:stage}, ${param:…, default}), then the intrinsics. */
export function resolveTemplateValue(doc: Record<string, any>, value: unknown, ctx: TemplateContext): unknown {
  const withVariables = variables(doc, ctx)(value);
  const r = intrinsics(doc, withVariables, ctx);
  return r === NO_VALUE ? undefined : r;
}

function variables(doc: Record<string, any>, ctx: TemplateContext): (v: unknown) => unknown {
  const lookup = (expr: string): string => {
    const m = /^\s*([a-z]+):([^,]+?)\s*(?:,\s*(.*))?$/s.exec(expr);
    if (!m) throw new Error(`serverless.yml variable \${${expr}} is not understood`);
    const [, kind, path, fallback] = m as unknown as [string, string, string, string | undefined];
    const def = fallback === undefined ? undefined : fallback.trim().replace(/^['"]|['"]$/g, '');
    let value: unknown;
    if (kind === 'self') value = path.split('.').reduce<any>((o, k) => o?.[k], doc);
    else if (kind === 'sls' && path === 'stage') value = ctx.stage;
    else if (kind === 'opt' && path === 'stage') value = ctx.stage;
    else if (kind === 'opt' && path === 'region') value = ctx.region;
    else if (kind === 'param') value = ctx.params?.[path];
    else if (kind === 'env') value = undefined;
    if (value === undefined || value === null) {
      if (def === undefined) throw new Error(`serverless.yml variable \${${expr}} has no value in the sandbox`);
      value = def;
    }
    return String(value);
  };
  const resolveString = (s: string): string => {
    let prev = '';
    let cur = s;
    // innermost first; CloudFormation's own ${AWS::…} (Fn::Sub) has no `kind:` prefix and is left alone
    while (cur !== prev) {
      prev = cur;
      cur = cur.replace(/\$\{([a-z]+:[^${}]+)\}/g, (_m, expr: string) => lookup(expr));
    }
    return cur;
  };
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return resolveString(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk;
}

function intrinsics(doc: Record<string, any>, value: unknown, ctx: TemplateContext): unknown {
  const self = (v: unknown) => intrinsics(doc, v, ctx);
  if (Array.isArray(value)) return value.map(self).filter((v) => v !== NO_VALUE);
  if (!value || typeof value !== 'object') return value;
  const o = value as Record<string, any>;
  const keys = Object.keys(o);
  if (keys.length === 1) {
    const [key] = keys as [string];
    const arg = o[key];
    switch (key) {
      case 'Ref':
        return ref(doc, String(arg), ctx);
      case 'Fn::GetAtt': {
        const [id, attr] = typeof arg === 'string' ? (arg.split('.') as [string, string]) : (arg as [string, string]);
        return getAtt(doc, id, attr, ctx);
      }
      case 'Fn::Join': {
        const [sep, parts] = arg as [string, unknown[]];
        return (self(parts) as unknown[]).flat().map(String).join(sep);
      }
      case 'Fn::Split': {
        const [sep, s] = arg as [string, unknown];
        return String(self(s)).split(sep);
      }
      case 'Fn::Sub': {
        const [template, vars] = (Array.isArray(arg) ? arg : [arg, {}]) as [string, Record<string, unknown>];
        return template.replace(/\$\{([^}]+)\}/g, (_m, name: string) => {
          if (name in vars) return String(self(vars[name]));
          const [id, attr] = name.split('.') as [string, string | undefined];
          return String(attr ? getAtt(doc, id, attr, ctx) : ref(doc, id, ctx));
        });
      }
      case 'Fn::If': {
        const [condition, whenTrue, whenFalse] = arg as [string, unknown, unknown];
        return self(evaluateCondition(doc, condition, ctx) ? whenTrue : whenFalse);
      }
    }
  }
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, self(v)]).filter(([, v]) => v !== NO_VALUE));
}

function evaluateCondition(doc: Record<string, any>, name: string, ctx: TemplateContext): boolean {
  const def = doc.resources?.Conditions?.[name];
  if (def === undefined) throw new Error(`Condition ${name} is not defined in serverless.yml`);
  const evaluate = (c: any): boolean => {
    if (c['Fn::Not']) return !evaluate(c['Fn::Not'][0]);
    if (c['Fn::And']) return (c['Fn::And'] as any[]).every(evaluate);
    if (c['Fn::Or']) return (c['Fn::Or'] as any[]).some(evaluate);
    if (c['Fn::Equals']) {
      const [a, b] = (c['Fn::Equals'] as unknown[]).map((x) => intrinsics(doc, x, ctx));
      return JSON.stringify(a) === JSON.stringify(b);
    }
    if (c.Condition) return evaluateCondition(doc, c.Condition, ctx);
    throw new Error(`condition ${JSON.stringify(c)} is not understood`);
  };
  return evaluate(variables(doc, ctx)(def));
}

function ref(doc: Record<string, any>, id: string, ctx: TemplateContext): unknown {
  if (id === 'AWS::Region') return ctx.region;
  if (id === 'AWS::AccountId') return ctx.accountId;
  if (id === 'AWS::Partition') return 'aws';
  if (id === 'AWS::NoValue') return NO_VALUE;
  const s = ctx.stack;
  // CloudFormation's Ref of a queue is its URL, of a table its name, of a state machine its ARN
  const found = s.queues[id]?.url ?? s.tables[id]?.name ?? s.stateMachines[id]?.arn ?? ctx.roleArns?.[id]?.split('/').pop();
  if (found !== undefined) return found;
  const type = doc.resources?.Resources?.[id]?.Type;
  if (type === 'AWS::Events::EventBus') return resourceName(doc, id, ctx);
  if (type === 'AWS::S3::Bucket') return bucketName(doc, id, ctx);
  throw new Error(`Ref ${id}: not in the sandbox stack`);
}

function getAtt(doc: Record<string, any>, id: string, attr: string, ctx: TemplateContext): unknown {
  const s = ctx.stack;
  const type = doc.resources?.Resources?.[id]?.Type;
  if (s.queues[id]) return attr === 'Arn' ? s.queues[id].arn : attr === 'QueueName' ? s.queues[id].name : s.queues[id].url;
  if (s.tables[id] && attr === 'Arn') return `arn:aws:dynamodb:${ctx.region}:${ctx.accountId}:table/${s.tables[id].name}`;
  if (s.stateMachines[id] && attr === 'Arn') return s.stateMachines[id].arn;
  if (ctx.roleArns?.[id] && attr === 'Arn') return ctx.roleArns[id];
  if (type === 'AWS::Events::EventBus') {
    const name = resourceName(doc, id, ctx);
    return attr === 'Name' ? name : `arn:aws:events:${ctx.region}:${ctx.accountId}:event-bus/${name}`;
  }
  if (type === 'AWS::S3::Bucket' && attr === 'Arn') return `arn:aws:s3:::${bucketName(doc, id, ctx)}`;
  throw new Error(`Fn::GetAtt ${id}.${attr}: not in the sandbox stack`);
}

/** A bucket's BucketName, else a stand-in for the name CloudFormation would generate (service-stage-logicalid). */
export function bucketName(doc: Record<string, any>, id: string, ctx: TemplateContext): string {
  const named = doc.resources.Resources[id].Properties?.BucketName;
  return named ? String(resolveTemplateValue(doc, named, ctx)) : `${doc.service}-${ctx.stage}-${id}`.toLowerCase();
}

function resourceName(doc: Record<string, any>, id: string, ctx: TemplateContext): string {
  return String(variables(doc, ctx)(doc.resources.Resources[id].Properties.Name));
}
