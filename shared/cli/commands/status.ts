import { parseClusterRef } from '../../domain/cluster-ref';
import { runCommand } from '../args';
import { namedStore } from '../named-store';
import { renderFleet, rowFromInventory } from '../fleet-view';
import { EXIT, println, type CliIo } from '../io';
import { cliConfig } from '../load-config';
import { outputFormat, printDocument } from '../output';
import { pageProgress, progressOn } from '../progress';
import { commandSpec } from '../spec';

/** `status`: the fleet inventory; with --cluster its recent reconciles; with --check-in each node's Qualys check-in. */
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
    const items = (await store.listClusters()).sort((a, b) => a.cluster.localeCompare(b.cluster));
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
    if (format !== 'table') await printDocument(io.stdout, format, checkIn ? { clusters: items, checkIn } : items);
    else {
      println(io.stdout, renderFleet(items.map(rowFromInventory)));
      if (items.length === 0) println(io.stdout, `(no cluster recorded in ${config.state.tableName} yet: run sensorfleet reconcile)`);
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
