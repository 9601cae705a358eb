import { mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type BuildOptions, type Metafile, type Plugin } from 'esbuild';
import { parse } from 'yaml';

/**
 * Builds a Lambda handler exactly as `npx serverless package` does (serverless.yml custom.esbuild,
 * turned into esbuild options the way serverless-esbuild 1.57.2 does in dist/bundle.js), so the
 * end-to-end tests and the bench run the artefact that ships: an ESM entry plus the code-split
 * chunks of its dynamic imports. test/integration/package.test.ts checks the bytes are the same.
 */

/** Keys of custom.esbuild that are serverless-esbuild's own; it strips them before calling esbuild. */
const PLUGIN_ONLY_KEYS = [
  'concurrency',
  'zipConcurrency',
  'exclude',
  'nativeZip',
  'packager',
  'packagePath',
  'watch',
  'keepOutputDirectory',
  'packagerOptions',
  'installExtraArgs',
  'outputFileExtension',
  'outputBuildFolder',
  'outputWorkFolder',
  'nodeExternals',
  'skipBuild',
  'skipRebuild',
  'skipBuildExcludeFns',
  'stripEntryResolveExtensions',
  'disposeContext',
];

interface ServerlessYml {
  provider: { runtime: string };
  custom: { esbuild: Record<string, unknown> };
}

let cached: BuildOptions | undefined;

/** esbuild options for every function build (without entryPoints/outdir), read from serverless.yml. */
export function deploymentBuildOptions(): BuildOptions {
  if (cached) return cached;
  const yml = parse(readFileSync('serverless.yml', 'utf8')) as ServerlessYml;
  const custom = yml.custom.esbuild;
  if ('config' in custom) throw new Error('custom.esbuild.config (options from a JS file) is not mirrored by test/support/bundle.ts');
  const exclude = (custom.exclude as string[] | undefined) ?? ['aws-sdk'];
  const extension = (custom.outputFileExtension as string | undefined) ?? '.js';
  const options: Record<string, unknown> = {
    // serverless-esbuild's defaults that are esbuild options (target follows provider.runtime)
    bundle: true,
    platform: 'node',
    target: `node${/^nodejs(\d+)/.exec(yml.provider.runtime)?.[1] ?? '18'}`,
    ...Object.fromEntries(Object.entries(custom).filter(([k]) => !PLUGIN_ONLY_KEYS.includes(k))),
    external: [...((custom.external as string[] | undefined) ?? []), ...(exclude.includes('*') ? [] : exclude)],
    plugins: loadPlugins(custom.plugins),
    ...(extension !== '.js' ? { outExtension: { '.js': extension } } : {}),
  };
  cached = options as BuildOptions;
  return cached;
}

/** custom.esbuild.plugins: a file that serverless-esbuild require()s (an array of plugins). */
function loadPlugins(spec: unknown): Plugin[] {
  if (spec === undefined) return [];
  if (typeof spec !== 'string') throw new Error('custom.esbuild.plugins must name a file');
  const loaded = createRequire(import.meta.url)(resolve(spec)) as unknown;
  if (!Array.isArray(loaded)) throw new Error(`${spec} must export an array of esbuild plugins`);
  return loaded as Plugin[];
}

export interface OutputFile {
  /** Path inside the function's zip, e.g. functions/nightly.mjs or functions/nightly.chunks/adapter-X.mjs. */
  path: string;
  bytes: number;
  /** Chunks loaded with this file (static `import … from`), as zip paths. */
  staticImports: string[];
  /** Chunks loaded on demand (`import()`), as zip paths. */
  dynamicImports: string[];
  /** Source modules in this file and the bytes each contributes. */
  inputs: Record<string, number>;
  /** The module whose import() this chunk answers (the function's own entry for the entry bundle). */
  entryPoint?: string;
}

export interface FunctionBundle {
  /** Directory the zip paths are relative to. */
  root: string;
  /** Absolute path of the entry bundle. */
  entryFile: string;
  /** The entry's zip path. */
  entry: string;
  /** Every output file by zip path. */
  files: Map<string, OutputFile>;
}

/** The esbuild options serverless-esbuild uses for one handler, writing under `root` (the zip's root). */
export function functionBuildOptions(entry: string, root: string): BuildOptions {
  return { ...deploymentBuildOptions(), entryPoints: [entry], outdir: join(root, dirname(entry)) };
}

/** Builds `functions/<name>.ts` into `root` the way the packager does; returns its output graph. */
export async function bundleFunction(entry: string, root: string): Promise<FunctionBundle> {
  const result = await build({ ...functionBuildOptions(entry, root), metafile: true, logLevel: 'silent' });
  return outputGraph(result.metafile, root);
}

/** A build's output graph from its esbuild metafile; `root` is the directory zip paths are relative to. */
export function outputGraph(metafile: Metafile, root: string): FunctionBundle {
  const toZipPath = (p: string) => relative(root, resolve(p));
  const files = new Map<string, OutputFile>();
  let entry: string | undefined;
  for (const [path, out] of Object.entries(metafile.outputs)) {
    const zipPath = toZipPath(path);
    // dynamically imported modules are entry points of their chunk too; the function's own entry is the one outside the chunk folder
    if (out.entryPoint && !zipPath.includes('.chunks/')) entry = zipPath;
    const internal = out.imports.filter((i) => !i.external);
    files.set(zipPath, {
      path: zipPath,
      bytes: out.bytes,
      staticImports: internal.filter((i) => i.kind === 'import-statement').map((i) => toZipPath(i.path)),
      dynamicImports: internal.filter((i) => i.kind === 'dynamic-import').map((i) => toZipPath(i.path)),
      inputs: Object.fromEntries(Object.entries(out.inputs).map(([input, v]) => [input, v.bytesInOutput])),
      ...(out.entryPoint ? { entryPoint: out.entryPoint } : {}),
    });
  }
  if (!entry) throw new Error('esbuild reported no entry output');
  return { root, entryFile: join(root, entry), entry, files };
}

/** The entry and every chunk it loads statically, i.e. what a cold start imports. */
export function staticClosure(bundle: FunctionBundle): OutputFile[] {
  const seen = new Set<string>();
  const visit = (path: string): void => {
    if (seen.has(path)) return;
    seen.add(path);
    for (const next of bundle.files.get(path)?.staticImports ?? []) visit(next);
  };
  visit(bundle.entry);
  return [...seen].map((p) => bundle.files.get(p)!);
}

/** Bundles and imports a handler; each call gets a fresh module instance (module-scope config is read again). */
export async function importBundledHandler<T = unknown>(entry: string): Promise<T> {
  const bundle = await bundleFunction(entry, mkdtempSync(join(tmpdir(), 'sensorfleet-bundle-')));
  const mod = (await import(pathToFileURL(bundle.entryFile).href)) as { handler: T };
  return mod.handler;
}
