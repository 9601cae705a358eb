#!/usr/bin/env node
// The `sensorfleet` command. It runs the bundle that the install step built into dist/cli (fast: no
// TypeScript compiled at run time, each command's code loaded only when used) while that bundle is
// fresh, and otherwise the TypeScript sources through tsx, so an edited checkout runs what it says.
// `demo`, `sandbox` and `invoke` always run from the sources: they use test/sandbox and
// test/support (the sandbox; the deployment bundler), which are not part of the bundle.
// SENSORFLEET_CLI_SOURCE=1 forces the sources.
import { readFileSync, statSync } from 'node:fs';

// Local runs use Node 20 (Lambda runs nodejs22.x); the pinned SDK supports it, so its notice is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const argv = process.argv.slice(2);
const SOURCE_ONLY = new Set(['demo', 'sandbox', 'invoke']);
const root = new URL('../', import.meta.url);

const bundle = process.env.SENSORFLEET_CLI_SOURCE || (SOURCE_ONLY.has(argv[0]) && !isHelp(argv)) ? undefined : freshBundle();
let main;
if (bundle) {
  ({ main } = await import(bundle));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../shared/cli/main.ts'));
}
const code = await main(argv);
// done: exit now, once stdout and stderr are flushed; kept-alive connections (AWS SDK and Kubernetes
// agents) would otherwise hold the process open until they time out
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));

/** dist/cli/main.mjs when every file it was built from is unchanged since the build. */
function freshBundle() {
  const dist = new URL('dist/cli/', root);
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(new URL('manifest.json', dist), 'utf8'));
  } catch {
    return undefined;
  }
  for (const [file, mtimeMs] of Object.entries(manifest.inputs)) {
    try {
      if (statSync(new URL(file, root)).mtimeMs !== mtimeMs) return undefined;
    } catch {
      return undefined;
    }
  }
  return new URL(manifest.entry, dist).href;
}

function isHelp(args) {
  return args.includes('--help') || args.includes('-h');
}
