import { parseArgs } from 'node:util';
import { loadCliConfig } from '../config-file';
import { DynamoDbFleetStore } from '../../state/dynamodb-store';
import { EXIT, println, type CliIo } from '../io';
import { renderFleet, rowFromInventory } from '../fleet-view';

/** `status [--cluster REF] [--json]`: the fleet inventory; with --cluster, its recent reconciles too. */
export async function statusCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { cluster: { type: 'string' }, config: { type: 'string' }, json: { type: 'boolean', default: false } },
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
  if (values.json) println(io.stdout, JSON.stringify(items, null, 2));
  else println(io.stdout, renderFleet(items.map(rowFromInventory)));
  return EXIT.ok;
}
