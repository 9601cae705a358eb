import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';

/**
 * Bundles a Lambda handler the way serverless-esbuild does for deployment (serverless.yml
 * custom.esbuild: bundle, minify, ESM .mjs with a createRequire banner), so end-to-end tests and the
 * benchmark use the artefact that ships rather than the TypeScript sources.
 */
export async function bundleHandler(entry: string, outfile: string): Promise<void> {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    minify: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    mainFields: ['module', 'main'],
    banner: { js: "import { createRequire as __cr } from 'module'; const require = __cr(import.meta.url);" },
    logLevel: 'silent',
  });
}

/** Bundles and imports a handler; each call gets a fresh module instance (module-scope config is read again). */
export async function importBundledHandler<T = unknown>(entry: string): Promise<T> {
  const outfile = join(mkdtempSync(join(tmpdir(), 'sensorfleet-bundle-')), 'handler.mjs');
  await bundleHandler(entry, outfile);
  const mod = (await import(pathToFileURL(outfile).href)) as { handler: T };
  return mod.handler;
}
