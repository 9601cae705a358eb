import { randomUUID } from 'node:crypto';
import { principalArn as roleOfSession } from './web-identity';

/**
 * EKS cluster access as the EKS API keeps it (moto 5 has neither access entries nor accessConfig):
 * the authentication mode and creator of each cluster, its access entries and their associated access
 * policies, the REST-JSON operations on them, and the rule the API server's authenticator applies.
 *  - CreateCluster's accessConfig: authenticationMode (EKS's default for new clusters today is
 *    API_AND_CONFIG_MAP) and bootstrapClusterCreatorAdminPermissions (default true). With the EKS API
 *    (API, API_AND_CONFIG_MAP) and bootstrap on, EKS gives the creator an access entry with
 *    AmazonEKSClusterAdminPolicy; a CONFIG_MAP cluster's creator is an admin no entry shows.
 *    https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateAccessConfigRequest.html
 *  - Operations: https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateAccessEntry.html,
 *    API_AssociateAccessPolicy.html, API_DescribeAccessEntry.html, API_ListAccessEntries.html,
 *    API_DeleteAccessEntry.html: paths, bodies, status codes and error types as documented there.
 *  - Who gets in: an identity with an access entry that has at least one access policy (API modes), or
 *    the creator of a CONFIG_MAP cluster; anyone else is refused (401, as EKS answers a principal it
 *    cannot map). Clusters registered with `accountWide` stand in for clusters a platform team already
 *    gave the sensorfleet role access (infra/aws-member-account `eks_clusters`): every identity of the
 *    cluster's account gets in, as before this model existed.
 */
export type AuthenticationMode = 'API' | 'API_AND_CONFIG_MAP' | 'CONFIG_MAP';

export interface ClusterAccessOptions {
  authenticationMode?: AuthenticationMode;
  bootstrapClusterCreatorAdminPermissions?: boolean;
  /** IAM principal ARN (an STS caller ARN is mapped to its role) of the identity that created the cluster. */
  creator?: string;
  accountWide?: boolean;
}

interface AssociatedPolicy {
  policyArn: string;
  accessScope: { type: 'cluster' | 'namespace'; namespaces: string[] };
  associatedAt: number;
  modifiedAt: number;
}

interface AccessEntry {
  clusterName: string;
  principalArn: string;
  kubernetesGroups: string[];
  accessEntryArn: string;
  createdAt: number;
  modifiedAt: number;
  tags: Record<string, string>;
  username: string;
  type: string;
  policies: Map<string, AssociatedPolicy>;
}

interface ClusterAccess {
  account: string;
  region: string;
  name: string;
  authenticationMode: AuthenticationMode;
  bootstrapClusterCreatorAdminPermissions: boolean;
  creator?: string;
  accountWide: boolean;
  entries: Map<string, AccessEntry>;
}

export interface RestAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** The access policies EKS offers (ListAccessPolicies), the ones the sandbox accepts. */
const ACCESS_POLICIES = ['AmazonEKSClusterAdminPolicy', 'AmazonEKSAdminPolicy', 'AmazonEKSEditPolicy', 'AmazonEKSViewPolicy', 'AmazonEKSAdminViewPolicy'];
export const EKS_ACCESS_OPERATIONS = new Set(['CreateAccessEntry', 'DescribeAccessEntry', 'ListAccessEntries', 'DeleteAccessEntry', 'AssociateAccessPolicy']);
const MODES: AuthenticationMode[] = ['API', 'API_AND_CONFIG_MAP', 'CONFIG_MAP'];
const IAM_PRINCIPAL = /^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/.+$/;

/**
 * The IAM principal behind a caller ARN: an assumed role's session is its role; moto answers
 * GetCallerIdentity for its default keys with arn:aws:sts::<acct>:user/moto where STS names an IAM user
 * arn:aws:iam::<acct>:user/<name>, so that form is read as the user.
 */
function principalOfCaller(callerArn: string): string {
  const motoUser = /^arn:(aws[a-z-]*):sts::(\d{12}):user\/(.+)$/.exec(callerArn);
  return motoUser ? `arn:${motoUser[1]}:iam::${motoUser[2]}:user/${motoUser[3]}` : roleOfSession(callerArn);
}

export class EksAccessBook {
  private readonly clusters = new Map<string, ClusterAccess>();

  /** A new cluster (CreateCluster): its mode, its creator and, with the EKS API and bootstrap on, the creator's admin entry. */
  register(account: string, region: string, name: string, o: ClusterAccessOptions = {}): void {
    const c: ClusterAccess = {
      account,
      region,
      name,
      authenticationMode: o.authenticationMode ?? 'API_AND_CONFIG_MAP',
      bootstrapClusterCreatorAdminPermissions: o.bootstrapClusterCreatorAdminPermissions ?? true,
      accountWide: o.accountWide ?? false,
      entries: new Map(),
      ...(o.creator ? { creator: principalOfCaller(o.creator) } : {}),
    };
    this.clusters.set(key(account, region, name), c);
    if (c.creator && IAM_PRINCIPAL.test(c.creator) && c.bootstrapClusterCreatorAdminPermissions && c.authenticationMode !== 'CONFIG_MAP') {
      const entry = newEntry(c, c.creator, {});
      const now = epoch();
      entry.policies.set(policyArn('AmazonEKSClusterAdminPolicy'), { policyArn: policyArn('AmazonEKSClusterAdminPolicy'), accessScope: { type: 'cluster', namespaces: [] }, associatedAt: now, modifiedAt: now });
      c.entries.set(c.creator, entry);
    }
  }

  known(account: string, region: string, name: string): boolean {
    return this.clusters.has(key(account, region, name));
  }

  /** DescribeCluster's `accessConfig` (AccessConfigResponse); clusters the book never heard of have EKS's default. */
  accessConfig(account: string, region: string, name: string): { authenticationMode: AuthenticationMode; bootstrapClusterCreatorAdminPermissions?: boolean } {
    const c = this.clusters.get(key(account, region, name));
    return c ? { authenticationMode: c.authenticationMode, bootstrapClusterCreatorAdminPermissions: c.bootstrapClusterCreatorAdminPermissions } : { authenticationMode: 'API_AND_CONFIG_MAP' };
  }

  /** The authenticator's decision for a verified caller (an STS GetCallerIdentity ARN). Unknown clusters admit their own account (the old rule). */
  admits(account: string, region: string, name: string, callerArn: string): boolean {
    const c = this.clusters.get(key(account, region, name));
    if (!c || c.accountWide) return accountOf(callerArn) === account;
    const principal = principalOfCaller(callerArn);
    if (c.authenticationMode === 'CONFIG_MAP') return c.creator !== undefined && samePrincipal(c.creator, principal);
    return [...c.entries.values()].some((e) => e.policies.size > 0 && samePrincipal(e.principalArn, principal));
  }

  /** Answers one access operation for a cluster moto has (`exists`), in the EKS wire format. */
  answer(op: string, account: string, region: string, method: string, url: string, body: Record<string, unknown> | undefined, exists: boolean): RestAnswer {
    const segments = new URL(url, 'http://front').pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const name = segments[1] ?? '';
    if (!exists) return error(404, 'ResourceNotFoundException', `No cluster found for name: ${name}.`, { clusterName: name });
    let c = this.clusters.get(key(account, region, name));
    if (!c) {
      // a cluster made without the front's knowledge: EKS's default mode, no creator known, its account admitted as before
      this.register(account, region, name, { accountWide: true });
      c = this.clusters.get(key(account, region, name))!;
    }
    if (c.authenticationMode === 'CONFIG_MAP') {
      return error(400, 'InvalidRequestException', "The cluster's authentication mode must be set to one of [API, API_AND_CONFIG_MAP] to perform this operation.", { clusterName: name });
    }
    const principal = segments[3];
    switch (op) {
      case 'CreateAccessEntry':
        return this.create(c, body ?? {});
      case 'ListAccessEntries':
        return list(c, new URL(url, 'http://front').searchParams);
      case 'DescribeAccessEntry':
      case 'DeleteAccessEntry':
      case 'AssociateAccessPolicy': {
        const entry = principal ? c.entries.get(principal) : undefined;
        if (!entry) return error(404, 'ResourceNotFoundException', "The specified principalArn could not be found. You can view your available access entries with 'list-access-entries'.", { clusterName: name });
        if (op === 'DescribeAccessEntry') return ok({ accessEntry: view(entry) });
        if (op === 'DeleteAccessEntry') {
          c.entries.delete(entry.principalArn);
          return ok({});
        }
        return associate(entry, body ?? {});
      }
      default:
        return error(400, 'InvalidRequestException', `unsupported operation ${method} ${op}`, {});
    }
  }

  private create(c: ClusterAccess, body: Record<string, unknown>): RestAnswer {
    const principal = typeof body.principalArn === 'string' ? body.principalArn : '';
    if (!IAM_PRINCIPAL.test(principal)) {
      return error(400, 'InvalidParameterException', `The specified principalArn is invalid: invalid principal`, { clusterName: c.name });
    }
    const type = typeof body.type === 'string' ? body.type : 'STANDARD';
    if (type !== 'STANDARD') return error(400, 'InvalidParameterException', `The sandbox plays STANDARD access entries only, not ${type}`, { clusterName: c.name });
    if ([...c.entries.values()].some((e) => e.principalArn === principal)) {
      return error(409, 'ResourceInUseException', 'The specified access entry resource is already in use on this cluster.', { clusterName: c.name });
    }
    const entry = newEntry(c, principal, body);
    c.entries.set(principal, entry);
    return ok({ accessEntry: view(entry) });
  }
}

function newEntry(c: ClusterAccess, principal: string, body: Record<string, unknown>): AccessEntry {
  const m = /^arn:(aws[a-z-]*):iam::(\d{12}):(role|user)\/(?:.*\/)?([^/]+)$/.exec(principal)!;
  const [, partition, principalAccount, kind, principalName] = m as unknown as [string, string, string, string, string];
  const now = epoch();
  const groups = Array.isArray(body.kubernetesGroups) ? body.kubernetesGroups.map(String) : [];
  return {
    clusterName: c.name,
    principalArn: principal,
    kubernetesGroups: groups,
    accessEntryArn: `arn:${partition}:eks:${c.region}:${c.account}:access-entry/${c.name}/${kind}/${principalAccount}/${principalName}/${randomUUID()}`,
    createdAt: now,
    modifiedAt: now,
    tags: body.tags && typeof body.tags === 'object' ? (body.tags as Record<string, string>) : {},
    // EKS's default user name: the session's ARN for a role, the user's ARN for a user
    username: typeof body.username === 'string' ? body.username : kind === 'role' ? `arn:${partition}:sts::${principalAccount}:assumed-role/${principalName}/{{SessionName}}` : principal,
    type: 'STANDARD',
    policies: new Map(),
  };
}

function associate(entry: AccessEntry, body: Record<string, unknown>): RestAnswer {
  const arn = typeof body.policyArn === 'string' ? body.policyArn : '';
  const scope = (body.accessScope ?? {}) as { type?: unknown; namespaces?: unknown };
  if (!ACCESS_POLICIES.some((p) => arn === policyArn(p, /^arn:(aws[a-z-]*):/.exec(arn)?.[1]))) {
    return error(400, 'InvalidParameterException', `The specified policyArn is invalid: ${arn}`, { clusterName: entry.clusterName });
  }
  const namespaces = Array.isArray(scope.namespaces) ? scope.namespaces.map(String) : [];
  if (scope.type !== 'cluster' && scope.type !== 'namespace') return error(400, 'InvalidParameterException', 'accessScope.type must be one of [cluster, namespace]', { clusterName: entry.clusterName });
  if (scope.type === 'namespace' && namespaces.length === 0) return error(400, 'InvalidParameterException', 'accessScope.namespaces is required for a namespace scope', { clusterName: entry.clusterName });
  const now = epoch();
  const before = entry.policies.get(arn);
  // associating again replaces the scope (the call is an upsert)
  const policy: AssociatedPolicy = { policyArn: arn, accessScope: { type: scope.type, namespaces: scope.type === 'cluster' ? [] : namespaces }, associatedAt: before?.associatedAt ?? now, modifiedAt: now };
  entry.policies.set(arn, policy);
  entry.modifiedAt = now;
  return ok({ clusterName: entry.clusterName, principalArn: entry.principalArn, associatedAccessPolicy: policy });
}

function list(c: ClusterAccess, q: URLSearchParams): RestAnswer {
  const max = q.has('maxResults') ? Number(q.get('maxResults')) : 100;
  if (!Number.isInteger(max) || max < 1 || max > 100) return error(400, 'InvalidParameterException', 'maxResults must be between 1 and 100', { clusterName: c.name });
  const filter = q.get('associatedPolicyArn');
  const all = [...c.entries.values()].filter((e) => !filter || e.policies.has(filter)).map((e) => e.principalArn).sort();
  const start = q.has('nextToken') ? Number(Buffer.from(q.get('nextToken')!, 'base64url').toString('utf8')) : 0;
  if (!Number.isInteger(start) || start < 0 || start > all.length) return error(400, 'InvalidParameterException', 'The nextToken is invalid', { clusterName: c.name });
  const page = all.slice(start, start + max);
  const next = start + max < all.length ? Buffer.from(String(start + max)).toString('base64url') : undefined;
  return ok({ accessEntries: page, ...(next ? { nextToken: next } : {}) });
}

function view(e: AccessEntry): Omit<AccessEntry, 'policies'> {
  const { policies: _policies, ...rest } = e;
  return rest;
}

/** An entry names a role with its path; a caller's STS ARN names it without: the account and role name decide. */
function samePrincipal(entryArn: string, principal: string): boolean {
  const norm = (arn: string) => arn.replace(/^(arn:aws[a-z-]*:iam::\d{12}:role\/)(?:.*\/)?([^/]+)$/, '$1$2');
  return norm(entryArn) === norm(principal);
}

function accountOf(arn: string): string | undefined {
  return /^arn:aws[a-z-]*:(?:sts|iam)::(\d{12}):/.exec(arn)?.[1];
}

function policyArn(name: string, partition = 'aws'): string {
  return `arn:${partition}:eks::aws:cluster-access-policy/${name}`;
}

function key(account: string, region: string, name: string): string {
  return `${account}|${region}|${name}`;
}

function epoch(): number {
  return Math.floor(Date.now() / 1000);
}

function ok(body: object): RestAnswer {
  return { status: 200, headers: { 'content-type': 'application/json', 'x-amzn-requestid': randomUUID() }, body: JSON.stringify(body) };
}

/** EKS REST-JSON errors: the type in x-amzn-ErrorType, a JSON body with `message` and the documented members. */
function error(status: number, type: string, message: string, members: Record<string, string>): RestAnswer {
  return { status, headers: { 'content-type': 'application/json', 'x-amzn-errortype': type, 'x-amzn-requestid': randomUUID() }, body: JSON.stringify({ ...members, message }) };
}

export function isAuthenticationMode(v: unknown): v is AuthenticationMode {
  return typeof v === 'string' && (MODES as string[]).includes(v);
}
