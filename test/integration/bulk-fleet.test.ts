import { randomBytes } from 'node:crypto';
import { DescribeServicesCommand, ECSClient } from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseConfig } from '../../shared/config/load';
import type { SensorfleetConfig } from '../../shared/config/schema';
import { parseClusterRef } from '../../shared/domain/cluster-ref';
import { buildEngine } from '../../shared/engine/build';
import { reconcileCluster } from '../../shared/engine/reconcile';
import { runFleet } from '../../shared/engine/run-fleet';
import { resetAwsClients } from '../../shared/platforms/aws/clients';
import { CallCounter, countCalls } from '../../shared/runtime/call-log';
import { buildBulkFleet, type BulkClusterSpec, type BulkFleet } from '../sandbox/bulk-fleet';
import { startSandbox, type Sandbox } from '../sandbox/index';

/**
 * The bulk-built sandbox fleet (test/sandbox/bulk-fleet.ts) is what the product would have made: the
 * product's own planner, through its real SDK clients over HTTP, finds every copied cluster in sync and
 * every drifted one not.
 */
const REGION = 'ap-southeast-3';
const id = randomBytes(3).toString('hex');
let sandbox: Sandbox;
let restoreEnv: () => void;
let config: SensorfleetConfig;
let fleet: BulkFleet;

const specs: BulkClusterSpec[] = [
  { platform: 'aws-ecs', name: `bulk-ecs-${id}-0`, nodes: 3 },
  { platform: 'aws-eks', name: `bulk-eks-${id}-0`, nodes: 3 },
  { platform: 'aws-ecs', name: `bulk-ecs-${id}-1`, nodes: 4 },
  { platform: 'aws-eks', name: `bulk-eks-${id}-1`, nodes: 5 },
  { platform: 'aws-ecs', name: `bulk-ecs-${id}-2`, nodes: 2, drift: 'ecs-minimum-healthy-zero' },
  { platform: 'aws-eks', name: `bulk-eks-${id}-2`, nodes: 2, drift: 'eks-memory-edited' },
  { platform: 'aws-eks', name: `bulk-eks-${id}-3`, nodes: 2, drift: 'eks-daemonset-deleted' },
];
const ref = (name: string) => fleet.refs.find((r) => r.endsWith(`:${name}`))!;

beforeAll(async () => {
  sandbox = await startSandbox({ motoUrl: inject('motoUrl'), region: REGION });
  restoreEnv = sandbox.useAwsEnv();
  resetAwsClients();
  await sandbox.fleet.putActivationSecret();
  config = parseConfig({ targets: { aws: [{ accountId: sandbox.aws.accountId, regions: [REGION] }] }, rollout: { deadlineSeconds: 60, pollSeconds: 0.2, concurrency: 4 } });
  fleet = await buildBulkFleet(sandbox, config, specs, { concurrency: 4, settleTimeoutMs: 90_000 });
}, 180_000);

afterAll(async () => {
  restoreEnv?.();
  await sandbox?.stop();
});

describe('bulk-built sandbox fleet', () => {
  it('enrolls one cluster per platform through the product and copies it into the others', () => {
    expect(fleet.templates).toEqual([ref(`bulk-ecs-${id}-0`), ref(`bulk-eks-${id}-0`)]);
    expect(fleet.refs).toHaveLength(specs.length);
    expect(fleet.nodes).toBe(21);
    expect(fleet.drifted.map((d) => d.drift)).toEqual(['ecs-minimum-healthy-zero', 'eks-memory-edited', 'eks-daemonset-deleted']);
  });

  it('gives a copied EKS cluster the objects as the product applied them, and its controllers run a pod on every node', () => {
    const kube = sandbox.fleet.kubeCluster(ref(`bulk-eks-${id}-1`))!;
    const template = sandbox.fleet.kubeCluster(ref(`bulk-eks-${id}-0`))!;
    const ds = kube.get('apps/v1', 'DaemonSet', 'qualys-sensor', 'qualys-container-sensor');
    const original = template.get('apps/v1', 'DaemonSet', 'qualys-sensor', 'qualys-container-sensor');
    expect(ds.spec).toEqual(original.spec);
    expect(ds.metadata.uid).not.toBe(original.metadata.uid);
    expect(ds.metadata.managedFields.map((m: any) => `${m.manager}/${m.operation}`)).toContain('sensorfleet/Apply');
    expect(ds.status).toMatchObject({ desiredNumberScheduled: 5, numberReady: 5, numberAvailable: 5, updatedNumberScheduled: 5 });
    const pods = kube.list('v1', 'Pod', 'qualys-sensor');
    expect(pods.filter((p) => p.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'))).toHaveLength(5);
  });

  it('gives a copied ECS cluster the sensor service as the product created it, with a task on every instance', async () => {
    const ecs = new ECSClient({ endpoint: sandbox.aws.endpoint, region: REGION, credentials: sandbox.aws.credentials });
    try {
      const [copy, template] = await Promise.all(
        [`bulk-ecs-${id}-1`, `bulk-ecs-${id}-0`].map(async (cluster) => (await ecs.send(new DescribeServicesCommand({ cluster, services: ['qualys-container-sensor'], include: ['TAGS'] }))).services![0]!),
      );
      expect(copy).toMatchObject({ schedulingStrategy: 'DAEMON', desiredCount: 4, runningCount: 4, deploymentConfiguration: template!.deploymentConfiguration });
      expect(copy!.tags).toEqual(template!.tags);
      expect(copy!.taskDefinition).not.toBe(template!.taskDefinition);
    } finally {
      ecs.destroy();
    }
  });

  it('is planned in sync by the product, except the drifted clusters, each with the change it needs', async () => {
    const clusters = fleet.refs.map(parseClusterRef);
    const deps = await buildEngine(config, clusters, { store: false });
    const report = await runFleet(deps, { clusters, dryRun: true, trigger: { kind: 'reconcile-requested', source: 'test' } });
    const byRef = new Map(report.clusters.map((c) => [c.cluster, c]));
    for (const r of fleet.refs.filter((r) => !fleet.drifted.some((d) => d.ref === r))) expect(byRef.get(r), r).toMatchObject({ outcome: 'in-sync' });
    expect(byRef.get(ref(`bulk-ecs-${id}-2`))).toMatchObject({ outcome: 'planned', message: expect.stringContaining('minimumHealthyPercent want 50 have 0') });
    expect(byRef.get(ref(`bulk-eks-${id}-2`))).toMatchObject({ outcome: 'planned', message: expect.stringContaining('resources.limits.memory differs (want 1Gi, have 768Mi)') });
    expect(byRef.get(ref(`bulk-eks-${id}-3`))).toMatchObject({ outcome: 'planned', message: expect.stringMatching(/DaemonSet qualys-sensor\/qualys-container-sensor/) });
  });

  it('reconciles a copied cluster of each platform as in sync: every node covered, no write', async () => {
    for (const [name, nodes] of [[`bulk-ecs-${id}-1`, 4], [`bulk-eks-${id}-1`, 5]] as const) {
      const cluster = parseClusterRef(ref(name));
      const deps = await buildEngine(config, [cluster], { store: false });
      const counter = new CallCounter();
      const r = await countCalls(counter, () => reconcileCluster(cluster, deps, { trigger: { kind: 'reconcile-requested', source: 'test' } }));
      expect(r.outcome, `${name}: ${r.message}`).toBe('in-sync');
      expect(r.verified).toMatchObject({ total: nodes, covered: nodes });
      expect(counter.writes).toBe(0);
    }
  });
});
