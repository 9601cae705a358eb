import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';

/**
 * Bundles a Lambda handler the way serverless-esbuild does for deployment (serverless.yml
 * custom.esbuild: bundle, minify, ESM .mjs with a createRequire banner) and imports the bundle,
 * so end-to-end tests drive the artefact that ships rather than the TypeScript sources.
 * Each call gets a fresh module instance (new file), so module-scope config is read again.
 */
export async function importBundledHandler<T = unknown>(entry: string): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'sensorfleet-bundle-'));
  const outfile = join(dir, 'handler.mjs');
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    minify: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    banner: { js: "import { createRequire as __cr } from 'module'; const require = __cr(import.meta.url);" },
    logLevel: 'silent',
  });
  const mod = (await import(pathToFileURL(outfile).href)) as { handler: T };
  return mod.handler;
}
