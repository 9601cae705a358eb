import * as z from 'zod';
import { clusterNameFromArn, parseArn } from './arn';
import { normalizeCloudTrailRecord } from './cloudtrail';
import { MalformedEventError } from './errors';
import { clusterEvent, isoTime, NOTHING, oneLine, only, str, type Normalized, type NormalizeOptions } from './types';

/**
 * EventBridge envelopes (https://docs.aws.amazon.com/eventbridge/latest/ref/overiew-event-structure.html):
 * - `AWS API Call via CloudTrail` from aws.ecs / aws.eks: the CloudTrail record is `detail`;
 * - `ECS Container Instance State Change` from aws.ecs (ecs_cwe_events): the cluster is `detail.clusterArn`;
 * - `EC2 Instance Launch Successful` from aws.autoscaling: names a group, resolved later (resolve-asg.ts).
 * Anything else (S3 calls, Scheduled Event, ...) is not a cluster event.
 */
const envelopeSchema = z.object({
  id: z.string().min(1),
  'detail-type': z.string().min(1),
  source: z.string().min(1),
  // always present in real deliveries; moto's SQS target drops `account`, so the record's own
  // account (ARN, recipientAccountId) is used when it is missing
  account: z.string().min(1).optional(),
  region: z.string().min(1),
  time: z.string().optional(),
  resources: z.array(z.string()).optional(),
  detail: z.record(z.string(), z.unknown()),
});

export function looksLikeEventBridge(v: Record<string, unknown>): boolean {
  return 'detail-type' in v && 'source' in v;
}

export function normalizeEventBridge(raw: Record<string, unknown>, opts: NormalizeOptions): Normalized {
  const recordId = str(raw.id) ?? 'unknown';
  const parsed = envelopeSchema.safeParse(raw);
  if (!parsed.success) throw new MalformedEventError(`EventBridge event: ${oneLine(parsed.error.issues)}`, recordId);
  const e = parsed.data;
  const type = e['detail-type'];

  if (type === 'AWS API Call via CloudTrail') {
    if (e.source !== 'aws.ecs' && e.source !== 'aws.eks') return NOTHING;
    return normalizeCloudTrailRecord(e.detail, opts, { id: e.id, region: e.region, ...(e.account ? { account: e.account } : {}), ...(e.time ? { time: e.time } : {}) });
  }
  if (type === 'ECS Container Instance State Change' && e.source === 'aws.ecs') return containerInstanceChange(e, opts);
  if (type === 'EC2 Instance Launch Successful' && e.source === 'aws.autoscaling') return asgLaunch(e, opts);
  return NOTHING;
}

type Envelope = z.infer<typeof envelopeSchema>;

function containerInstanceChange(e: Envelope, opts: NormalizeOptions): Normalized {
  const d = e.detail;
  const name = clusterNameFromArn(d.clusterArn);
  if (!name) throw new MalformedEventError('ECS Container Instance State Change: detail.clusterArn missing or not a cluster ARN', e.id);
  const arn = parseArn(d.clusterArn)!;
  return only(
    clusterEvent(e.id, {
      id: `aws-eventbridge:${e.id}`,
      time: isoTime([e.time, d.updatedAt], opts),
      kind: 'nodes-changed',
      cluster: { platform: 'aws-ecs', scope: arn.account || e.account || '', location: arn.region || e.region, name },
      source: 'ecs.ContainerInstanceStateChange',
      detail: {
        containerInstanceArn: str(d.containerInstanceArn),
        ec2InstanceId: str(d.ec2InstanceId),
        status: str(d.status),
        agentConnected: typeof d.agentConnected === 'boolean' ? d.agentConnected : undefined,
      },
    }),
  );
}

function asgLaunch(e: Envelope, opts: NormalizeOptions): Normalized {
  const asgName = str(e.detail.AutoScalingGroupName);
  const instanceId = str(e.detail.EC2InstanceId);
  if (!asgName || !instanceId) throw new MalformedEventError('EC2 Instance Launch Successful: detail.AutoScalingGroupName or detail.EC2InstanceId missing', e.id);
  const account = e.account ?? (e.resources ?? []).map((r) => parseArn(r)?.account).find(Boolean);
  if (!account) throw new MalformedEventError('EC2 Instance Launch Successful: no account in the envelope or its resources', e.id);
  return {
    events: [],
    pending: [
      {
        id: `aws-eventbridge:${e.id}`,
        time: isoTime([e.time, e.detail.EndTime, e.detail.StartTime], opts),
        source: 'autoscaling.EC2InstanceLaunchSuccessful',
        asgName,
        instanceId,
        account,
        region: e.region,
      },
    ],
  };
}

