import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import {
  DescribeContainerInstancesCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ListContainerInstancesCommand,
  ListServicesCommand,
  ListTasksCommand,
  type Service,
} from '@aws-sdk/client-ecs';
import type { MotoClients } from './moto-clients';

/** What the ECS scheduler simulator reads from moto for one cluster. */
export interface EcsClusterKey {
  account: string;
  region: string;
  cluster: string;
}

export interface TaskDefInfo {
  arn: string;
  family: string;
  cpu: number;
  memory: number;
  /** Image tag of the first container (the sensor version). */
  imageTag: string;
}

export interface InstanceObs {
  arn: string;
  ec2InstanceId: string;
  status: string;
  registeredCpu: number;
  registeredMemory: number;
}

export interface TaskObs {
  arn: string;
  group: string;
  startedBy: string;
  taskDefinitionArn: string;
  containerInstanceArn: string;
}

export interface ClusterObs {
  clusterArn?: string;
  services: Service[];
  instances: InstanceObs[];
  tasks: TaskObs[];
}

export function clusterKeyId(k: EcsClusterKey): string {
  return `${k.account}|${k.region}|${k.cluster}`;
}

export function clusterName(nameOrArn: string): string {
  return nameOrArn.includes(':cluster/') ? nameOrArn.split(':cluster/')[1]! : nameOrArn;
}

export class EcsObserver {
  private readonly taskDefs = new Map<string, TaskDefInfo>();
  private readonly hostnames = new Map<string, string>();

  constructor(private readonly moto: MotoClients) {}

  async observe(k: EcsClusterKey): Promise<ClusterObs | undefined> {
    const ecs = this.moto.ecs(k.account, k.region);
    let serviceArns: string[];
    try {
      serviceArns = await listAll((nextToken) => ecs.send(new ListServicesCommand({ cluster: k.cluster, schedulingStrategy: 'DAEMON', nextToken })), (o) => o.serviceArns);
    } catch (err) {
      if ((err as { name?: string }).name === 'ClusterNotFoundException') return undefined;
      throw err;
    }
    const services: Service[] = [];
    for (const batch of chunks(serviceArns, 10)) {
      const out = await ecs.send(new DescribeServicesCommand({ cluster: k.cluster, services: batch }));
      services.push(...(out.services ?? []));
    }
    const instanceArns = await listAll((nextToken) => ecs.send(new ListContainerInstancesCommand({ cluster: k.cluster, nextToken })), (o) => o.containerInstanceArns);
    const instances: InstanceObs[] = [];
    for (const batch of chunks(instanceArns, 100)) {
      const out = await ecs.send(new DescribeContainerInstancesCommand({ cluster: k.cluster, containerInstances: batch }));
      for (const ci of out.containerInstances ?? []) {
        const res = (name: string) => ci.registeredResources?.find((r) => r.name === name)?.integerValue ?? 0;
        instances.push({ arn: ci.containerInstanceArn!, ec2InstanceId: ci.ec2InstanceId ?? '', status: ci.status ?? 'ACTIVE', registeredCpu: res('CPU'), registeredMemory: res('MEMORY') });
      }
    }
    const taskArns = await listAll((nextToken) => ecs.send(new ListTasksCommand({ cluster: k.cluster, desiredStatus: 'RUNNING', nextToken })), (o) => o.taskArns);
    const tasks: TaskObs[] = [];
    let clusterArn: string | undefined = services[0]?.clusterArn;
    for (const batch of chunks(taskArns, 100)) {
      const out = await ecs.send(new DescribeTasksCommand({ cluster: k.cluster, tasks: batch }));
      for (const t of out.tasks ?? []) {
        // moto's ListTasks matches the cluster name as a substring of the task's cluster ARN
        if (!t.clusterArn?.endsWith(`:cluster/${k.cluster}`) || t.desiredStatus !== 'RUNNING') continue;
        clusterArn ??= t.clusterArn;
        tasks.push({ arn: t.taskArn!, group: t.group ?? '', startedBy: t.startedBy ?? '', taskDefinitionArn: t.taskDefinitionArn ?? '', containerInstanceArn: t.containerInstanceArn ?? '' });
      }
    }
    return { clusterArn, services, instances, tasks };
  }

  /** Task definitions never change once registered, so ARNs are cached; family[:rev] strings are resolved each time. */
  async taskDef(k: EcsClusterKey, ref: string): Promise<TaskDefInfo> {
    const hit = this.taskDefs.get(`${k.account}|${ref}`);
    if (hit) return hit;
    const out = await this.moto.ecs(k.account, k.region).send(new DescribeTaskDefinitionCommand({ taskDefinition: ref }));
    const td = out.taskDefinition!;
    const containers = td.containerDefinitions ?? [];
    const sum = (f: (c: (typeof containers)[number]) => number | undefined) => containers.reduce((n, c) => n + (f(c) ?? 0), 0);
    const image = containers[0]?.image ?? '';
    const tagAt = image.lastIndexOf(':');
    const info: TaskDefInfo = {
      arn: td.taskDefinitionArn!,
      family: td.family ?? '',
      // task-level cpu/memory, when given, is what placement reserves; otherwise the containers' sum
      // (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html#task_size)
      cpu: td.cpu ? parseInt(td.cpu, 10) : sum((c) => c.cpu),
      memory: td.memory ? parseInt(td.memory, 10) : sum((c) => c.memory ?? c.memoryReservation),
      imageTag: tagAt > image.lastIndexOf('/') && tagAt >= 0 ? image.slice(tagAt + 1) : 'latest',
    };
    this.taskDefs.set(`${k.account}|${info.arn}`, info);
    return info;
  }

  /**
   * Looks up the hostnames of many instances in one DescribeInstances (an `instance-id` filter, so an unknown
   * id is just absent): a fleet's scheduler pass over hundreds of instances makes one call, not one each.
   */
  async prefetchHostnames(k: EcsClusterKey, instanceIds: string[]): Promise<void> {
    const missing = [...new Set(instanceIds.filter((id) => id && !this.hostnames.has(id)))];
    for (const batch of chunks(missing, 200)) {
      try {
        const out = await this.moto.ec2(k.account, k.region).send(new DescribeInstancesCommand({ Filters: [{ Name: 'instance-id', Values: batch }] }));
        for (const i of (out.Reservations ?? []).flatMap((r) => r.Instances ?? [])) if (i.InstanceId && i.PrivateDnsName) this.hostnames.set(i.InstanceId, i.PrivateDnsName);
      } catch {
        // hostname() asks one by one
      }
    }
  }

  /** EC2 private DNS name of an instance (what the sensor reports as hostname), else the instance id. */
  async hostname(k: EcsClusterKey, instanceId: string): Promise<string> {
    const hit = this.hostnames.get(instanceId);
    if (hit) return hit;
    let name = instanceId;
    try {
      const out = await this.moto.ec2(k.account, k.region).send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
      name = out.Reservations?.[0]?.Instances?.[0]?.PrivateDnsName || instanceId;
    } catch {
      // instance gone: fall back to its id
    }
    this.hostnames.set(instanceId, name);
    return name;
  }
}

async function listAll<O>(page: (token?: string) => Promise<O & { nextToken?: string }>, items: (o: O) => string[] | undefined): Promise<string[]> {
  const all: string[] = [];
  let token: string | undefined;
  do {
    const out = await page(token);
    all.push(...(items(out) ?? []));
    token = out.nextToken;
  } while (token);
  return all;
}

function chunks<T>(xs: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}
