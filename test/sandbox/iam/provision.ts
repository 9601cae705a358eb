import { motoCheckableStatements, policyDocument } from './moto-policy';
import type { PolicyStatement, RoleDefinition } from './roles';
import { queryCall, xmlValue, type Credentials } from './signed-request';

/**
 * Creates roles in the enforcing moto (as the account's admin) and assumes them. serverless.yml's
 * trust policies name the Lambda service; here the test plays Lambda, so the trust names the test's
 * own caller, by its exact ARN (moto admits only the exact caller ARN or `*`, toolchain.md §7; a
 * Service principal is not evaluated by moto at all).
 */
export interface SandboxIam {
  endpoint: string;
  region: string;
  admin: { arn: string; credentials: Credentials };
  accountId?: string;
}

export interface CreatedRole {
  name: string;
  arn: string;
}

async function iam(s: SandboxIam, params: Record<string, string>): Promise<string> {
  const answer = await queryCall({
    endpoint: s.endpoint,
    service: 'iam',
    region: 'us-east-1',
    creds: s.admin.credentials,
    version: '2010-05-08',
    params,
    ...(s.accountId ? { headers: { 'x-moto-account-id': s.accountId } } : {}),
  });
  if (answer.status !== 200) throw new Error(`IAM ${params.Action} ${params.RoleName ?? ''}: HTTP ${answer.status} ${answer.body.slice(0, 300)}`);
  return answer.body;
}

export function trustPolicy(principalArns: string[]): string {
  return JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: principalArns }, Action: 'sts:AssumeRole' }] });
}

/** A role whose inline policy is `statements` made checkable by moto (moto-policy.ts). */
export async function createRole(s: SandboxIam, name: string, statements: PolicyStatement[], trustedArns: string[]): Promise<CreatedRole> {
  const created = await iam(s, { Action: 'CreateRole', RoleName: name, AssumeRolePolicyDocument: trustPolicy(trustedArns) });
  await putPolicy(s, name, statements);
  return { name, arn: xmlValue(created, 'Arn')! };
}

/** Replaces the role's inline policy (one policy per role, named `sandbox`). */
export async function putPolicy(s: SandboxIam, roleName: string, statements: PolicyStatement[]): Promise<void> {
  await iam(s, { Action: 'PutRolePolicy', RoleName: roleName, PolicyName: 'sandbox', PolicyDocument: policyDocument(motoCheckableStatements(statements)) });
}

export function allStatements(role: RoleDefinition): PolicyStatement[] {
  return role.policies.flatMap((p) => p.statements);
}

/**
 * AssumeRole through `endpoint` (the sandbox's AWS front, so the front's credential ledger knows the key
 * and EKS tokens signed with it verify), signed by `caller`.
 */
export async function assumeRole(endpoint: string, region: string, caller: Credentials, roleArn: string, sessionName: string): Promise<Credentials> {
  const answer = await queryCall({ endpoint, service: 'sts', region, creds: caller, version: '2011-06-15', params: { Action: 'AssumeRole', RoleArn: roleArn, RoleSessionName: sessionName, DurationSeconds: '3600' } });
  const accessKeyId = xmlValue(answer.body, 'AccessKeyId');
  const secretAccessKey = xmlValue(answer.body, 'SecretAccessKey');
  const sessionToken = xmlValue(answer.body, 'SessionToken');
  if (answer.status !== 200 || !accessKeyId || !secretAccessKey || !sessionToken) throw new Error(`AssumeRole ${roleArn}: HTTP ${answer.status} ${answer.body.slice(0, 300)}`);
  return { accessKeyId, secretAccessKey, sessionToken };
}
