import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

/**
 * `npx serverless package` (osls + serverless-esbuild) offline, with no AWS credentials and a HOME
 * without ~/.aws; then per function: the zip exists, the bundle is under 1 MB (DESIGN §7), and a
 * cold import of the bundled handler in a fresh node process takes under 150 ms (median of 3).
 */
const MAX_BUNDLE_BYTES = 1024 * 1024;
const PACKAGE_TIMEOUT_MS = 300_000;

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

function coldImportMs(file: string, env: NodeJS.ProcessEnv): number {
  const script = `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); process.stdout.write(String(performance.now() - t));`;
  const runs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...env, AWS_REGION: 'us-east-1' }, encoding: 'utf8', timeout: 30_000 });
    if (r.status !== 0) throw new Error(`import of ${file} failed: ${r.stderr}`);
    runs.push(Number(r.stdout));
  }
  return runs.sort((a, b) => a - b)[1]!;
}

function findFiles(dir: string, suffix: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith(suffix))
    .map((f) => join(dir, f));
}

describe('serverless package (offline, no AWS credentials)', () => {
  it('packages every function offline; every bundle is under 1 MB and prints its cold import time', { timeout: PACKAGE_TIMEOUT_MS + 60_000 }, async () => {
    const work = mkdtempSync(join(tmpdir(), 'sensorfleet-package-'));
    const home = join(work, 'home');
    const outDir = join(work, 'out');
    mkdirSync(home);
    const env = cleanEnv(home);
    const { rc, output } = await runPackage(outDir, env);
    expect(existsSync(join(home, '.aws'))).toBe(false);
    expect(rc, output.slice(-3000)).toBe(0);

    const functions = Object.keys((parse(readFileSync('serverless.yml', 'utf8')) as { functions: Record<string, unknown> }).functions);
    expect(functions).toEqual(expect.arrayContaining(['on-aws-event', 'reconcile-worker', 'nightly', 'redeploy', 'qualys-hygiene']));
    const rows: { fn: string; zipBytes: number; bundleBytes: number; coldImportMs: number }[] = [];
    for (const fn of functions) {
      const zip = join(outDir, `${fn}.zip`);
      expect(existsSync(zip), `${fn}.zip`).toBe(true);
      const dir = join(work, 'unzipped', fn);
      mkdirSync(dir, { recursive: true });
      const unzip = spawnSync('unzip', ['-q', '-o', zip, '-d', dir], { encoding: 'utf8' });
      expect(unzip.status, unzip.stderr).toBe(0);
      const bundles = findFiles(dir, '.mjs');
      expect(bundles, `${fn}: one .mjs bundle`).toHaveLength(1);
      expect(findFiles(dir, '.map')).toEqual([]);
      const bundleBytes = statSync(bundles[0]!).size;
      rows.push({ fn, zipBytes: statSync(zip).size, bundleBytes, coldImportMs: Math.round(coldImportMs(bundles[0]!, env) * 10) / 10 });
    }
    console.log(`serverless package: bundle sizes and cold import (median of 3 fresh node processes)\n${rows
      .map((r) => `  ${r.fn.padEnd(18)} bundle ${(r.bundleBytes / 1024).toFixed(0).padStart(5)} KB  zip ${(r.zipBytes / 1024).toFixed(0).padStart(5)} KB  import ${r.coldImportMs} ms`)
      .join('\n')}`);
    // Size is deterministic and asserted; import time depends on the machine's load, so it is
    // printed here and measured in `npm run bench` (DESIGN §7: benchmarks, not timed tests).
    for (const r of rows) expect(r.bundleBytes, `${r.fn} bundle size`).toBeLessThan(MAX_BUNDLE_BYTES);
  });
});
