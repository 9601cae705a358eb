// @ts-check
// esbuild plugins for serverless-esbuild (serverless.yml custom.esbuild.plugins) and for
// test/support/bundle.ts, so tests and the bench build exactly what ships. CommonJS because
// serverless-esbuild loads this file with require().
const fs = require('node:fs');
const path = require('node:path');

/** @param {import('esbuild').BuildOptions} options */
function singleEntry(options) {
  const entries = Array.isArray(options.entryPoints) ? options.entryPoints : Object.values(options.entryPoints ?? {});
  if (entries.length !== 1) throw new Error(`sensorfleet esbuild plugins expect one entry point per build (serverless-esbuild builds each handler alone), got ${entries.length}`);
  const first = entries[0];
  return typeof first === 'string' ? first : first.in;
}

/**
 * Opt-in, for test/integration/package.test.ts: with SENSORFLEET_ESBUILD_RECORD_DIR set, writes
 * `<dir>/<entry name>.json` = { options, metafile } of each build: the options as serverless-esbuild
 * passed them (before the plugins below adjust them) and esbuild's metafile of what it wrote. The
 * output is the same bytes with or without it.
 *
 * @type {import('esbuild').Plugin}
 */
const recordBuild = {
  name: 'sensorfleet-record-build',
  setup(build) {
    const dir = process.env.SENSORFLEET_ESBUILD_RECORD_DIR;
    if (!dir) return;
    const options = build.initialOptions;
    const entry = singleEntry(options);
    const recorded = JSON.parse(JSON.stringify({ ...options, plugins: (options.plugins ?? []).map((p) => p.name) }));
    options.metafile = true;
    build.onEnd((result) => {
      if (!result.metafile) return;
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, `${path.basename(entry, path.extname(entry))}.json`), JSON.stringify({ options: recorded, metafile: result.metafile }));
    });
  },
};

/**
 * Writes the code-split chunks of an entry `functions/<name>.ts` to `<name>.chunks/` beside its bundle.
 *
 * serverless-esbuild builds each handler separately into one shared folder, and its per-function zip
 * takes every file of that folder except the other handlers' bundles and the files named after
 * them (`<bundle>.*`, meant for source maps; dist/pack.js filterFilesForZipPackage). With the
 * default chunk names every zip would carry the chunks of all five builds; named `<name>.chunks/…`,
 * each function's zip holds its own entry and its own chunks only.
 *
 * @type {import('esbuild').Plugin}
 */
const chunksBesideEntry = {
  name: 'sensorfleet-chunks-beside-entry',
  setup(build) {
    const options = build.initialOptions;
    if (!options.splitting) return;
    const entry = singleEntry(options);
    // set before the build starts: esbuild reads the options after every plugin's setup has run
    options.chunkNames = `${path.basename(entry, path.extname(entry))}.chunks/[name]-[hash]`;
  },
};

module.exports = [recordBuild, chunksBesideEntry];
