import { InvalidClusterRefError } from '../domain/cluster-ref';
import { ConfigError, errorMessage, InvalidInputError } from '../runtime/errors';
import { EXIT, println, processIo, type CliIo } from './io';

const USAGE = `usage: sensorfleet <command> [options]

commands:
  plan       [--cluster REF]... [--json]        dry run: per cluster, what would change and why
  reconcile  [--cluster REF]... [--force] [--json]
                                                observe, plan, apply in waves, verify coverage
  status     [--cluster REF] [--json]           fleet inventory (and a cluster's recent reconciles)
  redeploy   (--cluster REF | --selector GLOB) --reason TEXT [--action restart|redeploy] [--now]
                                                on-call forced redeploy, reason and outcome recorded
  event normalize <file|->                      canonical events of a raw payload, as one JSON array
  qualys sync [--dry-run] [--json]              registry scan schedules and stale sensor purge
  sandbox                                       start the local sandbox and keep it running
  demo [--json]                                 run the end-to-end demo against the local sandbox

cluster references: aws-ecs:<account>:<region>:<name>, aws-eks:<account>:<region>:<name>,
  azure-aks:<subscription>:<resource-group>:<name>, gcp-gke:<project>:<location>:<name>
configuration: --config FILE, or SENSORFLEET_CONFIG_FILE / SENSORFLEET_CONFIG`;

export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'plan':
      case 'reconcile':
        return await (await import('./commands/fleet-run')).fleetRunCommand(command, rest, io);
      case 'status':
        return await (await import('./commands/status')).statusCommand(rest, io);
      case 'redeploy':
        return await (await import('./commands/redeploy')).redeployCommand(rest, io);
      case 'event':
        if (rest[0] !== 'normalize') break;
        return await (await import('./commands/event-normalize')).eventNormalizeCommand(rest.slice(1), io);
      case 'qualys':
        if (rest[0] !== 'sync') break;
        return await (await import('./commands/qualys')).qualysSyncCommand(rest.slice(1), io);
      case 'sandbox':
        return await (await import('./commands/sandbox')).sandboxCommand(rest, io);
      case 'demo':
        return await (await import('./commands/demo')).demoCommand(rest, io);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        println(io.stdout, USAGE);
        return command === undefined ? EXIT.usage : EXIT.ok;
    }
    println(io.stderr, `unknown command: ${argv.join(' ')}\n\n${USAGE}`);
    return EXIT.usage;
  } catch (err) {
    const usage = err instanceof ConfigError || err instanceof InvalidInputError || err instanceof InvalidClusterRefError || isArgError(err);
    println(io.stderr, `error: ${errorMessage(err)}`);
    return usage ? EXIT.usage : EXIT.failed;
  }
}

function isArgError(err: unknown): boolean {
  return typeof (err as { code?: unknown })?.code === 'string' && String((err as { code: string }).code).startsWith('ERR_PARSE_ARGS');
}
