import * as z from 'zod';
import type { ClusterEventKind } from '../domain/cluster-event';
import type { Platform } from '../domain/cluster-ref';
import { clusterNameFromArn, parseArn } from './arn';
import { MalformedEventError } from './errors';
import { clusterEvent, isObject, isoTime, NOTHING, oneLine, only, str, type Normalized, type NormalizeOptions } from './types';

/**
 * A CloudTrail record for an ECS or EKS control-plane call: bare, or as the `detail` of an
 * EventBridge `AWS API Call via CloudTrail` event (then `envelope` carries account/region/time).
 * Record shape: https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html
 */
const CALLS: Record<string, Record<string, { kind: ClusterEventKind; platform: Platform }>> = {
  'ecs.amazonaws.com': {
    CreateCluster: { kind: 'cluster-created', platform: 'aws-ecs' },
    DeleteCluster: { kind: 'cluster-deleted', platform: 'aws-ecs' },
  },
  'eks.amazonaws.com': {
    CreateCluster: { kind: 'cluster-created', platform: 'aws-eks' },
    DeleteCluster: { kind: 'cluster-deleted', platform: 'aws-eks' },
    CreateNodegroup: { kind: 'nodes-changed', platform: 'aws-eks' },
    UpdateNodegroupConfig: { kind: 'nodes-changed', platform: 'aws-eks' },
  },
};

const recordSchema = z.object({
  eventSource: z.string().min(1),
  eventName: z.string().min(1),
  eventID: z.string().min(1),
  awsRegion: z.string().min(1).optional(),
  eventTime: z.string().optional(),
  recipientAccountId: z.string().optional(),
  errorCode: z.string().optional(),
  requestParameters: z.record(z.string(), z.unknown()).nullish(),
  responseElements: z.record(z.string(), z.unknown()).nullish(),
  userIdentity: z.object({ accountId: z.string().optional() }).loose().optional(),
});

export interface CloudTrailEnvelope {
  id?: string;
  account?: string;
  region?: string;
  time?: string;
}

export function looksLikeCloudTrailRecord(v: Record<string, unknown>): boolean {
  return typeof v.eventSource === 'string' && typeof v.eventName === 'string' && ('eventVersion' in v || 'awsRegion' in v);
}

export function normalizeCloudTrailRecord(raw: unknown, opts: NormalizeOptions, envelope: CloudTrailEnvelope = {}): Normalized {
  const recordId = str(isObject(raw) ? raw.eventID : undefined) ?? envelope.id ?? 'unknown';
  const parsed = recordSchema.safeParse(raw);
  if (!parsed.success) throw new MalformedEventError(`CloudTrail record: ${oneLine(parsed.error.issues)}`, recordId);
  const r = parsed.data;
  const call = CALLS[r.eventSource]?.[r.eventName];
  // A failed call (AccessDenied, InvalidParameter...) created or changed nothing.
  if (!call || r.errorCode) return NOTHING;

  const req = r.requestParameters ?? {};
  const res = r.responseElements ?? {};
  const resCluster = isObject(res.cluster) ? res.cluster : {};
  const arnText = str(resCluster.clusterArn) ?? str(resCluster.arn) ?? (parseArn(req.cluster) ? (req.cluster as string) : undefined);
  const name = clusterName(call.platform, r.eventName, req, resCluster);
  if (!name) throw new MalformedEventError(`CloudTrail ${r.eventSource} ${r.eventName}: no cluster name in requestParameters`, recordId);
  const arn = parseArn(arnText);
  const account = arn?.account || envelope.account || r.recipientAccountId || r.userIdentity?.accountId;
  const region = arn?.region || r.awsRegion || envelope.region;
  if (!account || !region) throw new MalformedEventError(`CloudTrail ${r.eventName}: no account or region`, recordId);

  return only(
    clusterEvent(recordId, {
      // The CloudTrail event id names the API call itself: the same call delivered again, bare or
      // in any envelope, keeps the same id.
      id: `aws-cloudtrail:${r.eventID}`,
      time: isoTime([r.eventTime, envelope.time], opts),
      kind: call.kind,
      cluster: { platform: call.platform, scope: account, location: region, name },
      source: `${r.eventSource.replace('.amazonaws.com', '')}.${r.eventName}`,
      detail: {
        eventName: r.eventName,
        status: str(resCluster.status),
        nodegroupName: str(req.nodegroupName),
        ...(envelope.id ? { envelopeId: envelope.id } : {}),
      },
    }),
  );
}

function clusterName(platform: Platform, eventName: string, req: Record<string, unknown>, resCluster: Record<string, unknown>): string | undefined {
  if (platform === 'aws-ecs') {
    if (eventName === 'CreateCluster') {
      // ECS CreateCluster without clusterName creates the cluster named "default" (ECS API reference).
      return str(resCluster.clusterName) ?? str(req.clusterName) ?? 'default';
    }
    const ref = str(req.cluster) ?? str(resCluster.clusterName);
    return ref ? (clusterNameFromArn(ref) ?? ref) : str(resCluster.clusterName);
  }
  // EKS: the cluster name is the `name` URI parameter in real CloudTrail; the user-guide sample
  // uses `clusterName`. CreateNodegroup / UpdateNodegroupConfig / DeleteCluster carry it the same way.
  return str(req.name) ?? str(req.clusterName) ?? str(resCluster.name) ?? str(resCluster.clusterName);
}
