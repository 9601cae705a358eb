// Runs the CLI's CommonJS bundle (dist/cli/cli.cjs) compiled from V8's code cache, as v8-compile-cache
// does for require(): Node 20 has no compile cache for ES modules, and compiling the bundle's code was
// most of a command's start-up. One cache per command (each keeps the functions that command compiled),
// next to the bundle, and one per vendor file (the Azure and Google SDKs, required by cli.cjs when an
// AKS or GKE cluster is handled). A cache is named after its file's size and mtime, so a rebuilt bundle
// never meets an old cache, and V8 itself refuses a cache from another Node/V8 version or other flags
// (then it is written anew). A missing, unreadable, refused or unwritable cache only costs the compile.
import { isAscii } from 'node:buffer';
import { readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire, Module } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

const VENDOR_FILE = /^\.\/vendor-[a-z]+\.cjs$/;

/** The bundle's exports, and the caches to save once the command is done; `label` names the command's cache. */
export function runScript(url, label = 'cli') {
  const file = fileURLToPath(url);
  const compiled = [compile(file, String(label).replace(/[^a-z-]/g, '') || 'cli')];
  const vendors = new Map();
  const base = createRequire(file);
  // the bundle's require: its vendor files from their code caches too, everything else as Node requires it
  const require = Object.assign((id) => {
    if (!VENDOR_FILE.test(id)) return base(id);
    if (!vendors.has(id)) {
      const vendor = compile(join(dirname(file), id));
      compiled.push(vendor);
      vendors.set(id, evaluate(vendor, base));
    }
    return vendors.get(id);
  }, base);
  return { exports: evaluate(compiled[0], require), cache: { save: () => compiled.forEach((c) => c.save()) } };
}

function compile(file, label) {
  const bytes = readFileSync(file);
  // esbuild writes ASCII (cli.cjs's licence notices go to a file of their own): read as latin1, a copy, not decoded as UTF-8
  const source = bytes.toString(isAscii(bytes) ? 'latin1' : 'utf8');
  const { size, mtimeMs } = statSync(file);
  const stamp = `${size}-${Math.trunc(mtimeMs)}`;
  const cacheFile = `${file}.${label ? `${label}.` : ''}${stamp}.cache`;
  // else the build's cache (bin/build-cli.mjs: the file compiled, nothing run), so no first run compiles it all
  const own = readCache(cacheFile);
  const cachedData = own ?? (label ? readCache(`${file}.${stamp}.cache`) : undefined);
  const script = new vm.Script(Module.wrap(source), { filename: file, ...(cachedData ? { cachedData } : {}) });
  const kept = own !== undefined && script.cachedDataRejected !== true;
  return { file, script, save: () => kept || save(cacheFile, script) };
}

/** The cache the build or an earlier run wrote, if any. */
function readCache(cacheFile) {
  try {
    return readFileSync(cacheFile);
  } catch {
    return undefined;
  }
}

/** Writes the code cache of a script that was only compiled, not run (bin/build-cli.mjs, for cli.cjs). */
export function writeBuildCache(file) {
  const source = readFileSync(file);
  const { size, mtimeMs } = statSync(file);
  const script = new vm.Script(Module.wrap(source.toString(isAscii(source) ? 'latin1' : 'utf8')), { filename: file });
  save(`${file}.${size}-${Math.trunc(mtimeMs)}.cache`, script);
}

function evaluate({ file, script }, require) {
  const module = { exports: {} };
  script.runInThisContext().call(module.exports, module.exports, require, module, file, dirname(file));
  return module.exports;
}

function save(cacheFile, script) {
  const tmp = `${cacheFile}.${process.pid}`;
  try {
    writeFileSync(tmp, script.createCachedData());
    renameSync(tmp, cacheFile); // atomic: a concurrent run reads the old cache or the new one, never half of one
  } catch {
    // a read-only install: every run compiles, as without a cache
    try {
      unlinkSync(tmp);
    } catch {
      // never written
    }
  }
}
