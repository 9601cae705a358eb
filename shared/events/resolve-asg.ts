import { AutoScalingClient, DescribeAutoScalingGroupsCommand, type TagDescription } from '@aws-sdk/client-auto-scaling';
import type { ClusterEvent } from '../domain/cluster-event';
import type { ClusterRef } from '../domain/cluster-ref';
import { awsClient, type AwsAccess } from '../platforms/aws/clients';
import { clusterEvent } from './types';
import type { PendingAsgLaunch } from './types';

/**
 * Which cluster an Auto Scaling group feeds, from the group's tags (DescribeAutoScalingGroups):
 * - `eks:cluster-name` = <name>: set by EKS on managed node groups' groups;
 * - `kubernetes.io/cluster/<name>` = `owned`: the convention for self-managed EKS nodes (eksctl,
 *   the EKS AMI docs, cluster-autoscaler);
 * - ECS: ECS only marks the groups of its capacity providers with `AmazonECSManaged`, without the
 *   cluster name, so the group must also carry `ecsClusterTagKey` (default `sensorfleet:ecs-cluster`)
 *   = <cluster name>. ECS instances also announce themselves with `ECS Container Instance State
 *   Change`, which names the cluster, so this is a second path, not the only one.
 */
export const DEFAULT_ECS_CLUSTER_TAG = 'sensorfleet:ecs-cluster';

export interface ResolveAsgOptions {
  access?: Omit<AwsAccess, 'region'>;
  ecsClusterTagKey?: string;
}

export type AsgResolution = { ok: true; event: ClusterEvent } | { ok: false; reason: string };

export async function resolveAsgLaunch(p: PendingAsgLaunch, opts: ResolveAsgOptions = {}): Promise<AsgResolution> {
  const client = awsClient(AutoScalingClient, { region: p.region, ...(opts.access ?? {}) });
  const out = await client.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [p.asgName] }));
  const group = out.AutoScalingGroups?.[0];
  if (!group) return { ok: false, reason: `Auto Scaling group ${p.asgName} not found in ${p.account}/${p.region}` };
  const cluster = clusterFromTags(group.Tags ?? [], p, opts.ecsClusterTagKey ?? DEFAULT_ECS_CLUSTER_TAG);
  if (!cluster) return { ok: false, reason: `Auto Scaling group ${p.asgName} carries no cluster tag (eks:cluster-name, kubernetes.io/cluster/<name>=owned, AmazonECSManaged+${opts.ecsClusterTagKey ?? DEFAULT_ECS_CLUSTER_TAG})` };
  return {
    ok: true,
    event: clusterEvent(p.id, {
      id: p.id,
      time: p.time,
      kind: 'nodes-changed',
      cluster,
      source: p.source,
      detail: { asgName: p.asgName, instanceId: p.instanceId },
    }),
  };
}

/** Pure: the cluster named by a group's tags, or undefined. */
export function clusterFromTags(tags: TagDescription[], where: { account: string; region: string }, ecsClusterTagKey = DEFAULT_ECS_CLUSTER_TAG): ClusterRef | undefined {
  const byKey = new Map(tags.filter((t) => t.Key).map((t) => [t.Key!, t.Value ?? '']));
  const at = { scope: where.account, location: where.region };
  const eksName = byKey.get('eks:cluster-name');
  if (eksName) return { platform: 'aws-eks', ...at, name: eksName };
  for (const [key, value] of byKey) {
    const m = /^kubernetes\.io\/cluster\/(.+)$/.exec(key);
    if (m && value === 'owned') return { platform: 'aws-eks', ...at, name: m[1]! };
  }
  const ecsName = byKey.get(ecsClusterTagKey);
  if (byKey.has('AmazonECSManaged') && ecsName) return { platform: 'aws-ecs', ...at, name: ecsName };
  return undefined;
}
