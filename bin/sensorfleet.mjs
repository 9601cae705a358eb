#!/usr/bin/env node
import { register } from 'tsx/esm/api';

// Local runs use Node 20 (Lambda runs nodejs22.x); the pinned SDK supports it, so its notice is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
register();
const { main } = await import('../shared/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
