/**
 * EKS access for sensorfleet's own role on a cluster that refuses it (one created after the Terraform
 * in infra/aws-member-account listed the clusters of its day; only the cluster's creator gets admin by
 * itself, bootstrapClusterCreatorAdminPermissions). With an authentication mode that has the EKS API
 * (API, API_AND_CONFIG_MAP) the role gets a STANDARD access entry (CreateAccessEntry) with the access
 * policy the Terraform associates, at cluster scope (AssociateAccessPolicy). A CONFIG_MAP-only cluster
 * has no access entries: only a human can map the role in aws-auth or switch the mode.
 * API: https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateAccessEntry.html,
 * https://docs.aws.amazon.com/eks/latest/APIReference/API_AssociateAccessPolicy.html
 */
import { AssociateAccessPolicyCommand, CreateAccessEntryCommand, type EKSClient } from '@aws-sdk/client-eks';
import type { AwsTarget } from '../../config/schema';
import { withContext } from '../../runtime/errors';
import { awsClient } from '../aws/clients';
import { KubeApiError } from '../kubernetes/errors';
import { ACCESS_POLICY_NAME, AccessEntryPendingError, EksAccessDeniedError } from './errors';

/** What connect learned that access needs: the cluster's ARN (its partition) and authentication mode. */
export interface EksAccessContext {
  cluster: string;
  clusterName: string;
  clusterArn?: string;
  clusterStatus: string;
  /** accessConfig.authenticationMode; absent on clusters from before access entries, which are CONFIG_MAP. */
  authenticationMode?: string;
  region: string;
  target: AwsTarget;
}

/** The API server refused our identity: 401 (no mapping for it), or 403 with no admission webhook involved (an entry without a policy). */
export function isIdentityRefused(err: unknown): err is KubeApiError {
  if (!(err instanceof KubeApiError)) return false;
  if (err.status === 401) return true;
  return err.status === 403 && err.reason === 'Forbidden' && !/admission webhook "[^"]+" denied the request/.test(err.message);
}

export function accessPolicyArn(partition: string): string {
  return `arn:${partition}:eks::aws:cluster-access-policy/${ACCESS_POLICY_NAME}`;
}

/**
 * The IAM principal an STS caller ARN stands for, as an access entry names it. An assumed-role ARN
 * (arn:aws:sts::<acct>:assumed-role/<name>/<session>) carries the role's name but not its path; the
 * stack's function roles have none (serverless.yml sets no Path), so arn:aws:iam::<acct>:role/<name> is
 * exact for them. A role with a path is named by targets.aws[].roleArn, which is used as written.
 */
export function principalOfCaller(callerArn: string): string | undefined {
  const role = /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([^/]+)\/[^/]+$/.exec(callerArn);
  if (role) return `arn:${role[1]}:iam::${role[2]}:role/${role[3]}`;
  if (/^arn:aws[a-z-]*:iam::\d{12}:(user|role)\/.+$/.test(callerArn)) return callerArn;
  return undefined;
}

/** The role sensorfleet acts as in the target: the configured role, else this function's own (STS GetCallerIdentity, no permission needed). */
async function ourPrincipal(target: AwsTarget, region: string): Promise<string> {
  if (target.roleArn) return target.roleArn;
  const { GetCallerIdentityCommand, STSClient } = await import('@aws-sdk/client-sts');
  const caller = (await awsClient(STSClient, { region }).send(new GetCallerIdentityCommand({}))).Arn ?? '';
  const principal = principalOfCaller(caller);
  if (!principal) throw new EksAccessDeniedError(`aws-eks:${target.accountId}:${region}`, caller || 'an unknown caller', 'an access entry can only name an IAM role or user', 'run sensorfleet as an IAM role (the functions do)');
  return principal;
}

/**
 * Called when the cluster refused our identity: gives our role its access entry where that is allowed
 * and possible, then asks to be retried later (AccessEntryPendingError, a not-ready); otherwise a
 * terminal EksAccessDeniedError saying what a human must do. Never returns normally.
 */
export async function grantOurAccess(eks: EKSClient, c: EksAccessContext): Promise<never> {
  const principal = await withContext(`finding sensorfleet's IAM principal for ${c.cluster}`, () => ourPrincipal(c.target, c.region));
  const mode = c.authenticationMode ?? 'CONFIG_MAP';
  if (mode !== 'API' && mode !== 'API_AND_CONFIG_MAP') {
    throw new EksAccessDeniedError(
      c.cluster,
      principal,
      `its authentication mode is ${mode}, which has no access entries`,
      `a human must map the role in the aws-auth ConfigMap (rolearn ${withoutPath(principal)}) to a group allowed to apply the sensor, or switch the cluster to API_AND_CONFIG_MAP (aws eks update-cluster-config --name ${c.clusterName} --access-config authenticationMode=API_AND_CONFIG_MAP), after which sensorfleet creates its access entry itself`,
    );
  }
  if (c.target.eksAccessEntries === 'never') {
    throw new EksAccessDeniedError(
      c.cluster,
      principal,
      `it has no access entry for this role and targets.aws[].eksAccessEntries is 'never'`,
      `add one (infra/aws-member-account eks_clusters, or aws eks create-access-entry and associate-access-policy ${ACCESS_POLICY_NAME} at cluster scope), or set eksAccessEntries: create`,
    );
  }
  const partition = /^arn:(aws[a-z-]*):/.exec(c.clusterArn ?? '')?.[1] ?? 'aws';
  const created = await withContext(`creating the EKS access entry for ${principal} on ${c.cluster}`, () => createEntry(eks, c.clusterName, principal));
  // a failure here still tells the record that sensorfleet made the entry (the audit trail); the next attempt finds it and associates again
  await withContext(`${created ? `created the EKS access entry for ${principal} on ${c.cluster}, then ` : ''}associating ${ACCESS_POLICY_NAME} with the access entry for ${principal} on ${c.cluster}`, () =>
    // associating a policy that is already associated answers the association again: safe to repeat
    eks.send(new AssociateAccessPolicyCommand({ clusterName: c.clusterName, principalArn: principal, policyArn: accessPolicyArn(partition), accessScope: { type: 'cluster' } })),
  );
  throw new AccessEntryPendingError(c.cluster, c.clusterStatus, principal, created);
}

/** true: created now; false: it existed (ResourceInUseException), e.g. made by an earlier attempt whose answer was lost. */
async function createEntry(eks: EKSClient, clusterName: string, principalArn: string): Promise<boolean> {
  try {
    await eks.send(new CreateAccessEntryCommand({ clusterName, principalArn, type: 'STANDARD' }));
    return true;
  } catch (err) {
    if ((err as { name?: string }).name === 'ResourceInUseException') return false;
    throw err;
  }
}

/** aws-auth's rolearn cannot carry a path (EKS user guide, "Create access entries"). */
function withoutPath(principal: string): string {
  return principal.replace(/^(arn:aws[a-z-]*:iam::\d{12}:role\/)(?:.*\/)?([^/]+)$/, '$1$2');
}
