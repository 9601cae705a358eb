import type { Service, TaskDefinition } from '@aws-sdk/client-ecs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../shared/config/load';
import type { ClusterRef } from '../../shared/domain/cluster-ref';
import { planEcs, type EcsAction, type EcsObserved } from '../../shared/platforms/ecs/plan';
import { desiredTaskDefinition, MANAGED_BY_KEY } from '../../shared/platforms/ecs/task-definition';
import { diffTaskDefinitions } from '../../shared/platforms/ecs/task-definition-diff';
import type { DesiredSensor } from '../../shared/platforms/types';

const ref: ClusterRef = { platform: 'aws-ecs', scope: '123456789012', location: 'eu-west-1', name: 'payments' };
const clusterArn = 'arn:aws:ecs:eu-west-1:123456789012:cluster/payments';
const tdArn = (rev: number) => `arn:aws:ecs:eu-west-1:123456789012:task-definition/qualys-container-sensor:${rev}`;

function desiredSensor(sensor: Record<string, unknown> = {}): DesiredSensor {
  return {
    config: parseConfig({ sensor }),
    podUrl: 'https://cmsqagpublic.qg2.apps.qualys.com/ContainerSensor',
    credentialsSecretArn: (r) => `arn:aws:secretsmanager:${r.location}:${r.scope}:secret:sensorfleet/qualys-activation-AbCdEf`,
  };
}

/**
 * What DescribeTaskDefinition returns for a registered input (shape of the ECS API reference
 * response): AWS adds ARN, revision, status, compatibilities, requiresAttributes, registeredAt/By,
 * container defaults (portMappings [], volumesFrom [], systemControls [], cpu as given), keeps
 * task cpu/memory as strings and may return list entries in another order.
 */
function asDescribed(desired: DesiredSensor, rev: number, edit: (td: any) => void = () => {}): TaskDefinition {
  const input = structuredClone(desiredTaskDefinition(ref, desired)) as any;
  delete input.tags;
  const c = input.containerDefinitions[0];
  const td: any = {
    ...input,
    taskDefinitionArn: tdArn(rev),
    revision: rev,
    status: 'ACTIVE',
    networkMode: 'bridge',
    compatibilities: ['EXTERNAL', 'EC2'],
    requiresAttributes: [{ name: 'com.amazonaws.ecs.capability.logging-driver.awslogs' }, { name: 'ecs.capability.secrets.asm.environment-variables' }],
    placementConstraints: [],
    registeredAt: new Date('2026-11-01T00:00:00Z'),
    registeredBy: 'arn:aws:sts::123456789012:assumed-role/sensorfleet/x',
    containerDefinitions: [
      {
        ...c,
        portMappings: [],
        volumesFrom: [],
        systemControls: [],
        mountPoints: [...c.mountPoints].reverse().map((m: any) => ({ ...m, readOnly: false })),
        secrets: [...c.secrets].reverse(),
      },
    ],
    volumes: [...input.volumes].reverse(),
  };
  edit(td);
  return td as TaskDefinition;
}

function managedService(rev: number, extra: Partial<Service> = {}): Service {
  return {
    serviceName: 'qualys-container-sensor',
    clusterArn,
    status: 'ACTIVE',
    schedulingStrategy: 'DAEMON',
    launchType: 'EC2',
    taskDefinition: tdArn(rev),
    deploymentConfiguration: { maximumPercent: 100, minimumHealthyPercent: 50, deploymentCircuitBreaker: { enable: false, rollback: false } },
    tags: [{ key: MANAGED_BY_KEY, value: 'sensorfleet' }],
    ...extra,
  };
}

function observed(service: Service | undefined, td?: TaskDefinition): EcsObserved {
  return { ref, clusterArn, ...(service ? { service } : {}), ...(td ? { serviceTaskDefinition: td } : {}) };
}

const types = (actions: EcsAction[]) => actions.map((a) => a.type);

describe('ECS plan', () => {
  const desired = desiredSensor();

  it('in sync (AWS-added fields, defaults and ordering included) -> zero actions', () => {
    const plan = planEcs(desired, observed(managedService(7), asDescribed(desired, 7)));
    expect(plan.actions).toEqual([]);
    expect(plan.sensorVersion).toEqual({ current: '1.34.1-0', desired: '1.34.1-0' });
  });

  it('AWS-added fields and defaults do not count as drift', () => {
    const desiredTd = desiredTaskDefinition(ref, desired);
    const described = asDescribed(desired, 3, (td) => {
      td.cpu = 256; // number instead of string
      td.containerDefinitions[0].essential = undefined; // default true
      td.containerDefinitions[0].environment = [{ name: 'POD_URL', value: desired.podUrl }];
      td.containerDefinitions[0].privileged = false;
      td.containerDefinitions[0].ulimits = [];
      td.deregisteredAt = undefined;
    });
    expect(diffTaskDefinitions(desiredTd, described)).toEqual([]);
  });

  it('missing service -> register the task definition, then create a DAEMON service', () => {
    const plan = planEcs(desired, observed(undefined));
    expect(types(plan.actions)).toEqual(['register-task-definition', 'create-service']);
    const create = plan.actions[1] as Extract<EcsAction, { type: 'create-service' }>;
    expect(create.taskDefinition).toEqual({ registered: true });
    expect(create.input).toMatchObject({
      serviceName: 'qualys-container-sensor',
      schedulingStrategy: 'DAEMON',
      launchType: 'EC2',
      deploymentConfiguration: { maximumPercent: 100, minimumHealthyPercent: 50 },
      propagateTags: 'TASK_DEFINITION',
      tags: [{ key: 'app.kubernetes.io/managed-by', value: 'sensorfleet' }],
    });
    expect(create.input).not.toHaveProperty('desiredCount');
  });

  it('an INACTIVE (deleted) service counts as missing', () => {
    const plan = planEcs(desired, observed(managedService(2, { status: 'INACTIVE' })));
    expect(types(plan.actions)).toEqual(['register-task-definition', 'create-service']);
  });

  it('image change -> one new revision and a service update, with the field named in the reason', () => {
    const newer = desiredSensor({ version: '1.35.0-0' });
    const plan = planEcs(newer, observed(managedService(7), asDescribed(desired, 7)));
    expect(types(plan.actions)).toEqual(['register-task-definition', 'update-service']);
    expect(plan.actions[0]!.reason).toBe(
      'task definition differs: containerDefinitions[qualys-container-sensor].image want qualys/qcs-sensor:1.35.0-0 have qualys/qcs-sensor:1.34.1-0',
    );
    const update = plan.actions[1] as Extract<EcsAction, { type: 'update-service' }>;
    expect(update.taskDefinition).toEqual({ registered: true });
    expect(update.input.forceNewDeployment).toBeUndefined();
    expect(plan.sensorVersion).toEqual({ current: '1.34.1-0', desired: '1.35.0-0' });
  });

  it('a hand edit of the running task definition (privileged, plain-text credentials) is drift', () => {
    const edited = asDescribed(desired, 7, (td) => {
      td.containerDefinitions[0].privileged = true;
      td.containerDefinitions[0].environment.push({ name: 'ACTIVATIONID', value: 'plain' });
    });
    const plan = planEcs(desired, observed(managedService(7), edited));
    expect(types(plan.actions)).toEqual(['register-task-definition', 'update-service']);
    expect(plan.actions[0]!.reason).toContain('containerDefinitions[qualys-container-sensor].environment[ACTIVATIONID] want (none)');
    expect(plan.actions[0]!.reason).toContain('containerDefinitions[qualys-container-sensor].privileged want (none) have true');
    expect(plan.actions[0]!.reason).not.toContain('plain');
  });

  it('deployment configuration drift -> update only, no new revision', () => {
    const svc = managedService(7, { deploymentConfiguration: { maximumPercent: 100, minimumHealthyPercent: 0 } });
    const plan = planEcs(desired, observed(svc, asDescribed(desired, 7)));
    expect(types(plan.actions)).toEqual(['update-service']);
    expect(plan.actions[0]!.reason).toBe('deploymentConfiguration.minimumHealthyPercent want 50 have 0');
    const update = plan.actions[0] as Extract<EcsAction, { type: 'update-service' }>;
    expect(update.taskDefinition).toBeUndefined();
    expect(update.input.deploymentConfiguration).toEqual({ maximumPercent: 100, minimumHealthyPercent: 50 });
  });

  it('a service without deployment configuration has the DAEMON defaults (min 0) and is corrected', () => {
    const svc = managedService(7, { deploymentConfiguration: undefined });
    const plan = planEcs(desired, observed(svc, asDescribed(desired, 7)));
    expect(plan.actions.map((a) => a.reason)).toEqual(['deploymentConfiguration.minimumHealthyPercent want 50 have 0']);
  });

  it('a service of the same name without our tag is never touched', () => {
    const svc = managedService(7, { tags: [{ key: 'team', value: 'platform' }] });
    const newer = desiredSensor({ version: '1.35.0-0' });
    for (const force of [undefined, 'restart', 'redeploy'] as const) {
      const plan = planEcs(newer, observed(svc, asDescribed(desired, 7)), { force });
      expect(plan.actions).toEqual([
        { type: 'finding', target: 'ECS service qualys-container-sensor', reason: 'ECS service qualys-container-sensor exists, not managed by sensorfleet; left alone' },
      ]);
    }
  });

  it("restart -> forceNewDeployment of the same task definition only; spec drift is reported, not applied", () => {
    const newer = desiredSensor({ version: '1.35.0-0' });
    const inSync = planEcs(desired, observed(managedService(7), asDescribed(desired, 7)), { force: 'restart', reason: 'INC-42' });
    expect(types(inSync.actions)).toEqual(['update-service']);
    const restart = inSync.actions[0] as Extract<EcsAction, { type: 'update-service' }>;
    expect(restart.input).toEqual({ cluster: clusterArn, service: 'qualys-container-sensor', forceNewDeployment: true });
    expect(restart.taskDefinition).toBeUndefined();
    expect(restart.reason).toContain('INC-42');

    const drifted = planEcs(newer, observed(managedService(7), asDescribed(desired, 7)), { force: 'restart' });
    expect(types(drifted.actions)).toEqual(['finding', 'update-service']);
    expect(drifted.actions[0]!.reason).toContain('not changed by a restart (use redeploy)');
  });

  it('redeploy -> register only if it differs, update with forceNewDeployment', () => {
    const same = planEcs(desired, observed(managedService(7), asDescribed(desired, 7)), { force: 'redeploy' });
    expect(types(same.actions)).toEqual(['update-service']);
    expect((same.actions[0] as Extract<EcsAction, { type: 'update-service' }>).input.forceNewDeployment).toBe(true);

    const newer = desiredSensor({ version: '1.35.0-0' });
    const changed = planEcs(newer, observed(managedService(7), asDescribed(desired, 7)), { force: 'redeploy' });
    expect(types(changed.actions)).toEqual(['register-task-definition', 'update-service']);
    const update = changed.actions[1] as Extract<EcsAction, { type: 'update-service' }>;
    expect(update.input.forceNewDeployment).toBe(true);
    expect(update.taskDefinition).toEqual({ registered: true });
  });

  it('a REPLICA service of ours is reported (ECS cannot change the strategy in place)', () => {
    const plan = planEcs(desired, observed(managedService(7, { schedulingStrategy: 'REPLICA' }), asDescribed(desired, 7)));
    expect(types(plan.actions)).toEqual(['finding']);
    expect(plan.actions[0]!.reason).toContain('schedulingStrategy REPLICA');
  });

  it('an unreadable service task definition leads to a new revision', () => {
    const plan = planEcs(desired, observed(managedService(7)));
    expect(types(plan.actions)).toEqual(['register-task-definition', 'update-service']);
  });
});
