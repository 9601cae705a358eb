import {
  DescribeContainerInstancesCommand,
  DescribeServicesCommand,
  DescribeTasksCommand,
  ListClustersCommand,
  ListContainerInstancesCommand,
  ListTasksCommand,
  type ContainerInstance,
  type DesiredStatus,
  type ECSClient,
  type Service,
  type Task,
} from '@aws-sdk/client-ecs';
import { SENSOR_SERVICE } from './task-definition';

/** Paginated lists and batched describes of the ECS API (Describe* take at most 100 ARNs per call). */
const DESCRIBE_BATCH = 100;

export async function listClusterArns(ecs: ECSClient): Promise<string[]> {
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await ecs.send(new ListClustersCommand({ maxResults: 100, nextToken }));
    arns.push(...(page.clusterArns ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return arns;
}

export async function describeSensorService(ecs: ECSClient, cluster: string): Promise<Service | undefined> {
  const out = await ecs.send(new DescribeServicesCommand({ cluster, services: [SENSOR_SERVICE], include: ['TAGS'] }));
  return out.services?.find((s) => s.serviceName === SENSOR_SERVICE);
}

export async function activeContainerInstances(ecs: ECSClient, cluster: string): Promise<ContainerInstance[]> {
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await ecs.send(new ListContainerInstancesCommand({ cluster, status: 'ACTIVE', maxResults: 100, nextToken }));
    arns.push(...(page.containerInstanceArns ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  const out: ContainerInstance[] = [];
  for (const batch of chunks(arns)) {
    const page = await ecs.send(new DescribeContainerInstancesCommand({ cluster, containerInstances: batch }));
    out.push(...(page.containerInstances ?? []));
  }
  // the status filter is applied again: a lax API (moto) may ignore it
  return out.filter((i) => i.status === 'ACTIVE');
}

/** Tasks of the sensor service: those meant to run and those stopped recently (ECS keeps them about an hour). */
export async function sensorServiceTasks(ecs: ECSClient, cluster: string): Promise<Task[]> {
  const arns = new Set<string>();
  for (const desiredStatus of ['RUNNING', 'STOPPED'] as DesiredStatus[]) {
    let nextToken: string | undefined;
    do {
      const page = await ecs.send(new ListTasksCommand({ cluster, serviceName: SENSOR_SERVICE, desiredStatus, maxResults: 100, nextToken }));
      for (const arn of page.taskArns ?? []) arns.add(arn);
      nextToken = page.nextToken;
    } while (nextToken);
  }
  const out: Task[] = [];
  for (const batch of chunks([...arns])) {
    const page = await ecs.send(new DescribeTasksCommand({ cluster, tasks: batch }));
    out.push(...(page.tasks ?? []));
  }
  // tasks a DAEMON service starts carry group "service:<name>"; filtering again keeps other tasks out
  return out.filter((t) => t.group === `service:${SENSOR_SERVICE}`);
}

function chunks<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += DESCRIBE_BATCH) out.push(items.slice(i, i + DESCRIBE_BATCH));
  return out;
}
