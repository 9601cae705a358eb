import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../shared/config/load';
import type { ClusterRef } from '../../shared/domain/cluster-ref';
import { desiredDeploymentConfiguration } from '../../shared/platforms/ecs/plan';
import { desiredTaskDefinition, sensorVersionOf } from '../../shared/platforms/ecs/task-definition';
import { ConfigError } from '../../shared/runtime/errors';
import type { DesiredSensor } from '../../shared/platforms/types';

const ref: ClusterRef = { platform: 'aws-ecs', scope: '210987654321', location: 'us-west-2', name: 'batch' };
const secretArn = 'arn:aws:secretsmanager:us-west-2:210987654321:secret:sensorfleet/qualys-activation-Xy12Ab';

function desired(raw: Record<string, unknown> = {}): DesiredSensor {
  return { config: parseConfig(raw), podUrl: 'https://cmsqagpublic.qg2.apps.qualys.com/ContainerSensor', credentialsSecretArn: () => secretArn };
}

describe('ECS task definition', () => {
  const td = desiredTaskDefinition(ref, desired());
  const c = td.containerDefinitions![0]!;

  it('is the qualys-container-sensor family for EC2, tagged as ours', () => {
    expect(td.family).toBe('qualys-container-sensor');
    expect(td.requiresCompatibilities).toEqual(['EC2']);
    expect(td.tags).toEqual([{ key: 'app.kubernetes.io/managed-by', value: 'sensorfleet' }]);
    expect(td.executionRoleArn).toBe('arn:aws:iam::210987654321:role/sensorfleet-qualys-sensor-execution');
    expect(c).toMatchObject({ name: 'qualys-container-sensor', image: 'qualys/qcs-sensor:1.34.1-0', essential: true, cpu: 256, memory: 512 });
    expect(c.command).toEqual(['--ecs-mode', '--registry-sensor', '--enable-console-logs']);
  });

  it('passes the activation and customer ids through `secrets`, never as plain environment', () => {
    expect(c.secrets).toEqual([
      { name: 'ACTIVATIONID', valueFrom: `${secretArn}:activationId::` },
      { name: 'CUSTOMERID', valueFrom: `${secretArn}:customerId::` },
    ]);
    expect(c.environment).toEqual([{ name: 'POD_URL', value: 'https://cmsqagpublic.qg2.apps.qualys.com/ContainerSensor' }]);
    expect(c.environment!.map((e) => e.name)).not.toContain('ACTIVATIONID');
    expect(c.environment!.map((e) => e.name)).not.toContain('CUSTOMERID');
  });

  it('mounts docker.sock, the data directory and /etc/qualys as the official task definition does', () => {
    const volumes = Object.fromEntries(td.volumes!.map((v) => [v.name, v.host?.sourcePath]));
    const mounts = Object.fromEntries(c.mountPoints!.map((m) => [m.containerPath, volumes[m.sourceVolume!]]));
    expect(mounts).toEqual({
      '/usr/local/qualys/qpa/data': '/usr/local/qualys/sensor/data',
      '/var/run/docker.sock': '/var/run/docker.sock',
      '/usr/local/qualys/qpa/data/conf/agent-data': '/etc/qualys',
    });
  });

  it('logs to /ecs/<cluster>/qualys-container-sensor, creating the group', () => {
    expect(c.logConfiguration).toEqual({
      logDriver: 'awslogs',
      options: {
        'awslogs-group': '/ecs/batch/qualys-container-sensor',
        'awslogs-region': 'us-west-2',
        'awslogs-stream-prefix': 'sensor',
        'awslogs-create-group': 'true',
      },
    });
  });

  it('follows the configured image, version, args and resources', () => {
    const custom = desiredTaskDefinition(ref, desired({ sensor: { image: 'registry.example.com/qcs', version: '1.35.0-0', args: ['--cicd-deployed-sensor'], ecs: { cpu: 512, memory: 1024 } } }));
    expect(custom.containerDefinitions![0]).toMatchObject({ image: 'registry.example.com/qcs:1.35.0-0', command: ['--ecs-mode', '--cicd-deployed-sensor'], cpu: 512, memory: 1024 });
    expect([custom.cpu, custom.memory]).toEqual(['512', '1024']);
    expect(sensorVersionOf(custom as any)).toBe('1.35.0-0');
    expect(sensorVersionOf({ containerDefinitions: [{ name: 'qualys-container-sensor', image: 'registry:5000/qcs' }] })).toBeUndefined();
  });

  it('without a secret ARN it fails with a named configuration error', () => {
    expect(() => desiredTaskDefinition(ref, { ...desired(), credentialsSecretArn: undefined })).toThrow(ConfigError);
  });

  it('never plans minimumHealthyPercent 0: the config rejects it and the planner floors it at 1', () => {
    expect(desiredDeploymentConfiguration(desired())).toEqual({ maximumPercent: 100, minimumHealthyPercent: 50 });
    expect(() => parseConfig({ sensor: { ecs: { minimumHealthyPercent: 0 } } })).toThrow(ConfigError);
    const forced = desired();
    forced.config.sensor.ecs.minimumHealthyPercent = 0;
    expect(desiredDeploymentConfiguration(forced).minimumHealthyPercent).toBe(1);
  });
});
