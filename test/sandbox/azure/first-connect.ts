/**
 * The first AKS connect in a fresh process, measured: `node bin/run-ts.mjs test/sandbox/azure/first-connect.ts [runs]`.
 * Starts the sandbox (own moto) and the Azure stand-ins, creates one Entra-integrated AKS cluster with
 * 3 nodes, and runs scripts/bench-first-connect.ts bundled as the deployment bundles it, in a new node
 * process per run (credentials: the functions' role, federated to Entra). Prints one line per run.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { FirstConnectResult } from '../../../scripts/bench-first-connect';
import { bundleFunction } from '../../support/bundle';
import { sandboxCa } from '../kube/tls';
import { startAzureWorld } from './world';

// Node reads NODE_EXTRA_CA_CERTS at start: run again once with the sandbox CA (bin/run-ts.mjs rewrites argv, so name it again)
if (process.env.NODE_EXTRA_CA_CERTS !== sandboxCa().file) {
  const r = spawnSync(process.execPath, [...process.execArgv, 'bin/run-ts.mjs', ...process.argv.slice(1)], { stdio: 'inherit', env: { ...process.env, NODE_EXTRA_CA_CERTS: sandboxCa().file } });
  process.exit(r.status ?? 1);
}

const runs = Number(process.argv[2] ?? 3);
const world = await startAzureWorld();
try {
  const app = world.azure.registerApp({ awsAccount: world.sandbox.aws.accountId, subject: world.roleArn });
  const { ref } = await world.azure.fleet.createAksCluster({ resourceGroup: 'rg-bench', name: 'aks-first-connect', mode: 'entra', nodePools: [{ name: 'system', count: 3 }] });
  const bundle = await bundleFunction('scripts/bench-first-connect.ts', mkdtempSync(join(tmpdir(), 'sensorfleet-aks-first-connect-')));
  const input = JSON.stringify({ platform: 'azure-aks', ref, config: { targets: { azure: [world.azure.targetConfig(app)] } } });
  for (let i = 0; i < runs; i++) {
    world.sandbox.front.webIdentity.issued.length = 0;
    const { stdout } = await promisify(execFile)(process.execPath, [bundle.entryFile, input], {
      env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'SILENT', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      maxBuffer: 16 * 2 ** 20,
      timeout: 120_000,
    });
    const r = JSON.parse(stdout.trim().split('\n').at(-1)!) as FirstConnectResult;
    const requests = Object.entries(r.requests).map(([op, n]) => `${n} x ${op}`).join(', ');
    console.log(
      `run ${i + 1}: first AKS connect ${r.firstConnectMs.toFixed(0)} ms = import() ${r.importMs.toFixed(0)} ms + connect ${r.connectMs.toFixed(0)} ms + first Kubernetes request ${r.kubeMs.toFixed(0)} ms; second connect ${r.secondConnectMs.toFixed(0)} ms; requests: ${requests}`,
    );
  }
  console.log(`offloopback connections: ${JSON.stringify(world.loopback.offLoopback())}`);
} finally {
  await world.stop();
}
