import { createHash } from 'node:crypto';
import * as z from 'zod';
import type { ClusterEvent } from '../domain/cluster-event';
import { formatClusterRef, parseClusterRef, type ClusterRef } from '../domain/cluster-ref';
import { InvalidInputError } from '../runtime/errors';
import { globMatch } from './windows';

/** On-call request (DESIGN §3): one cluster or a selector, restart|redeploy, and always a reason. */
export const redeployRequestSchema = z
  .object({
    cluster: z.string().optional(),
    selector: z.string().optional(),
    action: z.enum(['restart', 'redeploy']).default('restart'),
    reason: z.string({ error: 'a reason is required (who asked, ticket, why)' }).trim().min(3, 'a reason is required (who asked, ticket, why)'),
    requestedBy: z.string().default('unknown'),
    /**
     * Install the configured sensor version now, past the rollout's rings (an explicit forced action:
     * the cluster's release record and the reconcile record say who and why). Without it a redeploy
     * keeps the version the cluster's ring released.
     */
    forceVersion: z.boolean().default(false),
  })
  .refine((r) => Boolean(r.cluster) !== Boolean(r.selector), 'give exactly one of cluster or selector');
export type RedeployRequest = z.infer<typeof redeployRequestSchema>;

export function parseRedeployRequest(input: unknown): RedeployRequest {
  const result = redeployRequestSchema.safeParse(input);
  if (!result.success) throw new InvalidInputError(`invalid redeploy request: ${result.error.issues.map((i) => `${i.path.join('.') || 'request'}: ${i.message}`).join('; ')}`);
  if (result.data.cluster) parseClusterRef(result.data.cluster);
  return result.data;
}

/** Pure: the clusters a request selects from the known fleet. */
export function selectClusters(request: RedeployRequest, fleet: ClusterRef[]): ClusterRef[] {
  if (request.cluster) return [parseClusterRef(request.cluster)];
  return fleet.filter((ref) => globMatch(request.selector!, formatClusterRef(ref)));
}

/** Pure: one redeploy-requested event per cluster, with an id stable for this request. */
export function redeployEvents(request: RedeployRequest, clusters: ClusterRef[], now: Date): ClusterEvent[] {
  const requestId = createHash('sha256').update(JSON.stringify([request, now.toISOString()])).digest('hex').slice(0, 16);
  return clusters.map((ref) => ({
    id: `redeploy-${requestId}-${createHash('sha256').update(formatClusterRef(ref)).digest('hex').slice(0, 8)}`,
    time: now.toISOString(),
    kind: 'redeploy-requested' as const,
    cluster: formatClusterRef(ref),
    source: 'sensorfleet.redeploy',
    detail: { action: request.action, reason: request.reason, requestedBy: request.requestedBy, ...(request.forceVersion ? { forceVersion: true } : {}) },
  }));
}
