#!/usr/bin/env node
// Builds the CLI once, at install (package.json `prepare`, which `npm install` and `npm ci` run): an
// ESM bundle under dist/cli with each command and each platform in a chunk of its own, so a command
// loads only the code it runs. bin/sensorfleet.mjs uses it while it is fresh (manifest.json lists
// every source file it was built from) and falls back to running the TypeScript sources otherwise.
import { mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'cli');
const quiet = process.argv.includes('--quiet');

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  // production installs (--omit=dev) have no esbuild: the CLI then runs from the sources
  if (!quiet) process.stderr.write('sensorfleet: esbuild is not installed; the CLI will run from the TypeScript sources\n');
  process.exit(0);
}

const staging = `${outdir}.${process.pid}`;
rmSync(staging, { recursive: true, force: true });
const t0 = performance.now();
const result = await esbuild.build({
  absWorkingDir: root,
  entryPoints: { main: 'shared/cli/main.ts' },
  outdir: staging,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minify: true,
  metafile: true,
  outExtension: { '.js': '.mjs' },
  chunkNames: '[name]-[hash]',
  mainFields: ['module', 'main'],
  // on every output file: bundled CommonJS code calls require() for Node built-ins and reads
  // __filename/__dirname (google-gax does, toolchain.md §7); an ES module has none of them
  banner: {
    js: "import{createRequire as __sfRequire}from'node:module';import{fileURLToPath as __sfPath}from'node:url';import{dirname as __sfDir}from'node:path';const require=__sfRequire(import.meta.url);const __filename=__sfPath(import.meta.url);const __dirname=__sfDir(__filename);",
  },
  external: ['esbuild'],
  plugins: [sourceOnly()],
  logLevel: 'warning',
});

// Freshness: the launcher compares these against the files on disk before every run.
const inputs = {};
for (const file of [...Object.keys(result.metafile.inputs).filter((f) => !f.includes('node_modules/')), 'package.json', 'package-lock.json']) {
  try {
    inputs[file] = statSync(join(root, file)).mtimeMs;
  } catch {
    // package-lock.json may be absent
  }
}
writeFileSync(join(staging, 'manifest.json'), JSON.stringify({ entry: 'main.mjs', node: process.version, inputs }));
// which source modules went into which output file (read by test/integration/cli-bin.test.ts and for size analysis)
writeFileSync(join(staging, 'meta.json'), JSON.stringify(result.metafile));
rmSync(outdir, { recursive: true, force: true });
mkdirSync(dirname(outdir), { recursive: true });
renameSync(staging, outdir);
const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
if (!quiet) {
  process.stderr.write(
    `sensorfleet: CLI built into ${relative(root, outdir)}/ (${Object.keys(result.metafile.outputs).length} files, ${(bytes / 1024).toFixed(0)} KB) in ${(performance.now() - t0).toFixed(0)} ms\n`,
  );
}

/** Imports of test/sandbox and test/support (demo, sandbox, invoke) stay out: those commands always run from the sources. */
function sourceOnly() {
  return {
    name: 'sensorfleet-source-only',
    setup(build) {
      build.onResolve({ filter: /\/test\/(sandbox|support)\// }, (args) => ({ path: args.path, external: true }));
    },
  };
}
