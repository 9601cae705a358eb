import * as z from 'zod';
import type { DiscoveryScope } from '../types';

/** `targets.aws[]`: AWS accounts and regions (ECS and EKS). Owned by the AWS platforms. */
export const awsAccountId = z.string().regex(/^\d{12}$/, 'a 12-digit AWS account id');

export const awsTargetSchema = z.strictObject({
  accountId: awsAccountId,
  regions: z.array(z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, 'an AWS region such as eu-west-1')).min(1),
  /** Role to assume in the target account; omitted for the account the functions run in. */
  roleArn: z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, 'an IAM role ARN arn:aws:iam::<12 digits>:role/<name>').optional(),
  externalId: z.string().optional(),
  platforms: z.array(z.enum(['aws-ecs', 'aws-eks'])).default(['aws-ecs', 'aws-eks']),
  /**
   * An EKS cluster that refuses sensorfleet's role (created later than the Terraform listed it): 'create'
   * gives the role an access entry with AmazonEKSClusterAdminPolicy there; 'never' leaves it to a human.
   * Absent means 'create' (optional rather than defaulted, so targets built in code need not name it).
   */
  eksAccessEntries: z.enum(['create', 'never']).optional(),
});
export type AwsTarget = z.infer<typeof awsTargetSchema>;

/** One discovery scope per account, region and enabled AWS platform. */
export function awsScopes(targets: AwsTarget[]): DiscoveryScope[] {
  return targets.flatMap((t) => t.regions.flatMap((region) => t.platforms.map((platform) => ({ platform, scope: t.accountId, location: region }))));
}
