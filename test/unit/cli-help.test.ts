import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseCommandArgs } from '../../shared/cli/args';
import { readmeCliSection } from '../../shared/cli/help';
import { runCli } from '../support/run-cli';
import { COMMANDS, type CommandSpec } from '../../shared/cli/spec';
import { clusterEventSchema } from '../../shared/domain/cluster-event';

/** Help on every command, from the one table the parser also reads (issue 10: help, --version, documented flags and exit codes). */
const run = (...argv: string[]) => runCli(argv);

const commands: readonly CommandSpec[] = COMMANDS;

describe('sensorfleet help', () => {
  it.each(commands.map((c) => [c.name, c] as const))('%s --help: every flag, an example and the exit codes', async (name, spec) => {
    const r = await run(...name.split(' '), '--help');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(`usage: sensorfleet ${name}`);
    for (const f of spec.flags) expect(r.out).toMatch(new RegExp(`(^|\\s)--${f.name}\\b`, 'm'));
    expect(r.out).toMatch(/^examples?:\n {2}sensorfleet /m);
    expect(r.out).toMatch(/^exit codes:\n {2}0 {2}/m);
    // `help COMMAND` prints the same text
    expect((await run('help', ...name.split(' '))).out).toBe(r.out);
  });

  it('documents the flags that were undocumented', async () => {
    expect((await run('status', '--help')).out).toMatch(/--check-in\s+also ask Qualys/);
    expect((await run('plan', '--help')).out).toMatch(/--no-record\s+open no fleet table/);
    expect((await run('qualys', 'sync', '--help')).out).toMatch(/--live-hosts FILE\s+live node\/host names/);
    expect((await run('event', 'normalize', '--help')).out).toMatch(/--resolve-asg\s+resolve ASG launches/);
  });

  it('sandbox --help and demo --help print help and start nothing', async () => {
    const t0 = Date.now();
    for (const name of ['sandbox', 'demo']) {
      const r = await run(name, '--help');
      expect(r.code).toBe(0);
      expect(r.out).toContain(`usage: sensorfleet ${name}`);
      expect(r.out).not.toContain('sandbox running');
    }
    expect(Date.now() - t0).toBeLessThan(5_000); // starting moto alone takes longer
  });

  it('help without a command lists every command; --version prints the package version', async () => {
    const overview = await run('help');
    expect(overview.code).toBe(0);
    for (const c of commands) expect(overview.out).toContain(`  ${c.name} `);
    expect((await run('--help')).out).toBe(overview.out);
    const version = await run('--version');
    expect(version.code).toBe(0);
    expect(version.out).toMatch(new RegExp(`^sensorfleet ${JSON.parse(readFileSync('package.json', 'utf8')).version.replace(/\./g, '\\.')} `));
  });

  it('an unknown command or flag is exit 2 with what is wrong, the usage line and a suggestion', async () => {
    const cmd = await run('plna');
    expect(cmd.code).toBe(2);
    expect(cmd.err).toContain('unknown command "plna" (did you mean "plan"?)');
    const flag = await run('plan', '--clustr', 'x');
    expect(flag.code).toBe(2);
    expect(flag.err).toContain('sensorfleet plan: unknown flag --clustr (did you mean --cluster?)');
    expect(flag.err).toContain('usage: sensorfleet plan [--cluster REF]...');
    const choice = await run('plan', '-o', 'xml');
    expect([choice.code, choice.err.split('\n')[0]]).toEqual([2, 'sensorfleet plan: --output must be one of table, json, yaml (got "xml")']);
    const missing = await run('invoke', 'on-aws-event');
    expect([missing.code, missing.err.split('\n')[0]]).toEqual([2, 'sensorfleet invoke: --event FILE is required']);
    expect((await run('help', 'frobnicate')).code).toBe(2);
  });

  it('help "qualys sync" (one argument, as the help writes it) is help qualys sync', async () => {
    const quoted = await run('help', 'qualys sync');
    expect(quoted.code, quoted.err).toBe(0);
    expect(quoted.out).toBe((await run('help', 'qualys', 'sync')).out);
    expect((await run('help', 'sandbox token')).out).toContain('usage: sensorfleet sandbox token --cluster REF');
  });

  it('the first word of a two-word command lists its commands: exit 0 asked for (--help, help WORD), else exit 2', async () => {
    for (const [word, command] of [['event', 'event normalize'], ['qualys', 'qualys sync'], ['webhook', 'webhook serve']] as const) {
      const bare = await run(word);
      expect([bare.code, bare.err]).toEqual([2, expect.stringContaining(`sensorfleet ${word}: one of\n  ${command}  `)]);
      const help = await run(word, '--help');
      expect([help.code, help.out]).toEqual([0, expect.stringContaining(`  ${command}  `)]);
      expect((await run('help', word)).out).toBe(help.out);
    }
  });

  it('every flag in the table parses, typed as declared', () => {
    for (const spec of commands) {
      const args = [
        ...(spec.positionals ?? []).filter((p) => p.required).map(() => 'x'),
        ...spec.flags.flatMap((f) => (f.type === 'boolean' ? [`--${f.name}`] : [`--${f.name}`, f.choices?.[0] ?? 'v'])),
      ];
      const parsed = parseCommandArgs(spec, args);
      for (const f of spec.flags) expect(parsed.values[f.name as keyof typeof parsed.values], `${spec.name} --${f.name}`).toEqual(f.type === 'boolean' ? true : f.multiple ? ['v'] : (f.choices?.[0] ?? 'v'));
    }
  });
});

describe("README's CLI section", () => {
  it('is the text `sensorfleet help --markdown` generates from the same table', async () => {
    const readme = readFileSync('README.md', 'utf8');
    const start = readme.indexOf('## CLI\n');
    const end = readme.indexOf('\n## ', start + 1);
    expect(start).toBeGreaterThan(0);
    expect(readme.slice(start, end).trimEnd(), 'README out of date: paste `npx sensorfleet help --markdown` over its "## CLI" section').toBe(readmeCliSection());
    expect((await run('help', '--markdown')).out.trimEnd()).toBe(readmeCliSection());
  });

  it('shows invoke with the samples in events/, and each of them exists', () => {
    const section = readmeCliSection();
    const samples = [...section.matchAll(/sensorfleet invoke [\w-]+ --event (events\/\S+\.json)/g)].map((m) => m[1]!);
    expect(samples.length).toBeGreaterThanOrEqual(2);
    for (const s of samples) expect(() => JSON.parse(readFileSync(s, 'utf8'))).not.toThrow();
  });

  it("the reconcile-worker sample is what the work queue delivers: an SQS event of canonical work items (the EventBridge batch was dead-lettered as malformed)", () => {
    const section = readmeCliSection();
    const samples = [...section.matchAll(/sensorfleet invoke reconcile-worker --event (events\/\S+\.json)/g)].map((m) => m[1]!);
    expect(samples.length).toBeGreaterThanOrEqual(1);
    for (const s of samples) {
      const event = JSON.parse(readFileSync(s, 'utf8')) as { Records: { body: string; eventSource: string }[] };
      expect(event.Records.length).toBeGreaterThan(0);
      for (const r of event.Records) {
        expect(r.eventSource).toBe('aws:sqs');
        expect(clusterEventSchema.safeParse(JSON.parse(r.body)).error).toBeUndefined();
      }
    }
  });
});
