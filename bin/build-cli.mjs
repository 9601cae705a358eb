#!/usr/bin/env node
// Builds the CLI once, at install (package.json `prepare`, which `npm install` and `npm ci` run), into
// dist/cli, twice from the same sources:
//   - main.mjs: an ESM bundle with each command and each platform in a chunk of its own. Help, --version
//     and usage errors load only main.mjs and the command table (no dependency at all).
//   - cli.cjs: one CommonJS file for running commands. Node 20 has no compile cache for ES modules, and
//     parsing and compiling the ~40 chunks a `plan` loads was most of its start-up; a script can be
//     compiled from V8's code cache instead (bin/code-cache.mjs: the build writes one, and each command
//     keeps its own after its first run). Each module that a command imports on use (a platform, the
//     desired state, the fleet table) stays behind a lazy initialiser (esbuild wraps dynamically imported
//     modules), and V8 compiles a function only when it first runs: a platform's code is compiled and run
//     only when used. The Azure and Google SDKs are in vendor files of their own (vendor-azure.cjs,
//     vendor-google.cjs), read only when an AKS or GKE cluster is handled.
// bin/sensorfleet.mjs uses them while they are fresh (manifest.json lists every source file they were
// built from) and falls back to running the TypeScript sources otherwise.
import { builtinModules } from 'node:module';
import { mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'cli');
const quiet = process.argv.includes('--quiet');
/** Packages that go into a vendor file of cli.cjs (each with everything it imports, so each is bundled once). */
const VENDOR = {
  'vendor-azure': ['@azure/arm-containerservice', '@azure/identity', '@azure/core-rest-pipeline'],
  'vendor-google': ['@google-cloud/container', 'google-auth-library'],
};

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
const common = {
  absWorkingDir: root,
  entryPoints: { main: 'shared/cli/main.ts' },
  outdir: staging,
  bundle: true,
  platform: 'node',
  target: 'node20',
  minify: true,
  metafile: true,
  mainFields: ['module', 'main'],
  external: ['esbuild'],
  logLevel: 'warning',
};
const [result, script] = await Promise.all([
  esbuild.build({
    ...common,
    splitting: true,
    format: 'esm',
    outExtension: { '.js': '.mjs' },
    chunkNames: '[name]-[hash]',
    // on every output file: bundled CommonJS code calls require() for Node built-ins and reads
    // __filename/__dirname (google-gax does, toolchain.md §7); an ES module has none of them
    banner: {
      js: "import{createRequire as __sfRequire}from'node:module';import{fileURLToPath as __sfPath}from'node:url';import{dirname as __sfDir}from'node:path';const require=__sfRequire(import.meta.url);const __filename=__sfPath(import.meta.url);const __dirname=__sfDir(__filename);",
    },
    plugins: [sourceOnly()],
  }),
  esbuild.build({
    ...common,
    entryPoints: { cli: 'shared/cli/main.ts' },
    format: 'cjs',
    outExtension: { '.js': '.cjs' },
    // the licence notices go to cli.cjs.LEGAL.txt: they are the only non-ASCII text, and the launcher
    // reads an ASCII file as latin1, a copy, instead of decoding it as UTF-8 on every run
    legalComments: 'external',
    // the sources' one use of import.meta (main.ts: which build answers --version)
    define: { 'import.meta.url': '__sfImportMetaUrl' },
    banner: { js: "const __sfImportMetaUrl=require('node:url').pathToFileURL(__filename).href;" },
    plugins: [sourceOnly(), builtinsRequired(), vendorRequired()],
  }),
  // the Azure and Google SDKs (4.8 MB of the 6.6) in files of their own, read only when an AKS or GKE
  // cluster is handled: the code cache of cli.cjs, which every command reads whole, is half the size then
  ...Object.entries(VENDOR).map(([name, packages]) =>
    esbuild.build({
      ...common,
      entryPoints: { [name]: `sensorfleet-vendor:${name}` },
      format: 'cjs',
      outExtension: { '.js': '.cjs' },
      legalComments: 'external',
      metafile: false,
      plugins: [vendorEntry(packages)],
    }),
  ),
]);

// Freshness: the launcher compares these against the files on disk before every run.
const inputs = {};
const sources = new Set([...Object.keys(result.metafile.inputs), ...Object.keys(script.metafile.inputs)].filter((f) => !f.includes('node_modules/')));
for (const file of [...sources, 'package.json', 'package-lock.json']) {
  try {
    inputs[file] = statSync(join(root, file)).mtimeMs;
  } catch {
    // package-lock.json may be absent
  }
}
writeFileSync(join(staging, 'manifest.json'), JSON.stringify({ entry: 'main.mjs', script: 'cli.cjs', node: process.version, inputs }));
// which source modules went into which output file (read by test/integration/cli-bin.test.ts and for size analysis)
writeFileSync(join(staging, 'meta.json'), JSON.stringify(result.metafile));
writeFileSync(join(staging, 'meta-cjs.json'), JSON.stringify(script.metafile));
rmSync(outdir, { recursive: true, force: true });
mkdirSync(dirname(outdir), { recursive: true });
renameSync(staging, outdir);
// cli.cjs compiled once here, so that even the first run of a command starts from a code cache
const { writeBuildCache } = await import('./code-cache.mjs');
writeBuildCache(join(outdir, 'cli.cjs'));
const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
const scriptBytes = Object.values(script.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
if (!quiet) {
  process.stderr.write(
    `sensorfleet: CLI built into ${relative(root, outdir)}/ (ESM: ${Object.keys(result.metafile.outputs).length} files, ${(bytes / 1024).toFixed(0)} KB; cli.cjs ${(scriptBytes / 1024).toFixed(0)} KB) in ${(performance.now() - t0).toFixed(0)} ms\n`,
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

/** In cli.cjs, an import of a vendored package is a require() of its vendor file, made when the importing module first runs. */
function vendorRequired() {
  const fileOf = new Map(Object.entries(VENDOR).flatMap(([name, packages]) => packages.map((p) => [p, `./${name}.cjs`])));
  return {
    name: 'sensorfleet-vendor-required',
    setup(build) {
      build.onResolve({ filter: /^[@a-z]/ }, (args) => (fileOf.has(args.path) ? { path: args.path, namespace: 'sensorfleet-vendored' } : undefined));
      build.onResolve({ filter: /^\.\/vendor-[a-z]+\.cjs$/ }, (args) => ({ path: args.path, external: true }));
      build.onLoad({ filter: /.*/, namespace: 'sensorfleet-vendored' }, (args) => ({
        contents: `module.exports = require(${JSON.stringify(fileOf.get(args.path))})[${JSON.stringify(args.path)}];`,
        loader: 'js',
      }));
    },
  };
}

/** A vendor file's entry: its packages by name. */
function vendorEntry(packages) {
  return {
    name: 'sensorfleet-vendor-entry',
    setup(build) {
      build.onResolve({ filter: /^sensorfleet-vendor:/ }, (args) => ({ path: args.path, namespace: 'sensorfleet-vendor-entry' }));
      build.onLoad({ filter: /.*/, namespace: 'sensorfleet-vendor-entry' }, () => ({
        contents: `module.exports = {${packages.map((p) => `${JSON.stringify(p)}: require(${JSON.stringify(p)})`).join(', ')}};`,
        loader: 'js',
        resolveDir: root,
      }));
    },
  };
}

/**
 * `await import('node:os')` stays a dynamic import in CommonJS output, and a function compiled from V8's
 * code cache has no dynamic-import callback ("A dynamic import callback was not specified"): built-ins
 * imported on use are require()d instead (they are loaded in Node already; nothing is lost).
 */
function builtinsRequired() {
  const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
  return {
    name: 'sensorfleet-builtins-required',
    setup(build) {
      build.onResolve({ filter: /^[a-z_:/]+$/ }, (args) => (args.kind === 'dynamic-import' && builtins.has(args.path) ? { path: args.path, namespace: 'sensorfleet-builtin' } : undefined));
      build.onLoad({ filter: /.*/, namespace: 'sensorfleet-builtin' }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)});`, loader: 'js' }));
    },
  };
}
