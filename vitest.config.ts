import { defineConfig } from 'vitest/config';
import { sandboxCa } from './test/sandbox/kube/tls.ts';

// Every sandbox HTTPS server (Kubernetes, ARM, Entra, GKE, Google STS) is signed by the checkout's
// sandbox CA; test workers trust it the way any Node process can be told to (read at process start).
const caFile = sandboxCa().file;
process.env.NODE_EXTRA_CA_CERTS = caFile;

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', NODE_EXTRA_CA_CERTS: caFile },
  },
});
