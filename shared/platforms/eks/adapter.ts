/**
 * AWS EKS: find and connect to clusters through the EKS API, then hand over to the Kubernetes module
 * (observe/plan/apply/verify are the same for AKS and GKE). The Kubernetes client trusts only the
 * cluster CA EKS reports (certificateAuthority.data) and authenticates with an aws-iam-authenticator
 * token signed by the same credentials as the EKS client (the target account's assumed role).
 * A cluster that refuses that identity gets an access entry for it (access-entry.ts) and comes back later.
 */
import { DescribeClusterCommand, EKSClient, ListClustersCommand, type Cluster } from '@aws-sdk/client-eks';
import type { AwsTarget } from '../../config/schema';
import { formatClusterRef, type ClusterRef } from '../../domain/cluster-ref';
import { ClusterNotFoundError, ClusterNotReadyError, ConfigError, SensorfleetError } from '../../runtime/errors';
import { awsClient } from '../aws/clients';
import { KubeClient } from '../kubernetes/client';
import { kubernetesOperations, type KubeHandle } from '../kubernetes/lifecycle';
import type { KubeAction, KubeObserved } from '../kubernetes/plan';
import type { ConnectedCluster, DiscoveryScope, PlatformAdapter } from '../types';
import { grantOurAccess, isIdentityRefused, type EksAccessContext } from './access-entry';
import { ClusterDeletingError, ClusterFailedError } from './errors';
import { eksBearerToken, EKS_TOKEN_EXPIRES_SECONDS } from './token';

export interface EksHandle extends KubeHandle {
  endpoint: string;
  version?: string;
  /** What granting our role access needs if the API server refuses it. */
  access: EksAccessContext;
}

export type EksAdapter = PlatformAdapter<EksHandle, KubeObserved, KubeAction>;

/** Tokens are valid for 60 s; a fresh one is signed well before that. */
const TOKEN_REUSE_MS = (EKS_TOKEN_EXPIRES_SECONDS / 2) * 1000;

export function createEksAdapter(options: { targets: AwsTarget[] }): EksAdapter {
  const targetFor = (account: string): AwsTarget => {
    const target = options.targets.find((t) => t.accountId === account);
    if (!target) throw new ConfigError(`AWS account ${account} is not a configured target (targets.aws); EKS clusters there are not managed`);
    return target;
  };
  const clientFor = (account: string, region: string): EKSClient => {
    const target = targetFor(account);
    return awsClient(EKSClient, { region, roleArn: target.roleArn, externalId: target.externalId });
  };
  const kube = kubernetesOperations<EksHandle>();

  return {
    platform: 'aws-eks',

    async discover(scope: DiscoveryScope): Promise<ClusterRef[]> {
      const eks = clientFor(scope.scope, scope.location);
      const names: string[] = [];
      let nextToken: string | undefined;
      do {
        const page = await eks.send(new ListClustersCommand({ maxResults: 100, ...(nextToken ? { nextToken } : {}) }));
        names.push(...(page.clusters ?? []));
        nextToken = page.nextToken;
      } while (nextToken);
      return names.map((name) => ({ platform: 'aws-eks', scope: scope.scope, location: scope.location, name }));
    },

    async connect(ref: ClusterRef): Promise<ConnectedCluster<EksHandle>> {
      const eks = clientFor(ref.scope, ref.location);
      const id = formatClusterRef(ref);
      let cluster: Cluster | undefined;
      try {
        cluster = (await eks.send(new DescribeClusterCommand({ name: ref.name }))).cluster;
      } catch (err) {
        if ((err as { name?: string }).name === 'ResourceNotFoundException') throw new ClusterNotFoundError(id);
        throw err;
      }
      if (!cluster) throw new ClusterNotFoundError(id);
      const status = cluster.status ?? 'UNKNOWN';
      const endpoint = cluster.endpoint;
      const caData = cluster.certificateAuthority?.data;
      if (status === 'DELETING') throw new ClusterDeletingError(id);
      if (status === 'FAILED') throw new ClusterFailedError(id, (cluster.health?.issues ?? []).map((i) => i.message).filter(Boolean).join('; '));
      // an UPDATING cluster that was ACTIVE before keeps serving its API; one that never was has no endpoint yet
      const reachable = (status === 'ACTIVE' || status === 'UPDATING') && endpoint && caData;
      if (!reachable) {
        if (status === 'CREATING' || status === 'UPDATING' || status === 'PENDING' || status === 'ACTIVE') throw new ClusterNotReadyError(id, status === 'ACTIVE' ? 'ACTIVE without an endpoint yet' : status);
        throw new SensorfleetError(`cluster ${id} is ${status}; the sensor can only be deployed on an ACTIVE cluster`);
      }
      const region = ref.location;
      let cached: { token: string; at: number } | undefined;
      const token = async (): Promise<string> => {
        if (cached && Date.now() - cached.at < TOKEN_REUSE_MS) return cached.token;
        const credentials = await eks.config.credentials();
        cached = { token: await eksBearerToken({ clusterName: ref.name, region, credentials }), at: Date.now() };
        return cached.token;
      };
      const client = new KubeClient({ server: endpoint!, caPem: Buffer.from(caData!, 'base64').toString('utf8'), token, unauthorizedHint: 'check the cluster access entry for the sensorfleet role' });
      const authenticationMode = cluster.accessConfig?.authenticationMode;
      const access: EksAccessContext = {
        cluster: id,
        clusterName: ref.name,
        clusterStatus: status,
        region,
        target: targetFor(ref.scope),
        ...(cluster.arn ? { clusterArn: cluster.arn } : {}),
        ...(authenticationMode ? { authenticationMode } : {}),
      };
      return {
        ref,
        status,
        tags: { ...(cluster.tags ?? {}) },
        handle: { kube: client, endpoint: endpoint!, access, ...(cluster.version ? { version: cluster.version } : {}) },
      };
    },

    // observe is the first call to the API server: a refusal of our identity is met there
    async observe(cluster, desired) {
      try {
        return await kube.observe(cluster, desired, formatClusterRef(cluster.ref));
      } catch (err) {
        if (!isIdentityRefused(err)) throw err;
        return grantOurAccess(clientFor(cluster.ref.scope, cluster.ref.location), cluster.handle.access);
      }
    },
    plan: (desired, observed, planOptions) => kube.plan(desired, observed, planOptions),
    apply: (cluster, plan) => kube.apply(cluster, plan),
    verify: (cluster, desired, verifyOptions) => kube.verify(cluster, desired, verifyOptions),
    release: (cluster) => kube.release(cluster),
  };
}
