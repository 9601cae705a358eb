import { parseArgs } from 'node:util';
import { loadCliConfig } from '../config-file';
import { runQualysSync } from '../../qualys/sync';
import { liveHostsFrom, type LiveHosts } from '../../qualys/stale-sensors';
import { DynamoDbFleetStore } from '../../state/dynamodb-store';
import { liveHostsFromInventory } from '../../state/live-hosts';
import { errorMessage } from '../../runtime/errors';
import { EXIT, println } from '../io';

/**
 * `qualys sync [--dry-run] [--json] [--live-hosts FILE]`: registry scan schedules and the stale
 * sensor purge. Live hosts come from the fleet inventory, or from FILE (one node/host name a line);
 * without them the purge is skipped, since a sensor's host cannot be shown to be gone.
 */
export async function qualysSyncCommand(args: string[], io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream }): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      'dry-run': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      config: { type: 'string' },
      'live-hosts': { type: 'string' },
    },
    strict: true,
  });
  const config = loadCliConfig(values.config);
  const liveHosts = values['live-hosts'] ? liveHostsFrom(await readLines(values['live-hosts'])) : await inventoryHosts(config.state.tableName, io.stderr);
  const report = await runQualysSync({ config, dryRun: values['dry-run'], ...(liveHosts ? { liveHosts } : {}) });
  if (values.json) println(io.stdout, JSON.stringify(report, null, 2));
  else {
    println(io.stdout, `qualys sync${report.dryRun ? ' (dry run: nothing changed)' : ''}`);
    for (const line of report.plan) println(io.stdout, `  ${line}`);
    println(
      io.stdout,
      `registries created ${report.registriesCreated}, schedules created ${report.schedulesCreated} updated ${report.schedulesUpdated} deleted ${report.schedulesDeleted} deferred ${report.schedulesDeferred}, ` +
        `stale sensors deleted ${report.staleDeleted} of ${report.staleCandidates}, API calls ${report.calls} (writes ${report.writes}, rate limited ${report.rateLimited})`,
    );
    for (const e of report.errors) println(io.stderr, `error: ${e}`);
  }
  return report.errors.length ? EXIT.failed : EXIT.ok;
}

async function inventoryHosts(table: string, stderr: NodeJS.WritableStream): Promise<LiveHosts | undefined> {
  try {
    const inventory = await liveHostsFromInventory(new DynamoDbFleetStore(table));
    if (inventory.ok) return inventory.hosts;
    println(stderr, `stale sensor purge skipped: ${inventory.reason}`);
  } catch (err) {
    println(stderr, `stale sensor purge skipped: cannot read the fleet inventory (${errorMessage(err)})`);
  }
  return undefined;
}

async function readLines(path: string): Promise<string[]> {
  const { readFile } = await import('node:fs/promises');
  return (await readFile(path, 'utf8')).split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
}
