import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateServiceCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
  type RegisterTaskDefinitionCommandInput,
  type Service,
  type TaskDefinition,
} from '@aws-sdk/client-ecs';
import pLimit from 'p-limit';
import type { SensorfleetConfig } from '../../shared/config/schema';
import { formatClusterRef, parseClusterRef } from '../../shared/domain/cluster-ref';
import { buildEngine } from '../../shared/engine/build';
import { runFleet } from '../../shared/engine/run-fleet';
import type { EcsClusterKey } from './aws/ecs-observe';
import { MotoClients } from './aws/moto-clients';
import type { Sandbox } from './index';
import type { FakeKubeCluster, NodeSpec } from './kube';
import { controllerWrite } from './kube/registry';
import { RESOURCE_TYPES, type ResourceType } from './kube/resources';
import type { StoredObject } from './kube/store';

/**
 * A large sandbox fleet built in bulk (the nightly-plan bench, test/integration/bulk-fleet.test.ts).
 * Enrolling thousands of clusters through the product one by one takes longer than the bench may run, so
 * one cluster per platform and region is enrolled through the product (runFleet, real SDK clients, the sandbox over
 * HTTP) and every other cluster gets a copy of what that enrollment wrote:
 * - EKS: the cluster in moto (self-managed nodes: no managed nodegroup) and a virtual cluster with its nodes
 *   (the fleet builder's createEksCluster), then each object the product applied copied into the virtual cluster's store with its
 *   managedFields (fieldManager sensorfleet), so the planner sees it as ours and in sync; the sandbox's
 *   DaemonSet controller and kubelets then run the sensor pods as they would after an apply;
 * - ECS: the cluster and its container instances in moto, then the task definition the product registered
 *   (with this cluster's log group) and the DAEMON service it created, with the AWS front's bookkeeping for
 *   them (deploymentConfiguration, which moto drops); the ECS scheduler then places the sensor tasks.
 * (An ECS task definition names its region's secret, hence a template per region.)
 * Drifted clusters are changed afterwards the way people change them (see BulkDrift).
 */
export type BulkPlatform = 'aws-ecs' | 'aws-eks';

/**
 * - `ecs-minimum-healthy-zero`: UpdateService sets the sensor service's minimumHealthyPercent to 0;
 * - `eks-memory-edited`: a `kubectl edit` (fieldManager kubectl-edit) changes the sensor's memory limit;
 * - `eks-daemonset-deleted`: the sensor DaemonSet was deleted by hand (its pods go with it).
 */
export type BulkDrift = 'ecs-minimum-healthy-zero' | 'eks-memory-edited' | 'eks-daemonset-deleted';

export interface BulkClusterSpec {
  platform: BulkPlatform;
  name: string;
  /** Default: the sandbox's region. */
  region?: string;
  nodes: number;
  drift?: BulkDrift;
}

export interface BulkFleet {
  /** Every cluster, in the order of the specs. */
  refs: string[];
  /** The clusters enrolled through the product (one per platform and region); the others copy them. */
  templates: string[];
  drifted: { ref: string; drift: BulkDrift }[];
  nodes: number;
  /** Seconds per phase: enroll (the templates), create (the other clusters, with their copies), drift, settle. */
  seconds: Record<'enroll' | 'create' | 'drift' | 'settle' | 'total', number>;
}

export interface BulkFleetOptions {
  /** Clusters created and copied at once (the sandbox's moto is one Python process). Default 8. */
  concurrency?: number;
  /** Longest wait for the ECS scheduler and the virtual clusters to settle. Default 10 minutes. */
  settleTimeoutMs?: number;
  onProgress?: (line: string) => void;
}

/**
 * Environment for a moto_server that holds a bulk fleet (startSandbox's motoEnv). moto's RunInstances looks
 * its AMI up by filtering every AMI the region knows (~1,000 by default, loaded per region on first use):
 * MOTO_AMIS_PATH replaces them with the one AMI the fleet builder launches (fleet.ts), which makes
 * RunInstances ~40 % cheaper and a region's first EC2 call fast. Nothing in sensorfleet reads AMIs.
 */
export function bulkMotoEnv(): Record<string, string> {
  const file = join(mkdtempSync(join(tmpdir(), 'sensorfleet-amis-')), 'amis.json');
  writeFileSync(file, JSON.stringify([FLEET_AMI]));
  return { MOTO_AMIS_PATH: file };
}

/** moto's own record of the AMI fleet.ts launches (moto/ec2/resources/amis.json). */
const FLEET_AMI = {
  ami_id: 'ami-03cf127a',
  state: 'available',
  public: true,
  owner_id: '801119661308',
  image_location: 'amazon/getting-started',
  sriov: 'simple',
  root_device_type: 'ebs',
  root_device_name: '/dev/sda1',
  description: 'Microsoft Windows Server 2016 Nano Locale English AMI provided by Amazon',
  image_type: 'machine',
  platform: 'windows',
  architecture: 'x86_64',
  name: 'Windows_Server-2016-English-Nano-Base-2017.10.13',
  virtualization_type: 'hvm',
  hypervisor: 'xen',
};

const SENSOR_SERVICE = 'qualys-container-sensor';
const SENSOR_NAMESPACE = 'qualys-sensor';
const SENSOR_DAEMONSET = 'qualys-container-sensor';
const PRODUCT_FIELD_MANAGER = 'sensorfleet';

export async function buildBulkFleet(sandbox: Sandbox, config: SensorfleetConfig, specs: BulkClusterSpec[], options: BulkFleetOptions = {}): Promise<BulkFleet> {
  const log = options.onProgress ?? (() => {});
  const limit = pLimit(options.concurrency ?? 8);
  const seconds = { enroll: 0, create: 0, drift: 0, settle: 0, total: 0 };
  const t0 = performance.now();
  let mark = t0;
  const lap = (phase: keyof typeof seconds) => {
    const now = performance.now();
    seconds[phase] = round((now - mark) / 1000);
    mark = now;
  };
  const account = sandbox.aws.accountId;
  const regionOf = (s: BulkClusterSpec) => s.region ?? sandbox.aws.region;
  const refOf = (s: BulkClusterSpec) => formatClusterRef({ platform: s.platform, scope: account, location: regionOf(s), name: s.name });
  const regions = [...new Set(specs.map(regionOf))];
  for (const region of regions) await sandbox.fleet.putActivationSecret({ region });
  // the templates as any cluster is made; the copies with self-managed nodes and a watch cache of kube-apiserver's minimum size
  const create = (s: BulkClusterSpec, bulk: boolean) =>
    s.platform === 'aws-ecs'
      ? sandbox.fleet.createEcsCluster({ name: s.name, region: regionOf(s), instances: s.nodes })
      : sandbox.fleet.createEksCluster({ name: s.name, region: regionOf(s), nodes: eksNodes(s.name, s.nodes, regionOf(s)), ...(bulk ? { managedNodegroup: false, watchHistoryLimit: 100 } : {}) });

  // 1. one cluster per platform and region enrolled through the product (an ECS task definition names the region's secret and log region)
  const templateSpecs = regions.flatMap((r) => (['aws-ecs', 'aws-eks'] as const).map((p) => specs.find((s) => s.platform === p && regionOf(s) === r && !s.drift))).filter((s): s is BulkClusterSpec => !!s);
  const templateOf = (s: BulkClusterSpec) => templateSpecs.find((t) => t.platform === s.platform && regionOf(t) === regionOf(s));
  await Promise.all(templateSpecs.map((s) => limit(() => create(s, false))));
  const templates = templateSpecs.map(refOf);
  const clusters = templates.map(parseClusterRef);
  const deps = await buildEngine(config, clusters, { store: false });
  const enrolled = await runFleet(deps, { clusters, forceRun: true, trigger: { kind: 'reconcile-requested', source: 'bulk-fleet' } });
  const notConverged = enrolled.clusters.filter((c) => c.outcome !== 'converged');
  if (notConverged.length) throw new Error(`bulk fleet: enrolling the template clusters failed: ${notConverged.map((c) => `${c.cluster} ${c.outcome}: ${c.message}`).join('; ')}`);
  lap('enroll');
  log(`enrolled ${templates.length} template clusters through the product in ${seconds.enroll} s`);

  const moto = new MotoClients(sandbox.motoUrl);
  const ecsClients = new Map(regions.map((r) => [r, new ECSClient({ endpoint: sandbox.aws.endpoint, region: r, credentials: sandbox.aws.credentials, maxAttempts: 5 })]));
  const ecsOf = (s: BulkClusterSpec) => ecsClients.get(regionOf(s))!;
  try {
    const ecsCopies = new Map<BulkClusterSpec, EcsEnrollment>();
    const eksCopies = new Map<BulkClusterSpec, CopiedObject[]>();
    for (const t of templateSpecs) {
      if (t.platform === 'aws-ecs') ecsCopies.set(t, await readEcsEnrollment(ecsOf(t), t.name));
      else eksCopies.set(t, productObjects(sandbox.fleet.kubeCluster(refOf(t))!));
    }

    // 2. the other clusters, created as the fleet builder creates them, each given a copy of what the product's enrollment wrote
    const rest = specs.filter((s) => !templateSpecs.includes(s));
    const missing = rest.find((s) => !templateOf(s));
    if (missing) throw new Error(`bulk fleet: ${missing.platform} cluster ${missing.name} (drifted) has no undrifted cluster of its platform in ${regionOf(missing)} to copy`);
    let done = 0;
    await Promise.all(
      rest.map((s) =>
        limit(async () => {
          await create(s, true);
          if (s.platform === 'aws-ecs') await copyEcsEnrollment(sandbox, moto.ecs(account, regionOf(s)), ecsCopies.get(templateOf(s)!)!, { account, region: regionOf(s), cluster: s.name });
          else copyObjects(sandbox.fleet.kubeCluster(refOf(s))!, eksCopies.get(templateOf(s)!)!);
          if (++done % 100 === 0) log(`created and copied ${done}/${rest.length} clusters`);
        }),
      ),
    );
    lap('create');
    log(`created ${rest.length} clusters and copied the enrollment into them in ${seconds.create} s`);

    // 4. drift, as people make it
    const drifted = specs.filter((s) => s.drift).map((s) => ({ ref: refOf(s), drift: s.drift!, ecs: ecsOf(s) }));
    for (const d of drifted) await makeDrift(sandbox, d.ecs, d.ref, d.drift);
    lap('drift');

    // 5. the ECS scheduler places the sensor tasks, the DaemonSet controllers and kubelets run the pods
    const timeout = options.settleTimeoutMs ?? 10 * 60_000;
    await settleKube(sandbox, specs.filter((s) => s.platform === 'aws-eks').map(refOf), timeout, log);
    await sandbox.ecs.settle(timeout);
    lap('settle');
    seconds.total = round((performance.now() - t0) / 1000);
    log(`settled in ${seconds.settle} s; fleet ready in ${seconds.total} s`);
    return { refs: specs.map(refOf), templates, drifted: drifted.map(({ ref, drift }) => ({ ref, drift })), nodes: specs.reduce((n, s) => n + s.nodes, 0), seconds };
  } finally {
    for (const c of ecsClients.values()) c.destroy();
    moto.destroy();
  }
}

/** Nodes named as EC2 private DNS names in the cluster's nodegroup (unique across the fleet). */
function eksNodes(cluster: string, n: number, region: string): NodeSpec[] {
  const domain = region === 'us-east-1' ? 'ec2.internal' : `${region}.compute.internal`;
  return Array.from({ length: n }, (_, k) => ({ name: `ip-10-${cluster.replace(/[^a-z0-9]/g, '')}-${k}.${domain}`, labels: { 'eks.amazonaws.com/nodegroup': 'default' } }));
}

// ---- ECS ----------------------------------------------------------------------------------------------

interface EcsEnrollment {
  cluster: string;
  taskDefinition: TaskDefinition;
  taskDefinitionTags: { key?: string; value?: string }[];
  service: Service;
}

async function readEcsEnrollment(ecs: ECSClient, cluster: string): Promise<EcsEnrollment> {
  const service = (await ecs.send(new DescribeServicesCommand({ cluster, services: [SENSOR_SERVICE], include: ['TAGS'] }))).services?.[0];
  if (!service?.taskDefinition) throw new Error(`bulk fleet: the template ECS cluster ${cluster} has no sensor service`);
  const td = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: service.taskDefinition, include: ['TAGS'] }));
  return { cluster, taskDefinition: td.taskDefinition!, taskDefinitionTags: td.tags ?? [], service };
}

/** The template's task definition as a registration for `cluster` (what differs per cluster is its log group). */
function registrationFor(e: EcsEnrollment, cluster: string): RegisterTaskDefinitionCommandInput {
  const td = e.taskDefinition;
  const input: RegisterTaskDefinitionCommandInput = {
    family: td.family!,
    containerDefinitions: JSON.parse(JSON.stringify(td.containerDefinitions ?? []).replaceAll(`/ecs/${e.cluster}/`, `/ecs/${cluster}/`)),
    ...(td.taskRoleArn ? { taskRoleArn: td.taskRoleArn } : {}),
    ...(td.executionRoleArn ? { executionRoleArn: td.executionRoleArn } : {}),
    ...(td.networkMode ? { networkMode: td.networkMode } : {}),
    ...(td.volumes ? { volumes: td.volumes } : {}),
    ...(td.placementConstraints?.length ? { placementConstraints: td.placementConstraints } : {}),
    ...(td.requiresCompatibilities ? { requiresCompatibilities: td.requiresCompatibilities } : {}),
    ...(td.cpu ? { cpu: td.cpu } : {}),
    ...(td.memory ? { memory: td.memory } : {}),
    ...(td.pidMode ? { pidMode: td.pidMode } : {}),
    ...(td.ipcMode ? { ipcMode: td.ipcMode } : {}),
    ...(td.runtimePlatform ? { runtimePlatform: td.runtimePlatform } : {}),
    ...(e.taskDefinitionTags.length ? { tags: e.taskDefinitionTags } : {}),
  };
  return input;
}

/**
 * Registers the task definition and creates the service in moto, and tells the ECS scheduler what the AWS
 * front would have (moto drops deploymentConfiguration; the service's cluster changed): the front's own
 * bookkeeping for these calls, without its DescribeServices-shaped reply, which costs moto a cluster read.
 */
async function copyEcsEnrollment(sandbox: Sandbox, ecs: ECSClient, e: EcsEnrollment, key: EcsClusterKey): Promise<void> {
  const cluster = key.cluster;
  const td = await ecs.send(new RegisterTaskDefinitionCommand(registrationFor(e, cluster)));
  const s = e.service;
  const deploymentConfiguration = s.deploymentConfiguration ? { maximumPercent: s.deploymentConfiguration.maximumPercent, minimumHealthyPercent: s.deploymentConfiguration.minimumHealthyPercent } : undefined;
  sandbox.ecs.recordDeploymentConfiguration(key, SENSOR_SERVICE, deploymentConfiguration);
  await ecs.send(
    new CreateServiceCommand({
      cluster,
      serviceName: SENSOR_SERVICE,
      taskDefinition: td.taskDefinition!.taskDefinitionArn!,
      schedulingStrategy: s.schedulingStrategy,
      launchType: s.launchType,
      ...(deploymentConfiguration ? { deploymentConfiguration } : {}),
      ...(s.tags?.length ? { tags: s.tags } : {}),
      ...(s.propagateTags ? { propagateTags: s.propagateTags } : {}),
    }),
  );
  sandbox.ecs.touch(key);
}

// ---- EKS ----------------------------------------------------------------------------------------------

interface CopiedObject {
  type: ResourceType;
  rec: StoredObject;
}

/** Every object the product applied (it has a managedFields entry of fieldManager sensorfleet), namespaces first. */
function productObjects(cluster: FakeKubeCluster): CopiedObject[] {
  const out: CopiedObject[] = [];
  for (const type of RESOURCE_TYPES) {
    for (const rec of cluster.store.list(type)) if (rec.managers.some((m) => m.manager === PRODUCT_FIELD_MANAGER)) out.push({ type, rec });
  }
  if (!out.some((o) => o.type.kind === 'DaemonSet')) throw new Error(`bulk fleet: the template EKS cluster ${cluster.id} has no sensor DaemonSet`);
  return out.sort((a, b) => Number(b.type.kind === 'Namespace') - Number(a.type.kind === 'Namespace'));
}

/**
 * Stores a copy of each object in `target` as the API server stores a create: a new uid, the target's next
 * resourceVersion, the same managedFields. Status written by the template's controllers is left out (the
 * target's own controllers write theirs).
 */
function copyObjects(target: FakeKubeCluster, objects: CopiedObject[]): void {
  for (const { type, rec } of objects) {
    const obj = structuredClone(rec.obj);
    obj.metadata.uid = randomUUID();
    delete obj.metadata.resourceVersion;
    if (type.kind === 'DaemonSet') delete obj.status;
    const managers = structuredClone(rec.managers.filter((m) => m.subresource !== 'status'));
    controllerWrite(target.store, type, { obj, managers });
  }
}

async function settleKube(sandbox: Sandbox, refs: string[], timeoutMs: number, log: (line: string) => void): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let done = 0;
  const limit = pLimit(50);
  await Promise.all(
    refs.map((ref) =>
      limit(async () => {
        await sandbox.fleet.kubeCluster(ref)!.settle(Math.max(1000, deadline - Date.now()));
        if (++done % 200 === 0) log(`settled ${done}/${refs.length} virtual clusters`);
      }),
    ),
  );
}

// ---- drift --------------------------------------------------------------------------------------------

async function makeDrift(sandbox: Sandbox, ecs: ECSClient, ref: string, drift: BulkDrift): Promise<void> {
  const r = parseClusterRef(ref);
  switch (drift) {
    case 'ecs-minimum-healthy-zero':
      await ecs.send(new UpdateServiceCommand({ cluster: r.name, service: SENSOR_SERVICE, deploymentConfiguration: { maximumPercent: 100, minimumHealthyPercent: 0 } }));
      return;
    case 'eks-memory-edited': {
      const kube = sandbox.fleet.kubeCluster(ref)!;
      const ds = RESOURCE_TYPES.find((t) => t.kind === 'DaemonSet')!;
      const patch = { spec: { template: { spec: { containers: [{ name: SENSOR_DAEMONSET, resources: { limits: { memory: '768Mi' } } }] } } } };
      kube.registry.patch(ds, SENSOR_NAMESPACE, SENSOR_DAEMONSET, 'application/strategic-merge-patch+json', JSON.stringify(patch), { fieldManager: 'kubectl-edit' });
      return;
    }
    case 'eks-daemonset-deleted': {
      const kube = sandbox.fleet.kubeCluster(ref)!;
      const ds = RESOURCE_TYPES.find((t) => t.kind === 'DaemonSet')!;
      kube.registry.delete(ds, SENSOR_NAMESPACE, SENSOR_DAEMONSET, {});
      return;
    }
  }
}

const round = (x: number) => Math.round(x * 100) / 100;
