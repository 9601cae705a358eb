import { parseArgs } from 'node:util';
import { loadCliConfig } from '../config-file';
import { DynamoDbFleetStore } from '../../state/dynamodb-store';
import { runQualysCheckIn } from '../../qualys/sync';
import { clusterNodesOf } from '../../qualys/checkin';
import { EXIT, println, type CliIo } from '../io';
import { renderFleet, rowFromInventory } from '../fleet-view';

/**
 * `status [--cluster REF] [--check-in] [--json]`: the fleet inventory; with --cluster, its recent
 * reconciles too; with --check-in, each node's Qualys sensor check-in (CS API).
 */
export async function statusCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      cluster: { type: 'string' },
      config: { type: 'string' },
      json: { type: 'boolean', default: false },
      'check-in': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const config = loadCliConfig(values.config);
  const store = new DynamoDbFleetStore(config.state.tableName);
  if (values.cluster) {
    const [item, history] = await Promise.all([store.getCluster(values.cluster), store.listReconciles(values.cluster, 10)]);
    if (!item) {
      println(io.stderr, `no record of ${values.cluster}`);
      return EXIT.failed;
    }
    if (values.json) println(io.stdout, JSON.stringify({ cluster: item, reconciles: history }, null, 2));
    else {
      println(io.stdout, renderFleet([rowFromInventory(item)]));
      for (const u of item.uncovered) println(io.stdout, `  uncovered ${u.node}: ${u.reason}`);
      println(io.stdout, '\nrecent reconciles:');
      for (const r of history) println(io.stdout, `  ${r.finishedAt}  ${r.trigger.kind}${r.trigger.reason ? ` (${r.trigger.reason})` : ''}  ${r.outcome}  writes=${r.changed.writes}  ${r.message}`);
    }
    return EXIT.ok;
  }
  const items = (await store.listClusters()).sort((a, b) => a.cluster.localeCompare(b.cluster));
  const checkIn = values['check-in'] ? await runQualysCheckIn(config, items.map((c) => clusterNodesOf(c.cluster, c, c.desiredVersion))) : undefined;
  if (values.json) println(io.stdout, JSON.stringify(checkIn ? { clusters: items, checkIn } : items, null, 2));
  else {
    println(io.stdout, renderFleet(items.map(rowFromInventory)));
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
}

