import { readFileSync } from 'node:fs';
import { parse as parseHcl } from '@cdktf/hcl2json';
import type { PolicyStatement } from './roles';

/**
 * The target role's permissions as infra/aws-member-account grants them (its
 * `data "aws_iam_policy_document" "sensorfleet"`, static and dynamic statements alike), read from the
 * module with @cdktf/hcl2json. Resources are Terraform expressions of the member account; moto checks
 * these services against `*` anyway (toolchain.md §7), so the statements keep their actions and get `*`.
 */
export async function memberRoleStatements(path = 'infra/aws-member-account/main.tf'): Promise<PolicyStatement[]> {
  const hcl = (await parseHcl(path, readFileSync(path, 'utf8'))) as Record<string, any>;
  const doc = hcl.data?.aws_iam_policy_document?.sensorfleet?.[0];
  if (!doc) throw new Error(`${path}: no data "aws_iam_policy_document" "sensorfleet"`);
  const statements = [...(doc.statement ?? []), ...(doc.dynamic?.statement ?? []).flatMap((d: any) => d.content ?? [])];
  return statements.map((s: any) => ({ Effect: 'Allow' as const, Action: [s.actions].flat().map(String), Resource: ['*'] }));
}
