import { parseClusterRef } from '../../domain/cluster-ref';
import { runCommand } from '../args';
import { namedStore } from '../named-store';
import pLimit from 'p-limit';
import { filterStatusRows, renderFleet, renderStatus, rowFromInventory, sortStatusRows, statusRow, type StatusRow, type StatusSortColumn } from '../fleet-view';
import type { ReconcileRecord } from '../../state/records';
import type { FleetStore } from '../../state/store';
import { EXIT, println, type CliIo } from '../io';
import { cliConfig } from '../load-config';
import { outputFormat, printDocument } from '../output';
import { pageProgress, progressOn } from '../progress';
import { commandSpec } from '../spec';

/** `status`: the fleet table (filtered, sorted); with --cluster its recent reconciles; with --check-in each node's Qualys check-in. */
export function statusCommand(args: string[], io: CliIo): Promise<number> {
  return runCommand(commandSpec('status'), args, io, async ({ values }) => {
    if (values.cluster) parseClusterRef(values.cluster);
    const { config } = await cliConfig(values.config);
    const { DynamoDbFleetStore } = await import('../../state/dynamodb-store');
    const store = namedStore(new DynamoDbFleetStore(config.state.tableName), config.state.tableName);
    const format = outputFormat(values);
    if (values.cluster) {
      const cluster = values.cluster;
      const [item, history] = await Promise.all([store.getCluster(cluster), store.listReconciles(cluster, 10)]);
      if (!item) {
        println(io.stderr, `sensorfleet status: no record of ${cluster} in ${config.state.tableName} (never reconciled, or a different table)`);
        return EXIT.failed;
      }
      if (format !== 'table') await printDocument(io.stdout, format, { cluster: item, reconciles: history });
      else {
        println(io.stdout, renderFleet([rowFromInventory(item)]));
        for (const u of item.uncovered) println(io.stdout, `  uncovered ${u.node}: ${u.reason}`);
        println(io.stdout, '\nrecent reconciles:');
        for (const r of history) println(io.stdout, `  ${r.finishedAt}  ${r.trigger.kind}${r.trigger.reason ? ` (${r.trigger.reason})` : ''}  ${r.outcome}  writes=${r.changed.writes}  ${r.message}`);
      }
      return EXIT.ok;
    }
    const inventory = await store.listClusters();
    // items carry their drift and last change; only those written before that need their history read
    const unsummarised = inventory.filter((i) => i.drift === undefined).map((i) => i.cluster);
    const [reconciles, rings] = await Promise.all([recentReconciles(store, unsummarised), ringsOfRun(config.state.tableName)]);
    const rows = sortStatusRows(
      filterStatusRows(
        inventory.map((i) => statusRow(i, { reconciles: reconciles.get(i.cluster) ?? [], ring: rings.get(i.cluster) ?? null })),
        { platform: values.platform, scope: values.scope, status: values.status, ring: values.ring },
      ),
      values.sort as StatusSortColumn,
    );
    const shown = new Set(rows.map((r) => r.cluster));
    const items = inventory.filter((i) => shown.has(i.cluster));
    let checkIn;
    if (values['check-in']) {
      const progress = progressOn(io.stderr, { quiet: values.quiet });
      const [{ runQualysCheckIn }, { clusterNodesOf }] = await Promise.all([import('../../qualys/sync'), import('../../qualys/checkin')]);
      try {
        checkIn = await runQualysCheckIn(
          config,
          items.map((c) => clusterNodesOf(c.cluster, c, c.desiredVersion)),
          pageProgress(progress, 'status'),
        );
      } finally {
        progress.clear();
      }
    }
    if (format !== 'table') await printDocument(io.stdout, format, checkIn ? { clusters: rows, checkIn } : rows);
    else {
      println(io.stdout, renderStatus(rows));
      if (inventory.length === 0) println(io.stdout, `(no cluster recorded in ${config.state.tableName} yet: run sensorfleet reconcile)`);
      else if (rows.length === 0) println(io.stdout, `(none of the ${inventory.length} clusters matches the filters)`);
      if (checkIn) {
        println(io.stdout, '\nQualys check-in (sensor checked in at the desired version):');
        for (const c of checkIn) {
          const problems = [
            c.neverCheckedIn.length ? `never checked in: ${c.neverCheckedIn.join(', ')}` : '',
            c.silent.length ? `stopped checking in: ${c.silent.join(', ')}` : '',
            c.versionMismatch.length ? `other version: ${c.versionMismatch.map((v) => `${v.node} ${v.sensorVersion}`).join(', ')}` : '',
          ].filter(Boolean);
          println(io.stdout, `  ${c.cluster}: ${c.checkedIn}/${c.nodes}${problems.length ? `; ${problems.join('; ')}` : ''}`);
        }
      }
    }
    return EXIT.ok;
  });
}

/** Recent records per cluster (last change, drift) for items that do not carry them: one query each, a few at a time. */
const RECENT_RECONCILES = 20;

async function recentReconciles(store: FleetStore, clusters: string[]): Promise<Map<string, ReconcileRecord[]>> {
  const limit = pLimit(8);
  const out = new Map<string, ReconcileRecord[]>();
  await Promise.all(clusters.map((c) => limit(async () => out.set(c, await store.listReconciles(c, RECENT_RECONCILES)))));
  return out;
}

/** Each cluster's ring in the active run, else the last run (none: no ring column). */
async function ringsOfRun(tableName: string): Promise<Map<string, NonNullable<StatusRow['ring']>>> {
  const [{ DynamoDbRolloutStore }, { ringMembers }] = await Promise.all([import('../../state/rollout-store'), import('../../report/publish')]);
  const rollouts = new DynamoDbRolloutStore(tableName);
  const run = (await rollouts.activeRun()) ?? (await rollouts.listRuns(1))[0];
  const out = new Map<string, NonNullable<StatusRow['ring']>>();
  if (!run) return out;
  const [members, releases] = await Promise.all([ringMembers(rollouts, run), rollouts.listReleases()]);
  const releasedBy = new Map(releases.map((r) => [r.cluster, r]));
  for (const ring of run.rings) {
    for (const cluster of members.get(ring.ring) ?? []) {
      const release = releasedBy.get(cluster);
      out.set(cluster, { run: run.runId, runStatus: run.status, ring: ring.ring, name: ring.name, released: release?.runId === run.runId && release.version === run.targetVersion });
    }
  }
  return out;
}
