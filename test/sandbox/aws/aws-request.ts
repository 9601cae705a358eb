/**
 * What the AWS front needs to know about a request before forwarding it: who signed it for which
 * service and region (SigV4 Authorization header: `Credential=<key>/<date>/<region>/<service>/aws4_request`,
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html), and the operation
 * name, which each protocol carries differently:
 *  - awsJson1_0/1_1 (ECS, DynamoDB, SQS, Secrets Manager, EventBridge): `X-Amz-Target: <Prefix>.<Operation>`
 *  - awsQuery / ec2Query (STS, EC2, Auto Scaling): form body (or query string) `Action=<Operation>`
 *  - restJson1 (EKS): method + path (https://docs.aws.amazon.com/eks/latest/APIReference/API_Operations.html)
 */
export interface SignedBy {
  accessKeyId: string;
  region: string;
  service: string;
}

export type Protocol = 'json' | 'query' | 'rest-json' | 'unknown';

export interface AwsRequestInfo {
  signedBy?: SignedBy;
  service: string;
  operation: string;
  protocol: Protocol;
  /** Parsed JSON body for JSON protocols (undefined otherwise or when unparsable). */
  json?: Record<string, unknown>;
}

const CREDENTIAL = /Credential=([^/,\s]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/;

export function signedBy(authorization: string | undefined): SignedBy | undefined {
  const m = authorization ? CREDENTIAL.exec(authorization) : null;
  return m ? { accessKeyId: m[1]!, region: m[2]!, service: m[3]! } : undefined;
}

export function describeAwsRequest(method: string, url: string, headers: Record<string, string | string[] | undefined>, body: Buffer): AwsRequestInfo {
  const auth = signedBy(header(headers, 'authorization'));
  const service = auth?.service ?? 'unknown';
  const target = header(headers, 'x-amz-target');
  if (target) {
    return { signedBy: auth, service, protocol: 'json', operation: target.split('.').pop() ?? target, json: parseJson(body) };
  }
  const contentType = header(headers, 'content-type') ?? '';
  const query = new URL(url, 'http://front').searchParams;
  const formAction = contentType.includes('x-www-form-urlencoded') ? new URLSearchParams(body.toString('utf8')).get('Action') : null;
  const action = formAction ?? query.get('Action');
  if (action) return { signedBy: auth, service, protocol: 'query', operation: action };
  if (service === 'eks') return { signedBy: auth, service, protocol: 'rest-json', operation: eksOperation(method, new URL(url, 'http://front').pathname), json: parseJson(body) };
  return { signedBy: auth, service, protocol: 'unknown', operation: `${method} ${new URL(url, 'http://front').pathname}` };
}

/** EKS REST routes the sandbox cares about; anything else is named by method and path template. */
export function eksOperation(method: string, path: string): string {
  // segments stay encoded while matching: a principal ARN label carries '/' as %2F
  const raw = path.split('/').filter(Boolean);
  const p = raw.map(decodeURIComponent);
  const routes: [string, RegExp, string][] = [
    ['GET', /^clusters$/, 'ListClusters'],
    ['POST', /^clusters$/, 'CreateCluster'],
    ['GET', /^clusters\/[^/]+$/, 'DescribeCluster'],
    ['DELETE', /^clusters\/[^/]+$/, 'DeleteCluster'],
    ['GET', /^clusters\/[^/]+\/node-groups$/, 'ListNodegroups'],
    ['POST', /^clusters\/[^/]+\/node-groups$/, 'CreateNodegroup'],
    ['GET', /^clusters\/[^/]+\/node-groups\/[^/]+$/, 'DescribeNodegroup'],
    ['DELETE', /^clusters\/[^/]+\/node-groups\/[^/]+$/, 'DeleteNodegroup'],
    ['POST', /^clusters\/[^/]+\/node-groups\/[^/]+\/update-config$/, 'UpdateNodegroupConfig'],
    ['POST', /^clusters\/[^/]+\/node-groups\/[^/]+\/update-version$/, 'UpdateNodegroupVersion'],
    ['POST', /^clusters\/[^/]+\/update-config$/, 'UpdateClusterConfig'],
    ['GET', /^clusters\/[^/]+\/updates$/, 'ListUpdates'],
    ['GET', /^clusters\/[^/]+\/access-entries$/, 'ListAccessEntries'],
    ['POST', /^clusters\/[^/]+\/access-entries$/, 'CreateAccessEntry'],
    ['GET', /^clusters\/[^/]+\/access-entries\/[^/]+$/, 'DescribeAccessEntry'],
    ['DELETE', /^clusters\/[^/]+\/access-entries\/[^/]+$/, 'DeleteAccessEntry'],
    ['POST', /^clusters\/[^/]+\/access-entries\/[^/]+\/access-policies$/, 'AssociateAccessPolicy'],
    ['GET', /^tags\/.+$/, 'ListTagsForResource'],
    ['POST', /^tags\/.+$/, 'TagResource'],
    ['DELETE', /^tags\/.+$/, 'UntagResource'],
  ];
  const joined = raw.join('/');
  for (const [m, re, op] of routes) if (m === method && re.test(joined)) return op;
  return `${method} /${p.map((s, i) => (i % 2 === 1 ? '{}' : s)).join('/')}`;
}

export function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function parseJson(body: Buffer): Record<string, unknown> | undefined {
  if (body.length === 0) return undefined;
  try {
    const v = JSON.parse(body.toString('utf8'));
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
