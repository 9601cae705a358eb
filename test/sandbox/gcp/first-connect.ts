/**
 * Measures the first GKE connect in a fresh process:
 *   node bin/run-ts.mjs test/sandbox/gcp/first-connect.ts [--bundled]
 * (--bundled: the child runs as the deployment's esbuild output, the GKE half in its own chunk).
 * The parent starts the sandbox (its own moto unless MOTO_URL is set) and a GKE cluster, then runs a
 * child process that imports the GKE cloud half, connects (AWS JWT -> Google STS -> IAM Credentials ->
 * GKE getCluster) and lists nodes, then connects again with warm credentials. Prints one JSON line.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { sandboxCa } from '../kube/tls';

const CHILD = process.argv[2] === '--child';

async function child(): Promise<void> {
  const { ref, target } = JSON.parse(process.argv[3]!) as { ref: string; target: unknown };
  const t0 = performance.now();
  const [{ createGkeCloud }, { gcpTargetSchema }, { parseClusterRef }, { CallCounter, countCalls }, { gkeApi }] = await Promise.all([
    import('../../../shared/platforms/gke/adapter'),
    import('../../../shared/platforms/gke/config'),
    import('../../../shared/domain/cluster-ref'),
    import('../../../shared/runtime/call-log'),
    import('../../../shared/platforms/gke/container-api'),
  ]);
  const t1 = performance.now();
  const parsed = gcpTargetSchema.parse(target);
  const cloud = createGkeCloud({ targets: [parsed] });
  const counter = new CallCounter();
  // phase 1: the GKE client and the Google token (AWS JWT -> STS -> IAM Credentials); phase 2: getCluster + Kubernetes client
  await countCalls(counter, async () => (await gkeApi(parsed)).credential.accessToken());
  const tToken = performance.now();
  const c = await countCalls(counter, () => cloud.connect(parseClusterRef(ref)));
  const t2 = performance.now();
  await countCalls(counter, () => c.handle.kube.list('v1', 'Node'));
  const t3 = performance.now();
  await cloud.connect(parseClusterRef(ref));
  const t4 = performance.now();
  const ms = (x: number) => Math.round(x);
  process.stdout.write(`${JSON.stringify({ importMs: ms(t1 - t0), clientAndTokenMs: ms(tToken - t1), getClusterMs: ms(t2 - tToken), connectMs: ms(t2 - t1), firstKubeMs: ms(t3 - t2), firstConnectTotalMs: ms(t3 - t0), secondConnectMs: ms(t4 - t3), requests: counter.byOperation() })}\n`);
  process.exit(0);
}

async function parent(): Promise<void> {
  const { startSandbox } = await import('../index');
  const { startGcpSandbox } = await import('./index');
  const sandbox = await startSandbox(process.env.MOTO_URL ? { motoUrl: process.env.MOTO_URL } : {});
  const restore = sandbox.useAwsEnv();
  const gcp = await startGcpSandbox({ kube: sandbox.kube, front: sandbox.front, sensors: sandbox.sensors });
  try {
    const { ref } = await gcp.fleet.createGkeCluster({ projectId: 'bench-project', projectNumber: '302000001', location: 'europe-west1', name: 'first-connect', nodePools: [{ name: 'default-pool', nodeCount: 3 }] });
    const self = fileURLToPath(import.meta.url);
    let command = [fileURLToPath(new URL('../../../bin/run-ts.mjs', import.meta.url)), self];
    if (process.argv.includes('--bundled')) {
      const { bundleFunction } = await import('../../support/bundle');
      const { mkdtempSync } = await import('node:fs');
      const { tmpdir } = await import('node:os');
      const { join, relative } = await import('node:path');
      command = [(await bundleFunction(relative(process.cwd(), self), mkdtempSync(join(tmpdir(), 'gke-first-connect-')))).entryFile];
    }
    const runs: string[] = [];
    for (let i = 0; i < 3; i++) {
      const out = await new Promise<string>((resolve, reject) => {
        const p = spawn(process.execPath, [...command, '--child', JSON.stringify({ ref, target: gcp.target('bench-project') })], {
          env: { ...process.env, NODE_EXTRA_CA_CERTS: sandboxCa().file },
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        let s = '';
        p.stdout.on('data', (d) => (s += d));
        p.on('exit', (code) => (code === 0 ? resolve(s.trim()) : reject(new Error(`child exited ${code}`))));
      });
      runs.push(out);
    }
    for (const r of runs) process.stdout.write(`${r}\n`);
  } finally {
    restore();
    await gcp.stop();
    await sandbox.stop();
  }
}

await (CHILD ? child() : parent());
