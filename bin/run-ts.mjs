#!/usr/bin/env node
// Runs a TypeScript entry point through tsx's loader, so the CLI needs no build step.
import { register } from 'tsx/esm/api';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

// Local runs use Node 20 (Lambda runs nodejs22.x); the pinned SDK supports it, so its notice is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
register();
const [, , entry, ...rest] = process.argv;
if (!entry) {
  process.stderr.write('usage: run-ts <file.ts> [args...]\n');
  process.exit(2);
}
process.argv = [process.argv[0], resolve(entry), ...rest];
await import(pathToFileURL(resolve(entry)).href);
