import { setTimeout as sleep } from 'node:timers/promises';
import { DescribeClustersCommand, DescribeTaskDefinitionCommand, ECSClient, UpdateServiceCommand, type Service } from '@aws-sdk/client-ecs';
import type { AwsTarget } from '../../config/schema';
import { formatClusterRef, type ClusterRef } from '../../domain/cluster-ref';
import { ClusterNotFoundError, ClusterNotReadyError, ConfigError, SensorfleetError } from '../../runtime/errors';
import { awsClient } from '../aws/clients';
import { privateDnsNames } from '../aws/ec2-host-names';
import type { ApplyOutcome, ClusterPlan, ConnectedCluster, Coverage, DesiredSensor, DiscoveryScope, PlanOptions, PlatformAdapter, VerifyOptions } from '../types';
import { coveredByServiceCounts, instanceCoverage, nodeName, rolloutOf } from './coverage';
import { planEcs, type EcsAction, type EcsObserved, type TaskDefinitionSource } from './plan';
import { activeContainerInstances, describeSensorService, listClusterArns, sensorServiceTasks } from './reads';
import { EcsClusterFailedError } from './errors';
import { createServiceOnce, registerTaskDefinitionOnce } from './registration';
import { sensorVersionOf } from './task-definition';

export interface EcsHandle {
  ecs: ECSClient;
  clusterArn: string;
  /** DescribeClusters' registeredContainerInstancesCount at connect time (ACTIVE + DRAINING). */
  registeredInstances?: number;
  /** What observe saw; apply drops it so verify reads the service again. */
  observed?: EcsObserved;
  /** Task definition ARN -> sensor version, for the ARNs seen or registered in this run. */
  versions: Map<string, string>;
}

export type EcsAdapter = PlatformAdapter<EcsHandle, EcsObserved, EcsAction>;

/**
 * ECS (EC2 launch type): the sensor runs as a DAEMON service. Budget for an in-sync cluster
 * (DESIGN §7): DescribeClusters (connect), DescribeServices + DescribeTaskDefinition (observe),
 * and verify answers from the service's counts without another call.
 */
export function createEcsAdapter(options: { targets: AwsTarget[] }): EcsAdapter {
  const clientFor = (account: string, region: string): ECSClient => {
    const target = options.targets.find((t) => t.accountId === account);
    if (!target) throw new ConfigError(`AWS account ${account} is not a configured target (targets.aws); ECS clusters there are not managed`);
    return awsClient(ECSClient, { region, roleArn: target.roleArn, externalId: target.externalId });
  };

  return {
    platform: 'aws-ecs',

    async discover(scope: DiscoveryScope): Promise<ClusterRef[]> {
      const arns = await listClusterArns(clientFor(scope.scope, scope.location));
      return arns.map((arn) => ({ platform: 'aws-ecs', scope: scope.scope, location: scope.location, name: arn.slice(arn.indexOf('/') + 1) }));
    },

    async connect(ref: ClusterRef): Promise<ConnectedCluster<EcsHandle>> {
      const ecs = clientFor(ref.scope, ref.location);
      const out = await ecs.send(new DescribeClustersCommand({ clusters: [ref.name], include: ['TAGS'] }));
      const cluster = out.clusters?.find((c) => c.clusterName === ref.name);
      const id = formatClusterRef(ref);
      const status = cluster?.status ?? 'MISSING';
      if (!cluster || status === 'INACTIVE' || status === 'DEPROVISIONING') throw new ClusterNotFoundError(id);
      if (status === 'PROVISIONING') throw new ClusterNotReadyError(id, status);
      if (status === 'FAILED') throw new EcsClusterFailedError(id);
      if (status !== 'ACTIVE') throw new SensorfleetError(`cluster ${id} is ${status}; the sensor can only be deployed on an ACTIVE cluster`);
      return {
        ref,
        status,
        tags: Object.fromEntries((cluster.tags ?? []).map((t) => [t.key ?? '', t.value ?? ''])),
        handle: { ecs, clusterArn: cluster.clusterArn!, registeredInstances: cluster.registeredContainerInstancesCount, versions: new Map() },
      };
    },

    async observe(cluster: ConnectedCluster<EcsHandle>): Promise<EcsObserved> {
      const { ecs, clusterArn } = cluster.handle;
      const service = await describeSensorService(ecs, clusterArn);
      const observed: EcsObserved = { ref: cluster.ref, clusterArn, ...(service ? { service } : {}) };
      if (service && service.status !== 'INACTIVE' && service.taskDefinition) {
        const td = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: service.taskDefinition }));
        if (td.taskDefinition) {
          observed.serviceTaskDefinition = td.taskDefinition;
          remember(cluster.handle, service.taskDefinition, sensorVersionOf(td.taskDefinition));
        }
      }
      cluster.handle.observed = observed;
      return observed;
    },

    plan(desired: DesiredSensor, observed: EcsObserved, planOptions: PlanOptions): ClusterPlan<EcsAction> {
      return planEcs(desired, observed, planOptions);
    },

    async apply(cluster: ConnectedCluster<EcsHandle>, plan: ClusterPlan<EcsAction>): Promise<ApplyOutcome> {
      const { ecs } = cluster.handle;
      cluster.handle.observed = undefined;
      let registered: string | undefined;
      let applied = 0;
      let rolloutStarted = false;
      const arnOf = (source: TaskDefinitionSource): string => {
        if ('arn' in source) return source.arn;
        if (!registered) throw new SensorfleetError(`plan for ${plan.cluster} uses a task definition it did not register`);
        return registered;
      };
      for (const action of plan.actions) {
        switch (action.type) {
          case 'finding':
            continue;
          case 'register-task-definition': {
            // a retried item reuses the revision an earlier attempt registered
            const { taskDefinition } = await registerTaskDefinitionOnce(ecs, action.input);
            registered = taskDefinition.taskDefinitionArn!;
            remember(cluster.handle, registered, sensorVersionOf(taskDefinition));
            break;
          }
          case 'create-service':
            await createServiceOnce(ecs, { ...action.input, cluster: action.input.cluster!, taskDefinition: arnOf(action.taskDefinition) });
            rolloutStarted = true;
            break;
          case 'update-service':
            await ecs.send(new UpdateServiceCommand({ ...action.input, ...(action.taskDefinition ? { taskDefinition: arnOf(action.taskDefinition) } : {}) }));
            rolloutStarted ||= Boolean(action.taskDefinition || action.input.forceNewDeployment);
            break;
        }
        applied++;
      }
      return { applied, rolloutStarted };
    },

    async listNodes(cluster: ConnectedCluster<EcsHandle>) {
      const nodeNames = (await activeContainerInstances(cluster.handle.ecs, cluster.handle.clusterArn)).map(nodeName);
      return { nodeNames, hostnames: await hostnamesOf(cluster, nodeNames) };
    },

    async verify(cluster: ConnectedCluster<EcsHandle>, desired: DesiredSensor, verifyOptions: VerifyOptions): Promise<Coverage> {
      const handle = cluster.handle;
      const deadline = Date.now() + verifyOptions.deadlineMs;
      const needs = { cpu: desired.config.sensor.ecs.cpu, memory: desired.config.sensor.ecs.memory };
      const fromObserve = handle.observed;
      handle.observed = undefined;
      for (let poll = 0; ; poll++) {
        const service = poll === 0 && fromObserve ? liveOnly(fromObserve.service) : liveOnly(await describeSensorService(handle.ecs, handle.clusterArn));
        if (poll === 0 && fromObserve && coveredByServiceCounts(service, handle.registeredInstances)) {
          const total = handle.registeredInstances!;
          return {
            total,
            covered: total,
            uncovered: [],
            rollout: rolloutOf({ total, covered: total, uncovered: [], blocked: 0 }, false, verifyOptions.deadlineMs),
            sensorVersion: handle.versions.get(service!.taskDefinition!),
          };
        }
        const instances = await activeContainerInstances(handle.ecs, handle.clusterArn);
        const tasks = service ? await sensorServiceTasks(handle.ecs, handle.clusterArn) : [];
        const c = instanceCoverage({ service, instances, tasks, needs });
        const rollout = rolloutOf(c, Date.now() >= deadline, verifyOptions.deadlineMs);
        verifyOptions.onProgress?.({ updated: c.covered, total: c.total, message: rollout.message });
        if (rollout.state !== 'progressing') {
          return {
            total: c.total,
            covered: c.covered,
            uncovered: c.uncovered,
            rollout,
            nodeNames: c.nodeNames,
            hostnames: await hostnamesOf(cluster, c.nodeNames),
            ...(c.covered > 0 ? { sensorVersion: await versionOf(handle, service?.taskDefinition) } : {}),
          };
        }
        if (verifyOptions.once) return { total: c.total, covered: c.covered, uncovered: c.uncovered, rollout, nodeNames: c.nodeNames, hostnames: await hostnamesOf(cluster, c.nodeNames) };
        await sleep(Math.max(0, Math.min(verifyOptions.pollMs, deadline - Date.now())));
      }
    },
  };
}

/** Container instance ids and the host names their sensors report (EC2 private DNS names). */
async function hostnamesOf(cluster: ConnectedCluster<EcsHandle>, instanceIds: string[]): Promise<Record<string, string>> {
  const ids = instanceIds.filter((id) => id.startsWith('i-'));
  return privateDnsNames(ids, cluster.ref.location, () => cluster.handle.ecs.config.credentials());
}

function liveOnly(service: Service | undefined): Service | undefined {
  return service && service.status !== 'INACTIVE' ? service : undefined;
}

function remember(handle: EcsHandle, arn: string, version: string | undefined): void {
  if (version) handle.versions.set(arn, version);
}

async function versionOf(handle: EcsHandle, arn: string | undefined): Promise<string | undefined> {
  if (!arn) return undefined;
  if (!handle.versions.has(arn)) {
    const out = await handle.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn }));
    remember(handle, arn, sensorVersionOf(out.taskDefinition));
  }
  return handle.versions.get(arn);
}
