import type { ReconcileRecord } from '../state/records';

/**
 * Attributes of the worker's `reconciled` log line. Powertools' logger reserves `message` (and
 * level, sampling_rate, service, timestamp) and drops extra attributes with those names, so the
 * record's sentence — the failure reason when it failed — goes under `reason`.
 */
export function reconciledLogAttributes(record: ReconcileRecord, eventId: string) {
  return {
    cluster: record.cluster,
    eventId,
    outcome: record.outcome,
    reason: record.message,
    writes: record.changed.writes,
    ...(record.terminal ? { terminal: true } : {}),
  };
}
