import { RunInstancesCommand } from '@aws-sdk/client-ec2';
import { CreateClusterCommand as CreateEcsClusterCommand, RegisterContainerInstanceCommand } from '@aws-sdk/client-ecs';
import { CreateClusterCommand as CreateEksClusterCommand, CreateNodegroupCommand, DescribeNodegroupCommand, ListNodegroupsCommand, UpdateNodegroupConfigCommand } from '@aws-sdk/client-eks';
import { CreateSecretCommand, DescribeSecretCommand } from '@aws-sdk/client-secrets-manager';
import { formatClusterRef, parseClusterRef } from '../../shared/domain/cluster-ref';
import type { EcsSchedulerSimulator } from './aws/ecs-scheduler';
import { eksTokenAuthenticator } from './aws/eks-token';
import type { ClusterAccessOptions } from './aws/eks-access';
import type { AwsFront } from './aws/front';
import type { MotoClients } from './aws/moto-clients';
import type { ClusterOptions, FakeKubeApiServer, FakeKubeCluster, NodeSpec } from './kube';
import { sensorOfPod, type SensorEvents } from './sensor-events';

/**
 * Builders for the sandbox fleet: clusters created in moto the way AWS would have them (ECS cluster
 * with EC2 container instances; EKS cluster + managed nodegroup) and, for EKS, a virtual cluster on the
 * sandbox Kubernetes API server whose endpoint and CA the AWS front reports in DescribeCluster.
 */
export interface EcsInstanceSpec {
  cpuUnits?: number;
  memoryMiB?: number;
}

export interface Fleet {
  createEcsCluster(o: { name: string; accountId?: string; region?: string; instances: number | EcsInstanceSpec[]; tags?: Record<string, string> }): Promise<{ ref: string; arn: string }>;
  /** EC2 RunInstances + RegisterContainerInstance (instanceIdentityDocument), like an ASG launch. Returns container instance ARNs. */
  addEcsInstances(ref: string, count: number | EcsInstanceSpec[]): Promise<string[]>;
  /**
   * Without `access`, the cluster admits every identity of its account (a cluster the platform team already
   * gave sensorfleet's role access, infra/aws-member-account `eks_clusters`); with it, EKS's rule: its creator
   * (a caller ARN) if bootstrapped, and principals with an access entry and policy (test/sandbox/aws/eks-access.ts).
   */
  createEksCluster(o: { name: string; accountId?: string; region?: string; nodes: NodeSpec[]; tags?: Record<string, string>; creatingForMs?: number; access?: EksClusterAccess } & EksBulkOptions): Promise<{ ref: string; arn: string }>;
  /** Adds nodes to the virtual cluster and scales the nodegroup (UpdateNodegroupConfig) to match. */
  addEksNodes(ref: string, nodes: NodeSpec[]): Promise<void>;
  /** Secrets Manager secret `sensorfleet/qualys-activation` holding JSON {activationId, customerId}. */
  putActivationSecret(o?: { accountId?: string; region?: string }): Promise<{ arn: string }>;
  /** The virtual Kubernetes cluster behind an EKS cluster ref. */
  kubeCluster(ref: string): FakeKubeCluster | undefined;
  /** Every Kubernetes cluster of the fleet (built here or made by hand through the AWS front), in creation order. */
  kubeClusters(): { ref: string; cluster: FakeKubeCluster }[];
  /** Called for each Kubernetes cluster from now on (e.g. one made by hand gets its local endpoint); returns unsubscribe. */
  onKubeCluster(fn: (ref: string, cluster: FakeKubeCluster) => void): () => void;
}

export type EksClusterAccess = Omit<ClusterAccessOptions, 'accountWide'> & { creator: string };

/**
 * For fleets built in bulk (bulk-fleet.ts): `managedNodegroup: false` gives the cluster self-managed nodes
 * (no managed nodegroup in moto, whose CreateNodegroup costs ~200 ms of moto's one process); `watchHistoryLimit`
 * sizes the virtual cluster's watch cache (kube-apiserver keeps at least 100 events per type).
 */
export interface EksBulkOptions {
  managedNodegroup?: boolean;
  watchHistoryLimit?: number;
}

export const ACTIVATION_SECRET_ID = 'sensorfleet/qualys-activation';
/** Sandbox-only ids (not real Qualys credentials); the Qualys fake accepts them. */
export const SANDBOX_ACTIVATION = { activationId: '5f1a7c3e-2b4d-4e6f-8a9b-0c1d2e3f4a5b', customerId: '9e8d7c6b-5a49-4382-a716-f5e4d3c2b1a0' };

/** moto ships this AMI in every region (toolchain.md §3). */
const AMI = 'ami-03cf127a';
const NODEGROUP = 'default';

export interface FleetDeps {
  moto: MotoClients;
  motoUrl: string;
  front: AwsFront;
  ecs: EcsSchedulerSimulator;
  kube: FakeKubeApiServer;
  sensors: SensorEvents;
  accountId: string;
  region: string;
}

export function createFleet(d: FleetDeps): Fleet {
  const kubeByRef = new Map<string, FakeKubeCluster>();
  const nodeCount = new Map<string, number>();
  const kubeListeners = new Set<(ref: string, cluster: FakeKubeCluster) => void>();
  const building = new Set<string>();
  const bindKube = (ref: string, kube: FakeKubeCluster) => {
    kubeByRef.set(ref, kube);
    for (const fn of [...kubeListeners]) fn(ref, kube);
  };
  const eksKubeOptions = (ref: string, name: string, account: string) => ({
    authenticate: eksTokenAuthenticator({ clusterName: name, accountId: account, motoUrl: d.motoUrl, ledger: d.front.ledger, authorize: (arn) => d.front.eksAccess.admits(account, parseClusterRef(ref).location, name, arn) }),
    onPodReady: (pod: any, node: NodeSpec) => d.sensors.emit('started', sensorOfPod('aws-eks', ref, pod, node)),
    onPodGone: (pod: any, node: NodeSpec) => d.sensors.emit('stopped', sensorOfPod('aws-eks', ref, pod, node)),
  });
  d.front.bindUnknownEksCluster = handMadeEksBinder(d, { building, kubeByRef, bindKube, eksKubeOptions });

  const addEcsInstances = async (ref: string, count: number | EcsInstanceSpec[]): Promise<string[]> => {
    const r = parseClusterRef(ref);
    const specs: EcsInstanceSpec[] = typeof count === 'number' ? Array.from({ length: count }, () => ({})) : count;
    if (specs.length === 0) return [];
    const run = await d.moto.ec2(r.scope, r.location).send(new RunInstancesCommand({ ImageId: AMI, InstanceType: 'm5.large', MinCount: specs.length, MaxCount: specs.length }));
    const arns: string[] = [];
    for (const [i, inst] of (run.Instances ?? []).entries()) {
      const spec = specs[i] ?? {};
      // the ECS agent registers with the instance identity document (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RegisterContainerInstance.html)
      const doc = JSON.stringify({ instanceId: inst.InstanceId, region: r.location, accountId: r.scope, instanceType: inst.InstanceType, privateIp: inst.PrivateIpAddress });
      const out = await d.moto.ecs(r.scope, r.location).send(
        new RegisterContainerInstanceCommand({
          cluster: r.name,
          instanceIdentityDocument: doc,
          totalResources: [
            { name: 'CPU', type: 'INTEGER', integerValue: spec.cpuUnits ?? 4096 },
            { name: 'MEMORY', type: 'INTEGER', integerValue: spec.memoryMiB ?? 7482 },
          ],
        }),
      );
      const arn = out.containerInstance!.containerInstanceArn!;
      if (spec.cpuUnits !== undefined || spec.memoryMiB !== undefined) d.ecs.setInstanceCapacity(arn, spec);
      arns.push(arn);
    }
    d.ecs.touch({ account: r.scope, region: r.location, cluster: r.name });
    return arns;
  };

  return {
    async createEcsCluster(o) {
      const account = o.accountId ?? d.accountId;
      const region = o.region ?? d.region;
      const out = await d.moto.ecs(account, region).send(
        new CreateEcsClusterCommand({ clusterName: o.name, tags: Object.entries(o.tags ?? {}).map(([key, value]) => ({ key, value })) }),
      );
      const ref = formatClusterRef({ platform: 'aws-ecs', scope: account, location: region, name: o.name });
      await addEcsInstances(ref, o.instances);
      return { ref, arn: out.cluster!.clusterArn! };
    },

    addEcsInstances,

    async createEksCluster(o) {
      const account = o.accountId ?? d.accountId;
      const region = o.region ?? d.region;
      const eks = d.moto.eks(account, region);
      const ref = formatClusterRef({ platform: 'aws-eks', scope: account, location: region, name: o.name });
      if (o.creatingForMs) d.front.setEksStatus(account, region, o.name, 'CREATING');
      d.front.eksAccess.register(account, region, o.name, o.access ?? { accountWide: true });
      building.add(ref);
      const out = await eks.send(
        new CreateEksClusterCommand({
          name: o.name,
          version: '1.32',
          roleArn: `arn:aws:iam::${account}:role/eks-cluster`,
          resourcesVpcConfig: { subnetIds: ['subnet-0a1b2c3d', 'subnet-4e5f6a7b'] },
          ...(o.tags ? { tags: o.tags } : {}),
        }),
      );
      if (o.managedNodegroup !== false) await eks.send(
        new CreateNodegroupCommand({
          clusterName: o.name,
          nodegroupName: NODEGROUP,
          nodeRole: `arn:aws:iam::${account}:role/eks-node`,
          subnets: ['subnet-0a1b2c3d', 'subnet-4e5f6a7b'],
          scalingConfig: { minSize: 0, maxSize: Math.max(10, o.nodes.length * 2), desiredSize: o.nodes.length },
        }),
      );
      const kube = d.kube.addCluster(kubeClusterId(ref), { nodes: o.nodes, ...eksKubeOptions(ref, o.name, account), ...(o.watchHistoryLimit ? { watch: { historyLimit: o.watchHistoryLimit } } : {}) });
      d.front.registerEksCluster(account, region, o.name, { endpoint: kube.endpoint, caPem: d.kube.caPem });
      building.delete(ref);
      bindKube(ref, kube);
      // the CREATING phase is counted from the moment the cluster exists
      if (o.creatingForMs) d.front.setEksStatus(account, region, o.name, 'CREATING', Date.now() + o.creatingForMs);
      nodeCount.set(ref, o.nodes.length);
      return { ref, arn: out.cluster!.arn! };
    },

    async addEksNodes(ref, nodes) {
      const kube = kubeByRef.get(ref);
      if (!kube) throw new Error(`no sandbox EKS cluster ${ref}`);
      const r = parseClusterRef(ref);
      for (const n of nodes) kube.addNode(n);
      const total = (nodeCount.get(ref) ?? 0) + nodes.length;
      nodeCount.set(ref, total);
      await d.moto.eks(r.scope, r.location).send(
        new UpdateNodegroupConfigCommand({ clusterName: r.name, nodegroupName: NODEGROUP, scalingConfig: { minSize: 0, maxSize: Math.max(10, total * 2), desiredSize: total } }),
      );
    },

    async putActivationSecret(o = {}) {
      const sm = d.moto.secrets(o.accountId ?? d.accountId, o.region ?? d.region);
      try {
        const out = await sm.send(new CreateSecretCommand({ Name: ACTIVATION_SECRET_ID, SecretString: JSON.stringify(SANDBOX_ACTIVATION) }));
        return { arn: out.ARN! };
      } catch (err) {
        // sandboxes share one moto: the first one created it
        if ((err as { name?: string }).name !== 'ResourceExistsException') throw err;
        return { arn: (await sm.send(new DescribeSecretCommand({ SecretId: ACTIVATION_SECRET_ID }))).ARN! };
      }
    },

    kubeCluster: (ref) => kubeByRef.get(ref),
    kubeClusters: () => [...kubeByRef].map(([ref, cluster]) => ({ ref, cluster })),
    onKubeCluster(fn) {
      kubeListeners.add(fn);
      return () => kubeListeners.delete(fn);
    },
  };
}

/**
 * EKS clusters made by hand through the front (`aws eks create-cluster` against AWS_ENDPOINT_URL): the first
 * DescribeCluster gives each a virtual cluster on the sandbox API server (what kubectl and sensorfleet then
 * reach), and every DescribeCluster keeps its nodes in step with the nodegroups' desiredSize, as EKS managed
 * nodegroups would (a cluster without nodegroups has no nodes).
 */
function handMadeEksBinder(
  d: FleetDeps,
  f: {
    building: Set<string>;
    kubeByRef: Map<string, FakeKubeCluster>;
    bindKube: (ref: string, kube: FakeKubeCluster) => void;
    eksKubeOptions: (ref: string, name: string, account: string) => Omit<ClusterOptions, 'nodes'>;
  },
): NonNullable<AwsFront['bindUnknownEksCluster']> {
  const queue = new Map<string, Promise<unknown>>();
  return (account, region, name) => {
    const ref = formatClusterRef({ platform: 'aws-eks', scope: account, location: region, name });
    if (f.building.has(ref)) return Promise.resolve(undefined);
    // one at a time per cluster: two first DescribeClusters must not both create it
    const run = (queue.get(ref) ?? Promise.resolve()).catch(() => undefined).then(async () => {
      const nodes = await nodegroupNodes(d.moto, account, region, name);
      let kube = f.kubeByRef.get(ref);
      if (!kube) {
        kube = d.kube.addCluster(kubeClusterId(ref), { nodes, ...f.eksKubeOptions(ref, name, account) });
        f.bindKube(ref, kube);
      } else {
        const want = new Set(nodes.map((n) => n.name));
        const have = new Set(kube.list('v1', 'Node').map((n) => n.metadata.name as string));
        for (const n of nodes) if (!have.has(n.name)) kube.addNode(n);
        for (const n of have) if (!want.has(n)) kube.removeNode(n);
      }
      return { endpoint: kube.endpoint, caPem: d.kube.caPem };
    });
    queue.set(ref, run);
    return run;
  };
}

/** One node per desired instance of each nodegroup, named like EC2 private DNS names. */
async function nodegroupNodes(moto: MotoClients, account: string, region: string, cluster: string): Promise<NodeSpec[]> {
  const eks = moto.eks(account, region);
  const names = ((await eks.send(new ListNodegroupsCommand({ clusterName: cluster }))).nodegroups ?? []).sort();
  const nodes: NodeSpec[] = [];
  for (const [g, nodegroup] of names.entries()) {
    const ng = (await eks.send(new DescribeNodegroupCommand({ clusterName: cluster, nodegroupName: nodegroup }))).nodegroup;
    const desired = ng?.scalingConfig?.desiredSize ?? 0;
    for (let i = 0; i < desired; i++) {
      const name = `ip-10-0-${g + 1}-${i + 10}.${region === 'us-east-1' ? 'ec2.internal' : `${region}.compute.internal`}`;
      nodes.push({ name, labels: { 'eks.amazonaws.com/nodegroup': nodegroup } });
    }
  }
  return nodes;
}

/** Virtual cluster ids are [a-z0-9-]+ and unique per account, region and name. */
export function kubeClusterId(ref: string): string {
  const r = parseClusterRef(ref);
  return `eks-${r.scope}-${r.location}-${r.name}`.toLowerCase().replace(/[^a-z0-9-]+/g, '-');
}
