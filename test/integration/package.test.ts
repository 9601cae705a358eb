import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { BuildOptions, Metafile } from 'esbuild';
import { functionBuildOptions, outputGraph, staticClosure, type FunctionBundle, type OutputFile } from '../support/bundle';

/**
 * `npx serverless package` (osls + serverless-esbuild) once, offline, with no AWS credentials and a
 * HOME without ~/.aws; then per function, from esbuild's metafile of that very build (recorded by
 * scripts/esbuild-plugins.cjs): its zip holds its ESM entry and exactly the chunks of its own chunk
 * graph, what a cold start loads stays under 1 MB (DESIGN §7), the Azure and Google SDKs are only in
 * chunks loaded by import(), and every file imports from the unzipped package alone in a fresh node
 * process. test/support/bundle.ts (e2e tests, bench) must build with the same esbuild options.
 */
const MAX_COLD_BYTES = 1024 * 1024;
const PACKAGE_TIMEOUT_MS = 300_000;
/** Code the AWS path must never load: the Azure and Google SDKs and what only they use. */
const CLOUD_SDK = /(^|\/)node_modules\/(@azure\/|@azure-rest\/|@google-cloud\/|google-auth-library\/|google-gax\/|@grpc\/|gaxios\/|gcp-metadata\/)/;
/** The cloud halves shared/engine/build.ts loads with import() (placeholders until AKS/GKE land). */
const CLOUD_ADAPTERS = ['shared/platforms/aks/adapter.ts', 'shared/platforms/gke/adapter.ts'];

function cleanEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^AWS_/.test(k) || k.startsWith('VITEST') || k === 'NODE_OPTIONS') continue;
    env[k] = v;
  }
  return { ...env, HOME: home, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off' };
}

/** Runs the packager in its own process group so a hung build (esbuild service left running) can be ended. */
function runPackage(outDir: string, env: NodeJS.ProcessEnv): Promise<{ rc: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('npx', ['serverless', 'package', '--stage', 'ci', '--package', outDir], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const stop = (why: string) => {
      output += `\n[package test] ${why}; stopping it`;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
    };
    // after a failed esbuild build osls prints its error and then does not exit (the esbuild
    // service keeps the event loop alive): stop it shortly after the error instead of waiting
    let errorTimer: NodeJS.Timeout | undefined;
    const onData = (d: Buffer) => {
      output += d.toString();
      if (!errorTimer && /\nError:\s*\n/.test(output)) errorTimer = setTimeout(() => stop('osls reported an error and did not exit'), 5_000);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setTimeout(() => stop(`no exit after ${PACKAGE_TIMEOUT_MS} ms`), PACKAGE_TIMEOUT_MS);
    child.on('exit', (rc) => {
      clearTimeout(timer);
      clearTimeout(errorTimer);
      resolve({ rc, output });
    });
  });
}

/** Imports the files in one fresh node process; returns the wall time of each import in ms. */
function importFresh(files: string[], env: NodeJS.ProcessEnv): number[] {
  const script = `const out = []; for (const f of ${JSON.stringify(files.map((f) => pathToFileURL(f).href))}) { const t = performance.now(); await import(f); out.push(performance.now() - t); } process.stdout.write(JSON.stringify(out));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...env, AWS_REGION: 'us-east-1', SENSORFLEET_CONFIG: '{}', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`import of ${files.join(', ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as number[];
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name).slice(dir.length + 1))
    .sort();
}

const kb = (n: number) => `${(n / 1024).toFixed(0)} KB`;

interface Packaged {
  fn: string;
  entry: string;
  zip: string;
  unzipped: string;
  /** The esbuild options serverless-esbuild built this function with. */
  options: BuildOptions;
  bundle: FunctionBundle;
  cold: OutputFile[];
}

/** Options as JSON (plugins by name), so two option sets compare as data. */
function comparable(options: BuildOptions): unknown {
  return JSON.parse(JSON.stringify({ ...options, plugins: (options.plugins ?? []).map((p) => (typeof p === 'string' ? p : p.name)) }));
}

describe('serverless package (offline, no AWS credentials)', () => {
  const functions = Object.entries((parse(readFileSync('serverless.yml', 'utf8')) as { functions: Record<string, { handler: string }> }).functions);
  const work = mkdtempSync(join(tmpdir(), 'sensorfleet-package-'));
  const home = join(work, 'home');
  const outDir = join(work, 'out');
  mkdirSync(home);
  const record = join(work, 'esbuild-record');
  const env = cleanEnv(home);
  let packaged: { rc: number | null; output: string };
  const results: Packaged[] = [];

  beforeAll(async () => {
    packaged = await runPackage(outDir, { ...env, SENSORFLEET_ESBUILD_RECORD_DIR: record });
    if (packaged.rc !== 0) return;
    for (const [fn, { handler }] of functions) {
      const zip = join(outDir, `${fn}.zip`);
      const unzipped = join(work, 'unzipped', fn);
      mkdirSync(unzipped, { recursive: true });
      if (existsSync(zip)) {
        const unzip = spawnSync('unzip', ['-q', '-o', zip, '-d', unzipped], { encoding: 'utf8' });
        if (unzip.status !== 0) throw new Error(`unzip ${zip}: ${unzip.stderr}`);
      }
      const entry = `${handler.slice(0, handler.lastIndexOf('.'))}.ts`;
      const recorded = JSON.parse(readFileSync(join(record, `${basename(entry, '.ts')}.json`), 'utf8')) as { options: BuildOptions; metafile: Metafile };
      // zip paths are relative to serverless-esbuild's build folder: outdir is <build folder>/<dir of the entry>
      const root = recorded.options.outdir!.slice(0, -dirname(entry).length - 1);
      const bundle = outputGraph(recorded.metafile, root);
      results.push({ fn, entry, zip, unzipped, options: recorded.options, bundle, cold: staticClosure(bundle) });
    }
  }, PACKAGE_TIMEOUT_MS + 60_000);

  it('packages every function offline into its own zip', () => {
    expect(existsSync(join(home, '.aws'))).toBe(false);
    expect(packaged.rc, packaged.output.slice(-3000)).toBe(0);
    expect(functions.map(([fn]) => fn)).toEqual(expect.arrayContaining(['on-aws-event', 'reconcile-worker', 'nightly', 'redeploy', 'qualys-hygiene']));
    for (const { fn, zip } of results) expect(existsSync(zip), `${fn}.zip`).toBe(true);
  });

  it('each zip holds its entry and exactly its own chunks, and nothing else', () => {
    expect(results).toHaveLength(functions.length);
    for (const { fn, unzipped, bundle } of results) {
      expect(bundle.entry).toBe(`functions/${fn}.mjs`);
      // every import of every file (static and import()) is a file of this bundle
      for (const file of bundle.files.values()) for (const target of [...file.staticImports, ...file.dynamicImports]) expect(bundle.files.has(target), `${fn}: ${file.path} imports ${target}`).toBe(true);
      expect(filesUnder(unzipped), `${fn}.zip: the entry, its chunks, nothing else`).toEqual([...bundle.files.keys()].sort());
      for (const [path, file] of bundle.files) expect(statSync(join(unzipped, path)).size, `${fn}.zip: ${path}`).toBe(file.bytes);
    }
  });

  it('test/support/bundle.ts (e2e tests, bench) builds with the options serverless-esbuild used', () => {
    expect(results).toHaveLength(functions.length);
    for (const { fn, entry, options, bundle } of results) expect(comparable(functionBuildOptions(entry, bundle.root)), fn).toEqual(comparable(options));
  });

  it('what a cold start loads (entry + its static chunks) is under 1 MB; prints sizes and cold imports from the unzipped package', () => {
    expect(results).toHaveLength(functions.length);
    const rows = results.map(({ fn, zip, unzipped, bundle, cold }) => {
      // median of 3 fresh node processes, importing from the unzipped zip: it needs nothing else
      const ms = [0, 1, 2].map(() => importFresh([join(unzipped, bundle.entry)], env)[0]!).sort((a, b) => a - b)[1]!;
      const lazy = [...bundle.files.values()].filter((f) => !cold.includes(f));
      return { fn, entry: bundle.files.get(bundle.entry)!.bytes, cold: cold.reduce((n, f) => n + f.bytes, 0), coldFiles: cold.length, lazy, zip: statSync(zip).size, ms };
    });
    console.log(
      `serverless package: entry, cold-start load (entry + static chunks), lazy chunks, zip; cold import = median of 3 fresh node processes\n${rows
        .map((r) => {
          const largest = [...r.lazy].sort((a, b) => b.bytes - a.bytes).slice(0, 2);
          return `  ${r.fn.padEnd(17)} entry ${kb(r.entry).padStart(7)}  cold ${kb(r.cold).padStart(7)} in ${r.coldFiles} files  lazy ${r.lazy.length} chunks (largest ${largest.map((f) => kb(f.bytes)).join(', ')})  zip ${kb(r.zip).padStart(7)}  import ${r.ms.toFixed(1)} ms`;
        })
        .join('\n')}`,
    );
    // Size is deterministic and asserted; import time depends on the machine's load, so it is
    // printed here and measured in `npm run bench` (DESIGN §7: benchmarks, not timed tests).
    for (const r of rows) expect(r.cold, `${r.fn}: entry + static chunks`).toBeLessThan(MAX_COLD_BYTES);
  });

  it('keeps the Azure and Google SDKs out of what a cold start loads: the AKS and GKE halves are import() chunks', () => {
    expect(results).toHaveLength(functions.length);
    for (const { fn, bundle, cold } of results) {
      for (const file of cold) {
        const cloudInputs = Object.keys(file.inputs).filter((i) => CLOUD_SDK.test(i) || CLOUD_ADAPTERS.includes(i));
        expect(cloudInputs, `${fn}: ${file.path} is loaded at cold start`).toEqual([]);
      }
      // where a function can handle AKS/GKE clusters at all, each cloud half is the target of an import()
      const dynamicTargets = new Set([...bundle.files.values()].flatMap((f) => f.dynamicImports));
      for (const adapter of CLOUD_ADAPTERS) {
        const holder = [...bundle.files.values()].find((f) => adapter in f.inputs);
        if (holder) expect(dynamicTargets.has(holder.path), `${fn}: ${adapter} is in ${holder.path}, loaded by import()`).toBe(true);
      }
    }
    // the worker, nightly and redeploy build the engine, so they carry both cloud halves
    for (const fn of ['reconcile-worker', 'nightly', 'redeploy']) {
      const { bundle } = results.find((r) => r.fn === fn)!;
      for (const adapter of CLOUD_ADAPTERS) expect([...bundle.files.values()].some((f) => adapter in f.inputs), `${fn} bundles ${adapter}`).toBe(true);
    }
  });

  it('every import() chunk loads from the unzipped package in a fresh process (the banner gives chunks require/__dirname)', () => {
    expect(results).toHaveLength(functions.length);
    for (const { fn, unzipped, bundle } of results) {
      const targets = [...new Set([...bundle.files.values()].flatMap((f) => f.dynamicImports))].sort();
      expect(targets.length, `${fn}: import() chunks`).toBeGreaterThan(0);
      const times = importFresh([join(unzipped, bundle.entry), ...targets.map((t) => join(unzipped, t))], env);
      expect(times).toHaveLength(targets.length + 1);
    }
  });
});
