import type {
  CreateServiceCommandInput,
  RegisterTaskDefinitionCommandInput,
  Service,
  TaskDefinition,
  UpdateServiceCommandInput,
} from '@aws-sdk/client-ecs';
import { formatClusterRef, type ClusterRef } from '../../domain/cluster-ref';
import type { ClusterPlan, DesiredSensor, PlannedAction, PlanOptions } from '../types';
import { describeDifference, diffTaskDefinitions, fieldChanges } from './task-definition-diff';
import { desiredTaskDefinition, isManaged, MANAGED_TAGS, SENSOR_SERVICE, sensorVersionOf } from './task-definition';

/** What observe saw: the cluster, the sensor service (if any) and the task definition it runs. */
export interface EcsObserved {
  ref: ClusterRef;
  clusterArn: string;
  service?: Service;
  serviceTaskDefinition?: TaskDefinition;
}

/** Which task definition a service action uses: the one registered earlier in the same apply, or an existing ARN. */
export type TaskDefinitionSource = { registered: true } | { arn: string };

export type EcsAction =
  | (PlannedAction & { type: 'finding' })
  | (PlannedAction & { type: 'register-task-definition'; input: RegisterTaskDefinitionCommandInput })
  | (PlannedAction & { type: 'create-service'; input: Omit<CreateServiceCommandInput, 'taskDefinition'>; taskDefinition: TaskDefinitionSource })
  | (PlannedAction & { type: 'update-service'; input: Omit<UpdateServiceCommandInput, 'taskDefinition'>; taskDefinition?: TaskDefinitionSource });

export interface DeploymentConfig {
  maximumPercent: number;
  minimumHealthyPercent: number;
}

/** DAEMON: never more than one sensor per instance, and never all of them stopped at once (0 would). */
export function desiredDeploymentConfiguration(desired: DesiredSensor): DeploymentConfig {
  return { maximumPercent: 100, minimumHealthyPercent: Math.max(1, desired.config.sensor.ecs.minimumHealthyPercent) };
}

/** ECS defaults for a DAEMON service that has no deployment configuration. */
const DAEMON_DEFAULT_DEPLOYMENT: DeploymentConfig = { maximumPercent: 100, minimumHealthyPercent: 0 };

/** Pure: desired + observed -> the ECS calls to make, each with its reason. In sync -> no actions. */
export function planEcs(desired: DesiredSensor, observed: EcsObserved, options: PlanOptions = {}): ClusterPlan<EcsAction> {
  const wantTd = desiredTaskDefinition(observed.ref, desired);
  const deployment = desiredDeploymentConfiguration(desired);
  const clusterArn = observed.clusterArn;
  const serviceTarget = `ECS service ${SENSOR_SERVICE}`;
  const tdTarget = `ECS task definition ${wantTd.family}`;
  const sensorVersion = { current: sensorVersionOf(observed.serviceTaskDefinition), desired: desired.config.sensor.version };
  const plan = (actions: EcsAction[]): ClusterPlan<EcsAction> => ({ cluster: formatClusterRef(observed.ref), actions, sensorVersion });
  const service = liveService(observed.service);

  if (!service) {
    return plan([
      { type: 'register-task-definition', target: tdTarget, reason: 'no sensor service yet: register the sensor task definition', input: wantTd },
      {
        type: 'create-service',
        target: serviceTarget,
        reason: `service missing: create DAEMON service (minimumHealthyPercent ${deployment.minimumHealthyPercent}, maximumPercent 100)`,
        taskDefinition: { registered: true },
        input: {
          cluster: clusterArn,
          serviceName: SENSOR_SERVICE,
          schedulingStrategy: 'DAEMON',
          launchType: 'EC2',
          deploymentConfiguration: deployment,
          tags: MANAGED_TAGS,
          propagateTags: 'TASK_DEFINITION',
        },
      },
    ]);
  }

  if (!isManaged(service.tags)) {
    return plan([{ type: 'finding', target: serviceTarget, reason: `${serviceTarget} exists, not managed by sensorfleet; left alone` }]);
  }
  if (service.status === 'DRAINING') {
    return plan([{ type: 'finding', target: serviceTarget, reason: `${serviceTarget} is DRAINING (being deleted); it is recreated on a later run` }]);
  }

  const findings: EcsAction[] = [];
  if (service.schedulingStrategy && service.schedulingStrategy !== 'DAEMON') {
    findings.push({
      type: 'finding',
      target: serviceTarget,
      reason: `${serviceTarget} uses schedulingStrategy ${service.schedulingStrategy}; ECS cannot change it in place (delete the service to let sensorfleet recreate it as DAEMON)`,
    });
  }

  const tdDiffs = observed.serviceTaskDefinition ? diffTaskDefinitions(wantTd, observed.serviceTaskDefinition) : undefined;
  const tdReason = tdDiffs
    ? `task definition differs: ${tdDiffs.slice(0, 3).map(describeDifference).join('; ')}${tdDiffs.length > 3 ? `; and ${tdDiffs.length - 3} more` : ''}`
    : `task definition ${service.taskDefinition ?? '(none)'} of the service could not be read`;
  const tdDiffers = !tdDiffs || tdDiffs.length > 0;

  const haveDeployment = { ...DAEMON_DEFAULT_DEPLOYMENT, ...definedOnly(service.deploymentConfiguration) };
  const deploymentKeys = (['maximumPercent', 'minimumHealthyPercent'] as const).filter((k) => haveDeployment[k] !== deployment[k]);
  const deploymentReasons = deploymentKeys.map((k) => `deploymentConfiguration.${k} want ${deployment[k]} have ${haveDeployment[k]}`);
  const deploymentChanges = deploymentKeys.map((k) => ({ path: `deploymentConfiguration.${k}`, from: haveDeployment[k], to: deployment[k] }));

  const update = (reasons: string[], extra: { register: boolean; force: boolean }): EcsAction => ({
    type: 'update-service',
    target: serviceTarget,
    reason: reasons.join('; '),
    ...(extra.register ? { taskDefinition: { registered: true } as const } : {}),
    // a new revision or a forced deployment replaces the running tasks; deployment settings alone do not
    ...(extra.register || extra.force ? { rollout: true } : {}),
    ...(extra.register || deploymentChanges.length
      ? { changes: [...(extra.register ? [{ path: 'taskDefinition', from: service.taskDefinition, to: `${wantTd.family}:(new revision)` }] : []), ...deploymentChanges] }
      : {}),
    input: {
      cluster: clusterArn,
      service: SENSOR_SERVICE,
      ...(deploymentReasons.length || extra.register ? { deploymentConfiguration: deployment } : {}),
      ...(extra.force ? { forceNewDeployment: true } : {}),
    },
  });

  if (options.force === 'restart') {
    const held: EcsAction[] = [];
    if (tdDiffers) held.push({ type: 'finding', target: tdTarget, reason: `${tdReason}; not changed by a restart (use redeploy)` });
    const why = `restart requested${options.reason ? ` (${options.reason})` : ''}: force a new deployment of the same task definition`;
    return plan([...findings, ...held, update([why, ...deploymentReasons], { register: false, force: true })]);
  }

  const actions: EcsAction[] = [...findings];
  if (tdDiffers) actions.push({ type: 'register-task-definition', target: tdTarget, reason: tdReason, input: wantTd, ...(tdDiffs?.length ? { changes: fieldChanges(tdDiffs) } : {}) });
  const redeploy = options.force === 'redeploy';
  if (tdDiffers || deploymentReasons.length || redeploy) {
    const reasons = [
      ...(tdDiffers ? ['use the new task definition revision'] : []),
      ...deploymentReasons,
      ...(redeploy ? [`redeploy requested${options.reason ? ` (${options.reason})` : ''}`] : []),
    ];
    actions.push(update(reasons, { register: tdDiffers, force: redeploy }));
  }
  return plan(actions);
}

/** A service that was deleted is INACTIVE and no longer counts (a new one may be created with the same name). */
function liveService(service: Service | undefined): Service | undefined {
  return service && service.status !== 'INACTIVE' ? service : undefined;
}

function definedOnly(config: Service['deploymentConfiguration']): Partial<DeploymentConfig> {
  const out: Partial<DeploymentConfig> = {};
  if (typeof config?.maximumPercent === 'number') out.maximumPercent = config.maximumPercent;
  if (typeof config?.minimumHealthyPercent === 'number') out.minimumHealthyPercent = config.minimumHealthyPercent;
  return out;
}
