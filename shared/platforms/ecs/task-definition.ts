import type { RegisterTaskDefinitionCommandInput, Tag } from '@aws-sdk/client-ecs';
import type { ClusterRef } from '../../domain/cluster-ref';
import { ConfigError } from '../../runtime/errors';
import type { DesiredSensor } from '../types';

export const SENSOR_FAMILY = 'qualys-container-sensor';
export const SENSOR_CONTAINER = 'qualys-container-sensor';
export const SENSOR_SERVICE = 'qualys-container-sensor';
export const MANAGED_BY_KEY = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'sensorfleet';
/** ECS tag keys allow '.', '/' and ':' (up to 128 chars), so the Kubernetes label key is used as is. */
export const MANAGED_TAGS: Tag[] = [{ key: MANAGED_BY_KEY, value: MANAGED_BY_VALUE }];

/** Container paths and host paths of the official task definition (qualys-cs-api.md §2.4, cssensor-aws-ecs.json). */
const VOLUMES = [
  { name: 'persistent_volume', sourcePath: '/usr/local/qualys/sensor/data', containerPath: '/usr/local/qualys/qpa/data' },
  { name: 'var_run', sourcePath: '/var/run/docker.sock', containerPath: '/var/run/docker.sock' },
  { name: 'etc_qualys', sourcePath: '/etc/qualys', containerPath: '/usr/local/qualys/qpa/data/conf/agent-data' },
] as const;

export function logGroupName(clusterName: string): string {
  return `/ecs/${clusterName}/${SENSOR_CONTAINER}`;
}

export function executionRoleArn(ref: ClusterRef, roleName: string): string {
  return `arn:aws:iam::${ref.scope}:role/${roleName}`;
}

export function imageOf(desired: DesiredSensor): string {
  return `${desired.config.sensor.image}:${desired.config.sensor.version}`;
}

/**
 * The task definition the cluster should run (pure). Credentials are Secrets Manager references
 * resolved by the ECS agent at task start (`secrets`, JSON keys of one secret), never values in
 * `environment`; that is why the execution role is required.
 */
export function desiredTaskDefinition(ref: ClusterRef, desired: DesiredSensor): RegisterTaskDefinitionCommandInput {
  const sensor = desired.config.sensor;
  const secretArn = desired.credentialsSecretArn?.(ref);
  if (!secretArn) throw new ConfigError('ECS needs the ARN of the activation secret (credentials.secretArn or credentials.secretsManagerSecretId)');
  return {
    family: SENSOR_FAMILY,
    requiresCompatibilities: ['EC2'],
    executionRoleArn: executionRoleArn(ref, sensor.ecs.executionRoleName),
    cpu: String(sensor.ecs.cpu),
    memory: String(sensor.ecs.memory),
    containerDefinitions: [
      {
        name: SENSOR_CONTAINER,
        image: imageOf(desired),
        essential: true,
        cpu: sensor.ecs.cpu,
        memory: sensor.ecs.memory,
        command: ['--ecs-mode', ...sensor.args],
        // valueFrom "<arn>:<json-key>::" selects one key of the JSON secret (ECS developer guide, "Pass Secrets Manager secrets").
        secrets: [
          { name: 'ACTIVATIONID', valueFrom: `${secretArn}:activationId::` },
          { name: 'CUSTOMERID', valueFrom: `${secretArn}:customerId::` },
        ],
        environment: [{ name: 'POD_URL', value: desired.podUrl }],
        mountPoints: VOLUMES.map((v) => ({ sourceVolume: v.name, containerPath: v.containerPath })),
        logConfiguration: {
          logDriver: 'awslogs',
          options: {
            'awslogs-group': logGroupName(ref.name),
            'awslogs-region': ref.location,
            'awslogs-stream-prefix': 'sensor',
            'awslogs-create-group': 'true',
          },
        },
      },
    ],
    volumes: VOLUMES.map((v) => ({ name: v.name, host: { sourcePath: v.sourcePath } })),
    tags: MANAGED_TAGS,
  };
}

/** The sensor version (image tag) of a task definition's sensor container, if it has one. */
export function sensorVersionOf(td: { containerDefinitions?: { name?: string; image?: string }[] } | undefined): string | undefined {
  const image = td?.containerDefinitions?.find((c) => c.name === SENSOR_CONTAINER)?.image;
  if (!image) return undefined;
  const at = image.lastIndexOf(':');
  return at > image.lastIndexOf('/') ? image.slice(at + 1) : undefined;
}

export function isManaged(tags: Tag[] | undefined): boolean {
  return (tags ?? []).some((t) => t.key === MANAGED_BY_KEY && t.value === MANAGED_BY_VALUE);
}
