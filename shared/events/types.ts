import { clusterEventSchema, type ClusterEvent, type ClusterEventKind } from '../domain/cluster-event';
import { formatClusterRef, type ClusterRef } from '../domain/cluster-ref';
import { MalformedEventError } from './errors';

/**
 * An ASG launch names an Auto Scaling group, not a cluster: it becomes a cluster event only once
 * the group's tags are read (resolve-asg.ts).
 */
export interface PendingAsgLaunch {
  id: string;
  time: string;
  source: string;
  asgName: string;
  instanceId: string;
  account: string;
  region: string;
}

/** What one payload (or one record of a batch) yields. */
export interface Normalized {
  events: ClusterEvent[];
  pending: PendingAsgLaunch[];
}

export interface NormalizedRecord extends Normalized {
  /** Id of the record (SQS messageId, envelope id ...), for logs and per-record reports. */
  id: string;
  error?: MalformedEventError;
}

export interface NormalizeOptions {
  /** Time used when a payload carries no usable time of its own. */
  now?: () => Date;
  /**
   * GKE cluster notifications carry the project NUMBER; map numbers to project ids here to get
   * canonical references. Unmapped numbers are kept as the reference scope (see gke-notification.ts).
   */
  gcpProjectIds?: Record<string, string>;
  /**
   * GKE long-running calls log a first and a last audit entry. 'first' (default) acts on the first
   * (the worker then waits for readiness); 'done' acts only on the entry that means the call finished
   * (operation.last, or a call with no operation), as on-webhook does.
   */
  auditLogOperations?: 'first' | 'done';
}

export const NOTHING: Normalized = Object.freeze({ events: [], pending: [] }) as Normalized;

export function only(event: ClusterEvent): Normalized {
  return { events: [event], pending: [] };
}

/** Builds a canonical event and checks it against the schema; a bad reference is malformed input. */
export function clusterEvent(
  recordId: string,
  fields: { id: string; time: string; kind: ClusterEventKind; cluster: ClusterRef; source: string; detail: Record<string, unknown> },
): ClusterEvent {
  const candidate = { ...fields, cluster: formatClusterRef(fields.cluster), detail: dropUndefined(fields.detail) };
  const parsed = clusterEventSchema.safeParse(candidate);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new MalformedEventError(`${issue.path.join('.') || 'event'}: ${issue.message} (${JSON.stringify(candidate.cluster)})`, recordId);
  }
  return parsed.data;
}

const MAX_DATE_MS = 8.64e15;

/** ISO time from the first candidate that parses, else `now` (doc samples carry placeholders). */
export function isoTime(candidates: unknown[], opts: NormalizeOptions): string {
  for (const c of candidates) {
    if (typeof c === 'string' || typeof c === 'number') {
      const ms = typeof c === 'number' ? c * 1000 : Date.parse(c);
      // beyond ±8.64e15 ms a Date cannot be formatted (toISOString throws): such a time is unusable
      if (Number.isFinite(ms) && Math.abs(ms) <= MAX_DATE_MS) return new Date(ms).toISOString();
    }
  }
  return (opts.now?.() ?? new Date()).toISOString();
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

function dropUndefined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

/** zod issues as one line. */
export function oneLine(issues: { path: PropertyKey[]; message: string }[]): string {
  return issues
    .slice(0, 3)
    .map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`)
    .join('; ');
}
