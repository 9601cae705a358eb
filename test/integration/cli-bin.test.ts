import { isAscii } from 'node:buffer';
import { execFile } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Metafile } from 'esbuild';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PlanView } from '../../shared/cli/plan-view';
import { startMoto } from '../sandbox/aws/moto';
import { startTestWorld, type TestWorld } from '../support/world';

/**
 * The `sensorfleet` executable (issue 10): built once at install into dist/cli (esbuild: an ESM bundle,
 * each command and platform a chunk of its own, for help and --version; one CommonJS file that commands
 * run from, compiled from V8's code cache), used while fresh, the TypeScript sources otherwise.
 * Before, every run compiled the sources with tsx and loaded every SDK up front.
 * The checkout is copied to a temporary root, so building and invalidating it touches nobody's files.
 */
const exec = promisify(execFile);
const REPO = resolve(import.meta.dirname, '../..');
let root: string;
let world: TestWorld | undefined;

async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string; err: string }> {
  try {
    const r = await exec(process.execPath, [join(root, 'bin', 'sensorfleet.mjs'), ...args], { env: { ...process.env, ...env }, encoding: 'utf8' });
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, out: e.stdout ?? '', err: e.stderr ?? '' };
  }
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'sensorfleet-checkout-'));
  for (const d of ['bin', 'shared', 'functions', 'events']) cpSync(join(REPO, d), join(root, d), { recursive: true });
  for (const f of ['package.json', 'package-lock.json', 'tsconfig.json', 'serverless.yml']) cpSync(join(REPO, f), join(root, f));
  for (const d of ['node_modules', 'test', 'scripts']) symlinkSync(join(REPO, d), join(root, d));
  // what `npm install` / `npm ci` run after installing: the prepare script
  const prepare = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts.prepare as string;
  const [cmd, ...args] = prepare.split(' ');
  expect(cmd).toBe('node');
  await exec(process.execPath, args.map((a) => (a.endsWith('.mjs') ? join(root, a) : a)), { cwd: root });
}, 120_000);

afterAll(async () => {
  await world?.stop();
});

describe('the CLI bundle', () => {
  it('is what the install step builds, and answers while it is fresh', async () => {
    const v = await cli(['--version']);
    expect(v.code).toBe(0);
    expect(v.out).toMatch(/^sensorfleet \d+\.\d+\.\d+ \(bundle in dist\/cli, node v\d+/);
    const help = await cli(['plan', '--help']);
    expect([help.code, help.out.split('\n')[0]]).toEqual([0, 'sensorfleet plan: dry run: per cluster and object, what would change (a diff) and why']);
  });

  it('falls back to the sources when a file it was built from changed, or when asked to', async () => {
    const manifestFile = join(root, 'dist', 'cli', 'manifest.json');
    const original = readFileSync(manifestFile, 'utf8');
    const manifest = JSON.parse(original) as { inputs: Record<string, number> };
    expect(Object.keys(manifest.inputs)).toEqual(expect.arrayContaining(['shared/cli/main.ts', 'shared/platforms/eks/adapter.ts', 'package-lock.json']));
    try {
      writeFileSync(manifestFile, JSON.stringify({ ...manifest, inputs: { ...manifest.inputs, 'shared/platforms/eks/adapter.ts': 1 } }));
      expect((await cli(['--version'])).out).toMatch(/\(TypeScript sources, /);
    } finally {
      writeFileSync(manifestFile, original);
    }
    expect((await cli(['--version'])).out).toMatch(/\(bundle in dist\/cli, /);
    expect((await cli(['--version'], { SENSORFLEET_CLI_SOURCE: '1' })).out).toMatch(/\(TypeScript sources, /);
  });

  it('runs commands from cli.cjs compiled from a code cache; a missing, corrupt or unwritable cache only costs the compile', async () => {
    const dist = join(root, 'dist', 'cli');
    const manifest = JSON.parse(readFileSync(join(dist, 'manifest.json'), 'utf8')) as { script?: string };
    expect(manifest.script).toBe('cli.cjs');
    expect(isAscii(readFileSync(join(dist, 'cli.cjs')))).toBe(true); // read as latin1, not decoded: its licence notices are in a file of their own
    // the Azure and Google SDKs are in vendor files of their own, read only for AKS and GKE clusters
    const inputs = Object.keys((JSON.parse(readFileSync(join(dist, 'meta-cjs.json'), 'utf8')) as Metafile).inputs);
    expect(inputs).toEqual(expect.arrayContaining(['shared/platforms/gke/adapter.ts', 'shared/platforms/aks/adapter.ts']));
    expect(inputs.filter((i) => /node_modules\/(@azure|@google-cloud|google-auth-library|google-gax)\//.test(i))).toEqual([]);
    const caches = () => readdirSync(dist).filter((f) => /^cli\.cjs\.event\..*\.cache$/.test(f));
    const normalize = () => cli(['event', 'normalize', join(root, 'events', 'aws', 'eventbridge-eks-createcluster.json')]);
    const first = await normalize();
    expect(first.code, first.err).toBe(0);
    expect(JSON.parse(first.out)).toEqual([expect.objectContaining({ kind: 'cluster-created' })]);
    expect(caches()).toHaveLength(1); // written after the first run of the command
    const cacheFile = join(dist, caches()[0]!);

    writeFileSync(cacheFile, 'not a V8 code cache');
    expect(await normalize()).toEqual(first); // refused by V8, compiled, and written anew
    expect(readFileSync(cacheFile).length).toBeGreaterThan(1000);
    expect(await normalize()).toEqual(first); // from the cache

    chmodSync(dist, 0o555); // a read-only install (as root the directory stays writable; the run must not care either way)
    try {
      rmSync(cacheFile, { force: true });
      expect(await normalize()).toEqual(first);
    } finally {
      chmodSync(dist, 0o755);
    }
    expect((await cli(['plna'])).code).toBe(2);
    expect(readdirSync(dist).filter((f) => f.startsWith('cli.cjs.plna'))).toEqual([]); // a typo leaves no cache behind
  });

  it('loads a platform\'s code only when used: plan of an EKS cluster statically loads no ECS, DynamoDB, Azure, Google or Qualys code', () => {
    const meta = JSON.parse(readFileSync(join(root, 'dist', 'cli', 'meta.json'), 'utf8')) as Metafile;
    const byName = new Map(Object.entries(meta.outputs).map(([path, out]) => [basename(path), { path, out }]));
    const closure = (start: string): Set<string> => {
      const seen = new Set<string>();
      const visit = (name: string) => {
        if (seen.has(name)) return;
        seen.add(name);
        for (const i of byName.get(name)!.out.imports) if (i.kind === 'import-statement' && !i.external) visit(basename(i.path));
      };
      visit(start);
      return seen;
    };
    const inputsOf = (names: Set<string>) => [...names].flatMap((n) => Object.keys(byName.get(n)!.out.inputs));
    const chunkOf = (source: string) => [...byName.entries()].find(([, o]) => o.out.entryPoint === source)?.[0];

    const startup = inputsOf(closure('main.mjs'));
    expect(startup.filter((i) => i.includes('node_modules/'))).toEqual([]); // --help loads no dependency at all

    const plan = inputsOf(closure(chunkOf('shared/cli/commands/fleet-run.ts')!));
    for (const heavy of ['@aws-sdk/client-ecs', '@aws-sdk/client-eks', '@aws-sdk/client-dynamodb', '@aws-sdk/client-secrets-manager', '@azure/', '@google-cloud/', 'axios', 'node_modules/yaml/']) {
      expect(plan.filter((i) => i.includes(heavy)), heavy).toEqual([]);
    }
    const eks = inputsOf(closure(chunkOf('shared/platforms/eks/adapter.ts')!));
    expect(eks.some((i) => i.includes('@aws-sdk/client-eks'))).toBe(true);
    expect(eks.some((i) => i.includes('@aws-sdk/client-ecs'))).toBe(false);
  });

  it('plan from the bundle reaches the sandbox and says what the sources say', async () => {
    world = await startTestWorld(inject('motoUrl'));
    const { sandbox } = world;
    const { ref } = await sandbox.fleet.createEksCluster({ name: `bin-${Date.now().toString(36)}`, nodes: [{ name: 'bin-1' }] });
    const env = { SENSORFLEET_CONFIG: JSON.stringify({ targets: { aws: [{ accountId: sandbox.aws.accountId, regions: [sandbox.aws.region] }] } }) };
    const bundled = await cli(['plan', '--cluster', ref, '-o', 'json'], env);
    expect(bundled.code, bundled.err).toBe(0);
    const sources = await cli(['plan', '--cluster', ref, '-o', 'json'], { ...env, SENSORFLEET_CLI_SOURCE: '1' });
    const strip = (v: PlanView) => ({ ...v, calls: undefined });
    expect(strip(JSON.parse(bundled.out) as PlanView)).toEqual(strip(JSON.parse(sources.out) as PlanView));
    expect((JSON.parse(bundled.out) as PlanView).summary).toMatchObject({ clusters: 1, clustersToChange: 1, update: 0 });
  }, 120_000);
});

describe('without moto_server', () => {
  const nodeOnly = () => {
    const dir = mkdtempSync(join(tmpdir(), 'path-without-moto-'));
    mkdirSync(join(dir, 'bin'));
    symlinkSync(process.execPath, join(dir, 'bin', 'node'));
    return join(dir, 'bin');
  };

  it('startMoto says what to install, in one line', async () => {
    const saved = process.env.PATH;
    process.env.PATH = nodeOnly();
    try {
      const err = await startMoto().then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err?.name).toBe('MotoStartError');
      expect(err?.stack).toBe("MotoStartError: moto_server is not installed (not found on PATH): the sandbox needs Python moto 5 with its server, e.g. pip install 'moto[server]>=5,<6'");
    } finally {
      process.env.PATH = saved;
    }
  });

  it('the demo stops with that one line and exit 1, not a stack trace', async () => {
    const r = await exec(process.execPath, [join(REPO, 'bin', 'sensorfleet.mjs'), 'demo'], { env: { ...process.env, PATH: nodeOnly() }, encoding: 'utf8' }).then(
      (x) => ({ code: 0, err: x.stderr }),
      (e: { code: number; stderr: string }) => ({ code: e.code, err: e.stderr }),
    );
    expect(r.code).toBe(1);
    expect(r.err.trim().split('\n')).toEqual(["sensorfleet demo: moto_server is not installed (not found on PATH): the sandbox needs Python moto 5 with its server, e.g. pip install 'moto[server]>=5,<6'"]);
  }, 60_000);
});

