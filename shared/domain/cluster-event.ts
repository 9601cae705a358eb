import * as z from 'zod';
import { parseClusterRef } from './cluster-ref';

/** Canonical event (DESIGN §4): every trigger is normalised to this before it reaches the queue. */
export const CLUSTER_EVENT_KINDS = [
  'cluster-created',
  'nodes-changed',
  'cluster-deleted',
  'reconcile-requested',
  'redeploy-requested',
] as const;
export type ClusterEventKind = (typeof CLUSTER_EVENT_KINDS)[number];

export const clusterEventSchema = z.object({
  id: z.string().min(1),
  time: z.string().min(1),
  kind: z.enum(CLUSTER_EVENT_KINDS),
  cluster: z.string().refine((s) => {
    try {
      parseClusterRef(s);
      return true;
    } catch {
      return false;
    }
  }, 'not a cluster reference'),
  source: z.string().min(1),
  detail: z.record(z.string(), z.unknown()),
});
export type ClusterEvent = z.infer<typeof clusterEventSchema>;
