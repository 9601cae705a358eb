import { readFile } from 'node:fs/promises';
import type { LiveHosts } from '../../qualys/stale-sensors';
import { errorMessage, withContext } from '../../runtime/errors';
import { runCommand } from '../args';
import { EXIT, println } from '../io';
import { cliConfig } from '../load-config';
import { outputFormat, printDocument } from '../output';
import { pageProgress, progressOn } from '../progress';
import { commandSpec } from '../spec';

/**
 * `qualys sync [--dry-run] [--live-hosts FILE]`: registry scan schedules and the stale sensor purge.
 * Live hosts come from the fleet inventory, or from FILE (one node/host name a line); without them
 * the purge is skipped, since a sensor's host cannot be shown to be gone.
 */
export function qualysSyncCommand(args: string[], io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream }): Promise<number> {
  return runCommand(commandSpec('qualys sync'), args, io, async ({ values }) => {
    const { config } = await cliConfig(values.config);
    const [{ runQualysSync }, { liveHostsFrom }] = await Promise.all([import('../../qualys/sync'), import('../../qualys/stale-sensors')]);
    const liveFile = values['live-hosts'];
    const liveHosts = liveFile
      ? liveHostsFrom(await withContext(`reading the live hosts file ${liveFile}`, async () => (await readFile(liveFile, 'utf8')).split(/\r?\n/).map((l) => l.trim()).filter(Boolean)))
      : await inventoryHosts(config.state.tableName, io.stderr);
    const progress = progressOn(io.stderr, { quiet: values.quiet });
    let report;
    try {
      report = await runQualysSync({ config, dryRun: values['dry-run'], ...(liveHosts ? { liveHosts } : {}), onPage: pageProgress(progress, 'qualys sync') });
    } finally {
      progress.clear();
    }
    const format = outputFormat(values);
    if (format !== 'table') await printDocument(io.stdout, format, report);
    else {
      println(io.stdout, `qualys sync${report.dryRun ? ' (dry run: nothing changed)' : ''}`);
      for (const line of report.plan) println(io.stdout, `  ${line}`);
      println(
        io.stdout,
        `registries created ${report.registriesCreated}, schedules created ${report.schedulesCreated} updated ${report.schedulesUpdated} deleted ${report.schedulesDeleted} deferred ${report.schedulesDeferred}, ` +
          `stale sensors deleted ${report.staleDeleted} of ${report.staleCandidates}, API calls ${report.calls} (writes ${report.writes}, rate limited ${report.rateLimited})`,
      );
    }
    for (const e of report.errors) println(io.stderr, `sensorfleet qualys sync: ${e}`);
    return report.errors.length ? EXIT.failed : EXIT.ok;
  });
}

async function inventoryHosts(table: string, stderr: NodeJS.WritableStream): Promise<LiveHosts | undefined> {
  try {
    const [{ liveHostsFromInventory }, { DynamoDbFleetStore }] = await Promise.all([import('../../state/live-hosts'), import('../../state/dynamodb-store')]);
    const inventory = await liveHostsFromInventory(new DynamoDbFleetStore(table));
    if (inventory.ok) return inventory.hosts;
    println(stderr, `stale sensor purge skipped: ${inventory.reason}`);
  } catch (err) {
    println(stderr, `stale sensor purge skipped: cannot read the fleet inventory in ${table} (${errorMessage(err)})`);
  }
  return undefined;
}
