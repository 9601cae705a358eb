#!/usr/bin/env node
// The `sensorfleet` command. It runs the bundle that the install step built into dist/cli (fast: no
// TypeScript compiled at run time, each command's code loaded only when used) while that bundle is
// fresh, and otherwise the TypeScript sources through tsx, so an edited checkout runs what it says.
// `demo`, `sandbox` and `invoke` always run from the sources: they use test/sandbox and
// test/support (the sandbox; the deployment bundler), which are not part of the bundle.
// SENSORFLEET_CLI_SOURCE=1 forces the sources.
// Of the bundle, help and --version load the small ESM entry (dist/cli/main.mjs and the command table);
// commands run from dist/cli/cli.cjs, compiled from V8's code cache (code-cache.mjs).
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// Local runs use Node 20 (Lambda runs nodejs22.x); the pinned SDK supports it, so its notice is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const argv = process.argv.slice(2);
const SOURCE_ONLY = new Set(['demo', 'sandbox', 'invoke']);
const root = new URL('../', import.meta.url);
const dist = new URL('dist/cli/', root);

const manifest = process.env.SENSORFLEET_CLI_SOURCE || (SOURCE_ONLY.has(argv[0]) && !isHelp(argv)) ? undefined : readManifest();
let main;
let cache;
if (manifest && isFresh(manifest)) {
  // a bundle that does not load (a build cut short) is not used either
  try {
    if (manifest.script && !answersFromTable(argv)) {
      const { runScript } = await import('./code-cache.mjs');
      ({ exports: { main }, cache } = runScript(new URL(manifest.script, dist), cacheLabel(argv)));
    } else {
      ({ main } = await import(new URL(manifest.entry, dist).href));
    }
  } catch {
    main = undefined;
    cache = undefined;
  }
}
if (!main) {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../shared/cli/main.ts'));
}
const code = await main(argv);
// after the first run of a command (or after Node changed), the code it compiled is kept for the next;
// not after a usage error (exit 2): `sensorfleet plna` leaves no cache behind
if (code !== 2) cache?.save();
// done: exit now, once stdout and stderr are flushed; kept-alive connections (AWS SDK and Kubernetes
// agents) would otherwise hold the process open until they time out
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));

/** dist/cli/manifest.json: the entries the build wrote and the source files (with mtimes) it read. */
function readManifest() {
  try {
    return JSON.parse(readFileSync(new URL('manifest.json', dist), 'utf8'));
  } catch {
    return undefined;
  }
}

/** Whether every file the bundle was built from is unchanged since the build (~160 stat calls, about a millisecond). */
function isFresh(built) {
  const base = fileURLToPath(root);
  return Object.entries(built.inputs).every(([file, mtimeMs]) => statSync(`${base}${file}`, { throwIfNoEntry: false })?.mtimeMs === mtimeMs);
}

/**
 * Which code cache a run uses: one per command and the platforms of the clusters it names (`plan
 * --cluster aws-eks:…` and a GKE plan compile different code; the first run of each keeps what it compiled).
 */
function cacheLabel(args) {
  const platforms = new Set(args.flatMap((a) => /^(aws-ecs|aws-eks|azure-aks|gcp-gke):/.exec(a)?.[1] ?? []));
  return [args[0], ...[...platforms].sort()].join('-');
}

function isHelp(args) {
  return args.includes('--help') || args.includes('-h');
}

/** What main.ts answers from the command table alone: help, --version, no or an unknown command. */
function answersFromTable(args) {
  return args.length === 0 || args[0].startsWith('-') || args[0] === 'help' || isHelp(args);
}
