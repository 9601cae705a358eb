/**
 * Light EKS control-plane API (REST JSON): ListClusters and DescribeCluster for the simulated fleet,
 * per account and region. EKS documents no per-operation request rate; AWS control-plane APIs throttle
 * with a token bucket per account and Region (as ECS documents for its Describe* calls: 20 per second
 * sustained, burst 50, https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html).
 * The simulation gives EKS the same budget, per account and region, shared by every EKS read, and
 * answers ThrottlingException (HTTP 429) beyond it. Latency: 60 ms per call (modelled).
 */
import { AwsError, throttled } from './aws-json';
import type { RateLimits } from './rate-limit';

export const EKS_LATENCY_MS = 60;

export interface SimEksCluster {
  name: string;
  endpoint: string;
  tags?: Record<string, string>;
}

export class SimEks {
  private readonly byScope = new Map<string, SimEksCluster[]>();
  private readonly byName = new Map<string, SimEksCluster>();

  constructor(private readonly limits: RateLimits) {}

  add(account: string, region: string, cluster: SimEksCluster): void {
    const scope = `${account}/${region}`;
    let list = this.byScope.get(scope);
    if (!list) this.byScope.set(scope, (list = []));
    list.push(cluster);
    this.byName.set(`${scope}/${cluster.name}`, cluster);
  }

  /** GET /clusters and GET /clusters/{name} for the caller's account (from its credentials) in `region`. */
  handle(account: string, region: string, method: string, path: string, query: Record<string, string | string[] | null | undefined>): unknown {
    const scope = `${account}/${region}`;
    if (!this.limits.admit('eks.api', scope)) throw throttled('ThrottlingException', 'Rate exceeded');
    if (method !== 'GET') throw new AwsError('InvalidRequestException', `${method} ${path} is not simulated`);
    if (path === '/clusters') {
      const all = this.byScope.get(scope) ?? [];
      const max = Number(query.maxResults ?? 100);
      const from = Number(query.nextToken ?? 0);
      const page = all.slice(from, from + max).map((c) => c.name);
      return { clusters: page, ...(from + max < all.length ? { nextToken: String(from + max) } : {}) };
    }
    const name = decodeURIComponent(path.replace(/^\/clusters\//, ''));
    const c = this.byName.get(`${scope}/${name}`);
    if (!c) throw new AwsError('ResourceNotFoundException', `No cluster found for name: ${name}.`, 404);
    return {
      cluster: {
        name: c.name,
        arn: `arn:aws:eks:${region}:${account}:cluster/${c.name}`,
        status: 'ACTIVE',
        version: '1.32',
        endpoint: c.endpoint,
        certificateAuthority: { data: Buffer.from(SIM_CA_PEM).toString('base64') },
        tags: c.tags ?? {},
      },
    };
  }
}

/** The simulated clusters' CA (never used for TLS: the Kubernetes stand-in is reached in-process). */
export const SIM_CA_PEM = '-----BEGIN CERTIFICATE-----\nTUlNVUxBVEVELUNB\n-----END CERTIFICATE-----\n';
