/**
 * A light ECS control-plane API (awsJson1_1, X-Amz-Target AmazonEC2ContainerServiceV20141113.*) and the
 * EC2 DescribeInstances answer (Query protocol, XML) for the simulated ECS clusters, per account and
 * region: what the product's ECS adapter calls in an in-sync reconcile (DescribeClusters,
 * DescribeServices, DescribeTaskDefinition) and in a drifted one (ListTaskDefinitions,
 * DescribeTaskDefinition, RegisterTaskDefinition, CreateService/UpdateService, then verify's
 * DescribeServices, ListContainerInstances, DescribeContainerInstances, ListTasks, DescribeTasks and the
 * instances' private DNS names), plus ListClusters for discovery.
 * Wire format: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/Welcome.html (timestamps as epoch
 * seconds; lists paged with maxResults/nextToken; Describe* answer `failures` for names they do not know).
 * The DAEMON scheduler is arithmetic on the virtual clock: a new service starts a task on every ACTIVE
 * instance after one task start; an update replaces tasks in waves of (100 - minimumHealthyPercent)% of
 * the instances. Tasks are computed when listed, never stored.
 * Rate limits (test/sim/limits.ts): ECS throttles per account and Region with a token bucket per action
 * group (ACTION_GROUP); EC2 DescribeInstances has its own bucket (non-mutating actions).
 */
import { AwsError, throttled } from './aws-json';
import type { RateLimits } from './rate-limit';

export const ECS_LATENCY_MS = 40;
export const EC2_LATENCY_MS = 80;
/** One wave of sensor tasks (image pull, start): as long as a pod wave in the Kubernetes stand-in. */
export const ECS_TASK_WAVE = { realisticMs: 20_000 };

/** The throttling group (test/sim/limits.ts) of each simulated action. */
const ACTION_GROUP: Record<string, string> = {
  ListClusters: 'ecs.clusterRead',
  DescribeClusters: 'ecs.clusterRead',
  DescribeServices: 'ecs.serviceRead',
  DescribeTaskDefinition: 'ecs.taskDefinitionRead',
  ListTaskDefinitions: 'ecs.taskDefinitionRead',
  ListContainerInstances: 'ecs.containerInstanceRead',
  DescribeContainerInstances: 'ecs.containerInstanceRead',
  ListTasks: 'ecs.taskRead',
  DescribeTasks: 'ecs.taskRead',
  RegisterTaskDefinition: 'ecs.write',
  CreateService: 'ecs.write',
  UpdateService: 'ecs.write',
};

interface Deployment {
  id: string;
  taskDefinition: string;
  createdAt: number;
  /** Time the first task of this deployment started (create) or the replacement began (update). */
  startedAt: number;
  /** Instances that already ran the previous deployment (update) or none (create). */
  replaces: boolean;
}

interface SimService {
  name: string;
  arn: string;
  status: 'ACTIVE' | 'INACTIVE';
  input: any;
  deployments: Deployment[];
  tags: { key: string; value: string }[];
  createdAt: number;
}

interface TaskDefinitionRevision {
  arn: string;
  revision: number;
  body: any;
  tags: { key: string; value: string }[];
}

export class SimEcsCluster {
  service: SimService | undefined;
  requests = 0;
  writes = 0;
  constructor(
    readonly name: string,
    readonly arn: string,
    readonly account: string,
    readonly region: string,
    readonly instanceCount: number,
    readonly tags: Record<string, string>,
  ) {}

  instanceArn(i: number): string {
    return `arn:aws:ecs:${this.region}:${this.account}:container-instance/${this.name}/${hex(this.name, i, 32)}`;
  }

  instanceId(i: number): string {
    return `i-${hex(this.name, i, 17)}`;
  }

  /** Every deployment under way has finished (the scheduler caught up while nobody looked). */
  finishRollouts(): void {
    if (!this.service) return;
    const last = this.service.deployments.at(-1);
    if (last) {
      last.startedAt = -Infinity;
      this.service.deployments = [last];
    }
  }
}

export class SimEcs {
  private readonly clusters = new Map<string, SimEcsCluster>();
  private readonly byScope = new Map<string, SimEcsCluster[]>();
  private readonly byInstanceId = new Map<string, { cluster: SimEcsCluster; index: number }>();
  private readonly families = new Map<string, TaskDefinitionRevision[]>();
  private deploymentCounter = 0;
  /** Length of a task wave now (0: services converge at once, as the unmeasured setup has them). */
  taskWaveMs = ECS_TASK_WAVE.realisticMs;

  constructor(
    private readonly limits: RateLimits,
    private readonly now: () => number,
  ) {}

  add(account: string, region: string, name: string, instances: number, tags: Record<string, string> = {}): SimEcsCluster {
    const scope = `${account}/${region}`;
    const c = new SimEcsCluster(name, `arn:aws:ecs:${region}:${account}:cluster/${name}`, account, region, instances, tags);
    this.clusters.set(`${scope}/${name}`, c);
    let list = this.byScope.get(scope);
    if (!list) this.byScope.set(scope, (list = []));
    list.push(c);
    for (let i = 0; i < instances; i++) this.byInstanceId.set(c.instanceId(i), { cluster: c, index: i });
    return c;
  }

  all(): SimEcsCluster[] {
    return [...this.clusters.values()];
  }

  /** One ECS API call (`op` from X-Amz-Target) by the caller's account in `region`. */
  handle(account: string, region: string, op: string, req: any): unknown {
    const scope = `${account}/${region}`;
    const group = ACTION_GROUP[op];
    if (!group) throw new AwsError('InvalidParameterException', `${op} is not simulated`);
    if (!this.limits.admit(group, scope)) throw throttled('ThrottlingException', 'Rate exceeded');
    if (op === 'ListClusters') return page((this.byScope.get(scope) ?? []).map((c) => c.arn), req, 'clusterArns');
    if (op === 'RegisterTaskDefinition') return this.register(scope, account, region, req);
    if (op === 'DescribeTaskDefinition') return this.describeTaskDefinition(scope, req);
    if (op === 'ListTaskDefinitions') return this.listTaskDefinitions(scope, req);
    if (op === 'DescribeClusters') {
      const found = (req.clusters ?? ['default']).map((n: string) => this.cluster(scope, n));
      return {
        clusters: found.filter(Boolean).map((c: SimEcsCluster) => ({ clusterArn: c.arn, clusterName: c.name, status: 'ACTIVE', registeredContainerInstancesCount: c.instanceCount, runningTasksCount: c.service ? this.runningOf(c) : 0, pendingTasksCount: 0, activeServicesCount: c.service?.status === 'ACTIVE' ? 1 : 0, ...(req.include?.includes('TAGS') ? { tags: Object.entries(c.tags).map(([key, value]) => ({ key, value })) } : {}) })),
        failures: (req.clusters ?? []).filter((_: string, i: number) => !found[i]).map((n: string) => ({ arn: `arn:aws:ecs:${region}:${account}:cluster/${n}`, reason: 'MISSING' })),
      };
    }
    const c = this.cluster(scope, req.cluster);
    if (!c) throw new AwsError('ClusterNotFoundException', 'Cluster not found.');
    c.requests++;
    switch (op) {
      case 'DescribeServices': {
        const s = c.service;
        const names: string[] = req.services ?? [];
        const hit = names.filter((n) => s && (n === s.name || n === s.arn));
        return { services: hit.map(() => this.serviceJson(c, req.include?.includes('TAGS'))), failures: names.filter((n) => !hit.includes(n)).map((n) => ({ arn: n.startsWith('arn:') ? n : `arn:aws:ecs:${region}:${account}:service/${c.name}/${n}`, reason: 'MISSING' })) };
      }
      case 'CreateService': {
        if (c.service?.status === 'ACTIVE') {
          if (req.clientToken && c.service.input.clientToken === req.clientToken) return { service: this.serviceJson(c, true) };
          throw new AwsError('InvalidParameterException', 'Creation of service was not idempotent.');
        }
        this.taskDefinitionOf(scope, req.taskDefinition);
        c.writes++;
        const now = this.now();
        c.service = { name: req.serviceName, arn: `arn:aws:ecs:${region}:${account}:service/${c.name}/${req.serviceName}`, status: 'ACTIVE', input: req, deployments: [this.deployment(req.taskDefinition, now, false)], tags: req.tags ?? [], createdAt: now };
        return { service: this.serviceJson(c, true) };
      }
      case 'UpdateService': {
        const s = c.service;
        if (!s || s.status !== 'ACTIVE') throw new AwsError('ServiceNotActiveException', 'Service was not ACTIVE.');
        c.writes++;
        s.input = { ...s.input, ...req, ...(req.deploymentConfiguration ? { deploymentConfiguration: { ...s.input.deploymentConfiguration, ...req.deploymentConfiguration } } : {}) };
        const td = req.taskDefinition ?? s.deployments.at(-1)!.taskDefinition;
        if (req.taskDefinition || req.forceNewDeployment) {
          this.taskDefinitionOf(scope, td);
          s.deployments = [s.deployments.at(-1)!, this.deployment(td, this.now(), true)];
        }
        return { service: this.serviceJson(c, true) };
      }
      case 'ListContainerInstances':
        return page(Array.from({ length: c.instanceCount }, (_, i) => c.instanceArn(i)), req, 'containerInstanceArns');
      case 'DescribeContainerInstances': {
        const byArn = new Map(Array.from({ length: c.instanceCount }, (_, i) => [c.instanceArn(i), i]));
        const wanted: string[] = req.containerInstances ?? [];
        if (wanted.length > 100) throw new AwsError('InvalidParameterException', 'containerInstances can have at most 100 items.');
        return { containerInstances: wanted.filter((a) => byArn.has(a)).map((a) => this.instanceJson(c, byArn.get(a)!)), failures: wanted.filter((a) => !byArn.has(a)).map((arn) => ({ arn, reason: 'MISSING' })) };
      }
      case 'ListTasks': {
        if (req.desiredStatus === 'STOPPED') return { taskArns: [] };
        return page(this.tasks(c).map((t) => t.taskArn), req, 'taskArns');
      }
      case 'DescribeTasks': {
        const wanted: string[] = req.tasks ?? [];
        if (wanted.length > 100) throw new AwsError('InvalidParameterException', 'tasks can have at most 100 items.');
        const all = new Map(this.tasks(c).map((t) => [t.taskArn, t]));
        return { tasks: wanted.filter((a) => all.has(a)).map((a) => all.get(a)), failures: wanted.filter((a) => !all.has(a)).map((arn) => ({ arn, reason: 'MISSING' })) };
      }
    }
    throw new AwsError('InvalidParameterException', `${op} is not simulated`);
  }

  /** EC2 DescribeInstances (Query protocol) with an `instance-id` filter: the instances' private DNS names. */
  describeInstances(account: string, region: string, form: URLSearchParams): { status: number; body: string; headers: Record<string, string> } {
    const xml = (status: number, body: string) => ({ status, body, headers: { 'content-type': 'text/xml;charset=UTF-8' } });
    if (!this.limits.admit('ec2.nonMutating', `${account}/${region}`)) {
      return xml(503, '<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>sim</RequestID></Response>');
    }
    if (form.get('Action') !== 'DescribeInstances') return xml(400, `<Response><Errors><Error><Code>InvalidAction</Code><Message>${form.get('Action')} is not simulated</Message></Error></Errors></Response>`);
    const ids: string[] = [];
    for (const [k, v] of form) if (/^Filter\.1\.Value\.\d+$/.test(k)) ids.push(v);
    const items = ids
      .map((id) => ({ id, hit: this.byInstanceId.get(id) }))
      .filter((x) => x.hit && x.hit.cluster.account === account && x.hit.cluster.region === region)
      .map(({ id, hit }) => `<item><instanceId>${id}</instanceId><privateDnsName>ip-10-${(hit!.index >> 8) & 255}-${hit!.index & 255}-9.${region === 'us-east-1' ? 'ec2.internal' : `${region}.compute.internal`}</privateDnsName><instanceState><code>16</code><name>running</name></instanceState></item>`)
      .join('');
    return xml(200, `<?xml version="1.0" encoding="UTF-8"?><DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>sim</requestId><reservationSet>${items ? `<item><reservationId>r-sim</reservationId><ownerId>${account}</ownerId><instancesSet>${items}</instancesSet></item>` : ''}</reservationSet></DescribeInstancesResponse>`);
  }

  private cluster(scope: string, nameOrArn: string | undefined): SimEcsCluster | undefined {
    const name = String(nameOrArn ?? 'default').split('/').pop()!;
    return this.clusters.get(`${scope}/${name}`);
  }

  private deployment(taskDefinition: string, now: number, replaces: boolean): Deployment {
    return { id: `ecs-svc/${String(++this.deploymentCounter).padStart(19, '0')}`, taskDefinition, createdAt: now, startedAt: now, replaces };
  }

  /** Instances whose task of the newest deployment runs now. */
  private updated(c: SimEcsCluster, d: Deployment): number {
    const n = c.instanceCount;
    const wave = this.taskWaveMs;
    if (wave <= 0 || d.startedAt === -Infinity) return n;
    const waves = Math.floor((this.now() - d.startedAt) / wave);
    if (!d.replaces) return waves >= 1 ? n : 0;
    const minHealthy = Number(c.service?.input.deploymentConfiguration?.minimumHealthyPercent ?? 50);
    const perWave = Math.max(1, Math.floor((n * (100 - minHealthy)) / 100));
    return Math.min(n, waves * perWave);
  }

  private runningOf(c: SimEcsCluster): number {
    const s = c.service;
    if (!s || s.status !== 'ACTIVE') return 0;
    const d = s.deployments.at(-1)!;
    return d.replaces ? c.instanceCount : this.updated(c, d);
  }

  private tasks(c: SimEcsCluster): any[] {
    const s = c.service;
    if (!s || s.status !== 'ACTIVE') return [];
    const current = s.deployments.at(-1)!;
    const previous = s.deployments.length > 1 ? s.deployments[0] : undefined;
    const updated = this.updated(c, current);
    const out: any[] = [];
    for (let i = 0; i < c.instanceCount; i++) {
      const d = i < updated ? current : previous;
      if (!d) continue;
      out.push({
        taskArn: `arn:aws:ecs:${c.region}:${c.account}:task/${c.name}/${hex(d.id + c.name, i, 32)}`,
        clusterArn: c.arn,
        containerInstanceArn: c.instanceArn(i),
        taskDefinitionArn: d.taskDefinition,
        group: `service:${s.name}`,
        startedBy: d.id,
        lastStatus: 'RUNNING',
        desiredStatus: 'RUNNING',
        launchType: 'EC2',
        createdAt: Math.floor(d.createdAt / 1000),
        startedAt: Math.floor(d.createdAt / 1000),
      });
    }
    return out;
  }

  private serviceJson(c: SimEcsCluster, withTags: boolean): unknown {
    const s = c.service!;
    const n = c.instanceCount;
    const current = s.deployments.at(-1)!;
    const updated = this.updated(c, current);
    const done = s.status === 'ACTIVE' && updated === n;
    if (done && s.deployments.length > 1) s.deployments = [current];
    // ECS lists the PRIMARY deployment first
    const deployments = [...s.deployments].reverse().map((d) => {
      const isCurrent = d === current;
      const running = isCurrent ? updated : n - updated;
      return { id: d.id, status: isCurrent ? 'PRIMARY' : 'ACTIVE', taskDefinition: d.taskDefinition, desiredCount: n, pendingCount: isCurrent ? n - updated : 0, runningCount: running, createdAt: Math.floor(d.createdAt / 1000), updatedAt: Math.floor(this.now() / 1000), launchType: 'EC2', rolloutState: isCurrent ? (done ? 'COMPLETED' : 'IN_PROGRESS') : 'COMPLETED' };
    });
    const running = s.status === 'ACTIVE' ? (current.replaces ? n : updated) : 0;
    return {
      serviceArn: s.arn,
      serviceName: s.name,
      clusterArn: c.arn,
      status: s.status,
      desiredCount: s.status === 'ACTIVE' ? n : 0,
      runningCount: running,
      pendingCount: s.status === 'ACTIVE' ? n - running : 0,
      launchType: 'EC2',
      taskDefinition: current.taskDefinition,
      schedulingStrategy: s.input.schedulingStrategy ?? 'REPLICA',
      deploymentConfiguration: { maximumPercent: 100, minimumHealthyPercent: 50, ...(s.input.deploymentConfiguration ?? {}) },
      deployments,
      events: [],
      createdAt: Math.floor(s.createdAt / 1000),
      ...(s.input.placementConstraints ? { placementConstraints: s.input.placementConstraints } : {}),
      ...(withTags ? { tags: s.tags } : {}),
    };
  }

  private instanceJson(c: SimEcsCluster, i: number): unknown {
    const usedByTask = c.service?.status === 'ACTIVE' ? 1 : 0;
    return {
      containerInstanceArn: c.instanceArn(i),
      ec2InstanceId: c.instanceId(i),
      status: 'ACTIVE',
      agentConnected: true,
      runningTasksCount: usedByTask,
      pendingTasksCount: 0,
      registeredResources: [{ name: 'CPU', type: 'INTEGER', integerValue: 4096 }, { name: 'MEMORY', type: 'INTEGER', integerValue: 15_000 }],
      remainingResources: [{ name: 'CPU', type: 'INTEGER', integerValue: 4096 - 256 * usedByTask }, { name: 'MEMORY', type: 'INTEGER', integerValue: 15_000 - 512 * usedByTask }],
      versionInfo: { agentVersion: '1.89.0', dockerVersion: 'DockerVersion: 25.0.8' },
    };
  }

  private register(scope: string, account: string, region: string, req: any): unknown {
    const family: string = req.family;
    if (!family || !Array.isArray(req.containerDefinitions) || req.containerDefinitions.length === 0) throw new AwsError('ClientException', 'Container definitions and family are required.');
    const key = `${scope}/${family}`;
    let revs = this.families.get(key);
    if (!revs) this.families.set(key, (revs = []));
    const revision = revs.length + 1;
    const arn = `arn:aws:ecs:${region}:${account}:task-definition/${family}:${revision}`;
    const { tags, ...input } = req;
    const body = { ...input, taskDefinitionArn: arn, revision, status: 'ACTIVE', compatibilities: ['EXTERNAL', 'EC2'], registeredAt: Math.floor(this.now() / 1000) };
    revs.push({ arn, revision, body, tags: tags ?? [] });
    return { taskDefinition: body, tags: tags ?? [] };
  }

  private taskDefinitionOf(scope: string, ref: string): TaskDefinitionRevision {
    const m = /(?:task-definition\/)?([^:/]+):(\d+)$/.exec(String(ref));
    const revs = m ? this.families.get(`${scope}/${m[1]}`) : undefined;
    const rev = revs?.[Number(m?.[2]) - 1];
    if (!rev) throw new AwsError('ClientException', 'Unable to describe task definition.');
    return rev;
  }

  private describeTaskDefinition(scope: string, req: any): unknown {
    const rev = this.taskDefinitionOf(scope, req.taskDefinition);
    return { taskDefinition: rev.body, ...(req.include?.includes('TAGS') ? { tags: rev.tags } : {}) };
  }

  private listTaskDefinitions(scope: string, req: any): unknown {
    const prefix = String(req.familyPrefix ?? '');
    const arns = [...this.families.entries()]
      .filter(([k]) => k.startsWith(`${scope}/${prefix}`))
      .flatMap(([, revs]) => revs.map((r) => r.arn));
    if (req.sort === 'DESC') arns.reverse();
    return page(arns, req, 'taskDefinitionArns');
  }
}

function page(all: string[], req: { maxResults?: number; nextToken?: string }, key: string): Record<string, unknown> {
  const max = Math.min(100, Number(req.maxResults ?? 100));
  const from = Number(req.nextToken ?? 0);
  const items = all.slice(from, from + max);
  return { [key]: items, ...(from + max < all.length ? { nextToken: String(from + max) } : {}) };
}

/** A stable hex id of `length` characters for item `i` of `seed`. */
function hex(seed: string, i: number, length: number): string {
  let h = 2166136261 ^ i;
  for (let k = 0; k < seed.length; k++) h = Math.imul(h ^ seed.charCodeAt(k), 16777619);
  let out = '';
  while (out.length < length) {
    h = Math.imul(h ^ (h >>> 15), 2246822507) >>> 0;
    out += h.toString(16).padStart(8, '0');
  }
  return out.slice(0, length);
}
