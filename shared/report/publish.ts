import pLimit from 'p-limit';
import type { ClusterInventoryItem, ReconcileRecord } from '../state/records';
import type { RunRecord } from '../state/rollout-records';
import type { DynamoDbRolloutStore } from '../state/rollout-store';
import type { FleetStore } from '../state/store';
import { errorMessage } from '../runtime/errors';
import { renderRunReportHtml } from './html';
import { buildRunReport, type RunReport } from './model';
import { reportSinkFromEnv, type ReportSink, type WrittenReport } from './sink';

/** Reconcile records read per cluster for the timeline (newest first; a run touches a cluster a few times). */
const RECONCILES_PER_CLUSTER = 25;
const READ_CONCURRENCY = 8;

/** Reads a run's records from the fleet table and builds its report. */
export async function collectRunReport(rollouts: DynamoDbRolloutStore, fleet: FleetStore, runId: string, opts: { maxRestarts?: number; now?: Date } = {}): Promise<RunReport> {
  const [run, results] = await Promise.all([rollouts.requireRun(runId), rollouts.listResults(runId)]);
  const members = await ringMembers(rollouts, run);
  const clusters = [...new Set([...members.values()].flat())];
  const limit = pLimit(READ_CONCURRENCY);
  const inventory: ClusterInventoryItem[] = [];
  const reconciles: ReconcileRecord[] = [];
  await Promise.all(
    clusters.map((c) =>
      limit(async () => {
        const [item, records] = await Promise.all([fleet.getCluster(c), fleet.listReconciles(c, RECONCILES_PER_CLUSTER)]);
        if (item) inventory.push(item);
        reconciles.push(...records);
      }),
    ),
  );
  return buildRunReport({ run, results, members, inventory, reconciles, ...(opts.maxRestarts !== undefined ? { maxRestarts: opts.maxRestarts } : {}), generatedAt: (opts.now ?? new Date()).toISOString() });
}

/** Each ring's clusters: its chunk items, or the ring itself (runs recorded before rings were chunked). */
export async function ringMembers(rollouts: DynamoDbRolloutStore, run: RunRecord): Promise<Map<number, string[]>> {
  const out = new Map<number, string[]>();
  for (const ring of run.rings) {
    const inline = (ring as { clusters?: unknown }).clusters;
    out.set(ring.ring, Array.isArray(inline) ? inline.map(String) : await rollouts.listRingClusters(run.runId, ring.ring));
  }
  return out;
}

/** The report's two documents, named `runs/<run>/<status>.{json,html}` (a halted run keeps its halt report after it finishes). */
export function reportDocuments(report: RunReport): { name: string; body: string; contentType: string }[] {
  const base = `runs/${report.run.runId}/${report.run.status}`;
  return [
    { name: `${base}.json`, body: `${JSON.stringify(report, null, 2)}\n`, contentType: 'application/json' },
    { name: `${base}.html`, body: renderRunReportHtml(report), contentType: 'text/html; charset=utf-8' },
  ];
}

export async function writeRunReport(report: RunReport, sink: ReportSink): Promise<WrittenReport> {
  const [json, html] = reportDocuments(report);
  const [jsonAt, htmlAt] = await Promise.all([sink.write(json!.name, json!.body, json!.contentType), sink.write(html!.name, html!.body, html!.contentType)]);
  return { json: jsonAt, html: htmlAt };
}

export type PublishOutcome = { written: true; report: RunReport; at: WrittenReport } | { written: false; reason: string; report?: RunReport };

/**
 * Where a run halts or finishes: builds and writes its report to the configured sink
 * (SENSORFLEET_REPORTS_BUCKET or SENSORFLEET_REPORTS_DIR). Never throws: a report that cannot be
 * written must not hold the run; the outcome says why.
 */
export async function publishRunReport(rollouts: DynamoDbRolloutStore, runId: string, opts: { maxRestarts?: number; now?: Date; fleet?: FleetStore; sink?: ReportSink } = {}): Promise<PublishOutcome> {
  const sink = opts.sink ?? reportSinkFromEnv();
  let report: RunReport | undefined;
  try {
    const fleet = opts.fleet ?? new (await import('../state/dynamodb-store')).DynamoDbFleetStore(rollouts.tableName);
    report = await collectRunReport(rollouts, fleet, runId, opts);
    if (!sink) return { written: false, reason: 'report not written: no destination (SENSORFLEET_REPORTS_BUCKET / SENSORFLEET_REPORTS_DIR unset)', report };
    return { written: true, report, at: await writeRunReport(report, sink) };
  } catch (err) {
    return { written: false, reason: `report of run ${runId} not written: ${errorMessage(err)}`, ...(report ? { report } : {}) };
  }
}

export function publishNote(o: PublishOutcome): string {
  return o.written ? `; report ${o.at.html}` : `; ${o.reason}`;
}
