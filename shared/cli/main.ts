import { distance, UsageError, usageMessage } from './args';
import { describeError, isUsageLike } from './errors';
import { helpText, overviewText, readmeCliSection } from './help';
import { EXIT, println, processIo, type CliIo } from './io';
import { COMMANDS, findCommand, type CommandSpec } from './spec';
import { VERSION } from './version';

type Command = (args: string[], io: CliIo) => Promise<number>;

/** Each command's code is imported only when it runs (a chunk of its own in the bundle). */
const LOADERS: Record<string, () => Promise<Command>> = {
  plan: async () => (await import('./commands/fleet-run')).planCommand,
  reconcile: async () => (await import('./commands/fleet-run')).reconcileCommand,
  status: async () => (await import('./commands/status')).statusCommand,
  report: async () => (await import('./commands/report')).reportCommand,
  redeploy: async () => (await import('./commands/redeploy')).redeployCommand,
  'event normalize': async () => (await import('./commands/event-normalize')).eventNormalizeCommand,
  'qualys sync': async () => (await import('./commands/qualys')).qualysSyncCommand,
  'webhook serve': async () => (await import('./commands/webhook')).webhookServeCommand,
  rollout: async () => (await import('./commands/rollout')).rolloutCommand,
  invoke: async () => (await import('./commands/invoke')).invokeCommand,
  sandbox: async () => (await import('./commands/sandbox')).sandboxCommand,
  'sandbox token': async () => (await import('./commands/sandbox')).sandboxTokenCommand,
  demo: async () => (await import('./commands/demo')).demoCommand,
};

export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  const [first] = argv;
  if (first === undefined) {
    println(io.stderr, overviewText());
    return EXIT.usage;
  }
  if (first === '--version' || first === '-V') {
    // which build answers: the bundle the install step made, or the sources (after an edit, or without a build)
    println(io.stdout, `sensorfleet ${VERSION} (${import.meta.url.includes('/dist/cli/') ? 'bundle in dist/cli' : 'TypeScript sources'}, node ${process.version})`);
    return EXIT.ok;
  }
  if (first === '--help' || first === '-h') return helpCommand([], io);
  const found = findCommand(argv);
  if (!found) {
    const group = groupCommands(first);
    if (group.length > 0) {
      // `sensorfleet qualys`, `sensorfleet event --help`: the first word of commands, not one itself
      const asked = argv.slice(1).some((a) => a === '--help' || a === '-h');
      println(asked ? io.stdout : io.stderr, groupText(first, group));
      return asked ? EXIT.ok : EXIT.usage;
    }
    println(io.stderr, `sensorfleet: unknown command "${argv.slice(0, 2).join(' ')}"${didYouMean(argv)}; \`sensorfleet help\` lists the commands`);
    return EXIT.usage;
  }
  const { spec, rest } = found;
  if (spec.name === 'help') return helpCommand(rest, io);
  // answered here for every command, so `sandbox --help` or `demo --help` never starts anything
  if (rest.includes('--help') || rest.includes('-h')) {
    println(io.stdout, helpText(spec));
    return EXIT.ok;
  }
  try {
    return await (await LOADERS[spec.name]!())(rest, io);
  } catch (err) {
    const usage = isUsageLike(err);
    println(io.stderr, err instanceof UsageError ? usageMessage(spec, err.message) : `sensorfleet ${spec.name}: ${describeError(err)}`);
    return usage ? EXIT.usage : EXIT.failed;
  }
}

function helpCommand(args: string[], io: CliIo): number {
  if (args.includes('--markdown')) {
    println(io.stdout, readmeCliSection());
    return EXIT.ok;
  }
  // `help "qualys sync"` (one argument, as the help text writes it) and `help qualys sync` are the same
  const names = args.filter((a) => !a.startsWith('-')).flatMap((a) => a.trim().split(/\s+/));
  if (names.length === 0) {
    println(io.stdout, args.includes('--help') || args.includes('-h') ? helpText(findCommand(['help'])!.spec) : overviewText());
    return EXIT.ok;
  }
  const found = findCommand(names);
  if (!found && names.length === 1 && groupCommands(names[0]!).length > 0) {
    println(io.stdout, groupText(names[0]!, groupCommands(names[0]!)));
    return EXIT.ok;
  }
  if (!found || found.rest.length > 0) {
    println(io.stderr, `sensorfleet help: unknown command "${names.join(' ')}"${didYouMean(names)}`);
    return EXIT.usage;
  }
  println(io.stdout, helpText(found.spec as CommandSpec));
  return EXIT.ok;
}

/** The commands whose name starts with this word and a space ("qualys" → "qualys sync"). */
function groupCommands(word: string): CommandSpec[] {
  return COMMANDS.filter((c) => c.name.startsWith(`${word} `));
}

function groupText(word: string, group: readonly CommandSpec[]): string {
  const width = Math.max(...group.map((c) => c.name.length));
  return [`sensorfleet ${word}: one of`, ...group.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`), '', `\`sensorfleet help ${group[0]!.name}\` for its flags`].join('\n');
}

function didYouMean(argv: readonly string[]): string {
  const typed = argv.slice(0, 2).join(' ');
  const best = COMMANDS.map((c) => ({ name: c.name, d: Math.min(distance(c.name, argv[0] ?? ''), distance(c.name, typed)) })).sort((a, b) => a.d - b.d)[0];
  return best && best.d <= 3 ? ` (did you mean "${best.name}"?)` : '';
}
