import { parseArgs, type ParseArgsConfig } from 'node:util';
import { helpText, usageLine } from './help';
import { EXIT, println, type CliIo } from './io';
import type { CommandSpec, FlagSpec } from './spec';

/** Wrong command line: the message says what, the command's usage line and `help` say how. Exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

type FlagValue<F extends FlagSpec> = F extends { type: 'boolean' }
  ? boolean
  : F extends { multiple: true }
    ? string[]
    : F extends { default: string }
      ? string
      : F extends { required: true }
        ? string
        : string | undefined;

export type ParsedValues<S extends CommandSpec> = { [F in S['flags'][number] as F['name']]: FlagValue<F> };

export interface ParsedArgs<S extends CommandSpec> {
  values: ParsedValues<S>;
  positionals: string[];
}

/** Parses a command's arguments from its spec: unknown flags, bad choices, missing values are UsageErrors. */
export function parseCommandArgs<S extends CommandSpec>(spec: S, args: readonly string[]): ParsedArgs<S> & { help: boolean } {
  const options: NonNullable<ParseArgsConfig['options']> = { help: { type: 'boolean', short: 'h' } };
  for (const f of spec.flags) {
    options[f.name] = {
      type: f.type,
      ...(f.short ? { short: f.short } : {}),
      ...(f.multiple ? { multiple: true } : {}),
      ...(f.default !== undefined ? { default: f.default } : {}),
    };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(describeParseError(err, spec));
  }
  const values = parsed.values as Record<string, unknown>;
  const help = values.help === true;
  delete values.help;
  if (!help) {
    for (const f of spec.flags) {
      const v = values[f.name];
      if (f.type === 'boolean') values[f.name] = v === true;
      else if (f.multiple) values[f.name] = (v as string[] | undefined) ?? [];
      if (f.required && (v === undefined || v === '')) throw new UsageError(`${flagLabel(f)} is required`);
      if (f.choices && typeof v === 'string' && !f.choices.includes(v)) throw new UsageError(`--${f.name} must be one of ${f.choices.join(', ')} (got "${v}")`);
    }
    const allowed = spec.positionals ?? [];
    const required = allowed.filter((p) => p.required).length;
    if (parsed.positionals.length < required) throw new UsageError(`missing ${allowed.slice(parsed.positionals.length, required).map((p) => p.name).join(' ')}`);
    if (parsed.positionals.length > allowed.length) throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[allowed.length])}`);
  }
  return { values: values as ParsedValues<S>, positionals: parsed.positionals, help };
}

/**
 * Runs a command body with its parsed arguments: `--help` prints the command's help, a usage
 * error prints what is wrong plus the usage line on stderr and returns 2.
 */
export async function runCommand<S extends CommandSpec>(spec: S, args: readonly string[], io: Pick<CliIo, 'stdout' | 'stderr'>, body: (parsed: ParsedArgs<S>) => Promise<number>): Promise<number> {
  let parsed: ParsedArgs<S> & { help: boolean };
  try {
    parsed = parseCommandArgs(spec, args);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    println(io.stderr, usageMessage(spec, err.message));
    return EXIT.usage;
  }
  if (parsed.help) {
    println(io.stdout, helpText(spec));
    return EXIT.ok;
  }
  try {
    return await body(parsed);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    println(io.stderr, usageMessage(spec, err.message));
    return EXIT.usage;
  }
}

export function usageMessage(spec: CommandSpec, problem: string): string {
  return `sensorfleet ${spec.name}: ${problem}\nusage: ${usageLine(spec)}\n(sensorfleet help ${spec.name} for every flag)`;
}

function flagLabel(f: FlagSpec): string {
  return `--${f.name}${f.value ? ` ${f.value}` : ''}`;
}

function describeParseError(err: unknown, spec: CommandSpec): string {
  const code = (err as { code?: string }).code;
  const message = (err as Error).message ?? String(err);
  const option = /'(-{1,2}[^' ]+)/.exec(message)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) return `unknown flag ${option}${suggest(option, spec)}`;
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option) {
    const flag = spec.flags.find((f) => option === `--${f.name}` || option.startsWith(`-${f.short ?? '\0'}`));
    return flag?.type === 'boolean' ? `${option} takes no value` : `${option} needs a value${flag?.value ? ` (${flag.value})` : ''}`;
  }
  return message.split('. ')[0] ?? message;
}

function suggest(option: string, spec: CommandSpec): string {
  const name = option.replace(/^-+/, '');
  const close = spec.flags.find((f) => f.name.startsWith(name) || name.startsWith(f.name) || distance(f.name, name) <= 2);
  return close ? ` (did you mean --${close.name}?)` : '';
}

/** Levenshtein distance, for "did you mean". */
export function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}
