import { DescribeTaskDefinitionCommand, ECSClient, ListTaskDefinitionsCommand } from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { parseConfig } from '../../shared/config/load';
import { parseClusterRef } from '../../shared/domain/cluster-ref';
import { resetAwsClients } from '../../shared/platforms/aws/clients';
import { createEcsAdapter } from '../../shared/platforms/ecs/adapter';
import type { DesiredSensor } from '../../shared/platforms/types';
import { startSandbox, type Sandbox } from '../sandbox/index';

/**
 * Found by the fault suite (30 %): a RegisterTaskDefinition answered 503 after it made the revision was
 * sent again by the SDK's own retry — two revisions for one cluster and version. The SDK no longer
 * retries that call; the revision is looked for before it is registered again.
 */
let sandbox: Sandbox;
let restoreEnv: () => void;

beforeAll(async () => {
  sandbox = await startSandbox({ motoUrl: inject('motoUrl'), region: 'mx-central-1' });
  restoreEnv = sandbox.useAwsEnv();
  resetAwsClients();
}, 120_000);

afterAll(async () => {
  if (sandbox) sandbox.front.faults = {};
  restoreEnv?.();
  resetAwsClients();
  await sandbox?.stop();
});

it('a RegisterTaskDefinition that fails after it committed makes one revision, not two', async () => {
  const name = `reg-${Date.now().toString(36)}`;
  const { ref } = await sandbox.fleet.createEcsCluster({ name, instances: 1 });
  const adapter = createEcsAdapter({ targets: [{ accountId: sandbox.aws.accountId, regions: [sandbox.aws.region], platforms: ['aws-ecs'] }] });
  const desired: DesiredSensor = {
    config: parseConfig({ sensor: { version: '1.34.1-0' }, targets: { aws: [{ accountId: sandbox.aws.accountId, regions: [sandbox.aws.region] }] } }),
    podUrl: 'https://cmsqagpublic.qg2.apps.qualys.com/ContainerSensor',
    credentialsSecretArn: (r) => `arn:aws:secretsmanager:${r.location}:${r.scope}:secret:sensorfleet/qualys-activation`,
  };
  sandbox.front.faults = { failAfterCommit: { service: 'ecs', operation: 'RegisterTaskDefinition', count: 1, status: 503 } };
  const connected = await adapter.connect(parseClusterRef(ref));
  await adapter.apply(connected, adapter.plan(desired, await adapter.observe(connected, desired), {}));
  sandbox.front.faults = {};
  expect(sandbox.front.count('ecs', 'RegisterTaskDefinition')).toBe(1);
  const ecs = new ECSClient({ region: sandbox.aws.region, endpoint: sandbox.aws.endpoint, credentials: sandbox.aws.credentials });
  const arns = (await ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: 'qualys-container-sensor' }))).taskDefinitionArns ?? [];
  const mine = [];
  for (const arn of arns) {
    const td = (await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn }))).taskDefinition!;
    if (td.containerDefinitions?.[0]?.logConfiguration?.options?.['awslogs-group'] === `/ecs/${name}/qualys-container-sensor`) mine.push(arn);
  }
  ecs.destroy();
  expect(mine).toHaveLength(1);
});
