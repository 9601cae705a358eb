/**
 * Child of scripts/bench.ts, run BUNDLED (test/support/bundle.ts, the deployment's esbuild options)
 * in a fresh node process: the first connect to an AKS or GKE cluster, as a warm-less Lambda
 * container does it. Phases:
 *   import  — import() of the cloud's chunk (its SDK is parsed and evaluated here, not at cold start)
 *   connect — the engine adapter's connect(): credential (web identity token, token exchange) and the
 *             cloud's cluster read, then the Kubernetes client
 *   kube    — the first Kubernetes request (TLS handshake with the cluster CA, node list)
 * and, for comparison, a second connect in the same process (credentials cached).
 * The static part (engine, EKS/ECS adapters, AWS SDK, Kubernetes client) is loaded before timing,
 * as the handler's cold import has loaded it in the worker.
 * Usage: node <bundle>/scripts/bench-first-connect.mjs '<json {platform, ref, config}>' → one JSON line.
 */
import { parseConfig } from '../shared/config/load';
import { parseClusterRef, type Platform } from '../shared/domain/cluster-ref';
import { buildAdapters } from '../shared/engine/build';
import { CallCounter, countCalls } from '../shared/runtime/call-log';

export interface FirstConnectResult {
  platform: Platform;
  importMs: number;
  connectMs: number;
  kubeMs: number;
  firstConnectMs: number;
  secondConnectMs: number;
  /** Requests of the first connect + first Kubernetes read, by service:operation. */
  requests: Record<string, number>;
}

const CLOUD_CHUNKS: Partial<Record<Platform, () => Promise<unknown>>> = {
  // the same modules shared/engine/build.ts imports, so the same chunks
  'azure-aks': () => import('../shared/platforms/aks/adapter'),
  'gcp-gke': () => import('../shared/platforms/gke/adapter'),
};

async function main(): Promise<void> {
  const input = JSON.parse(process.argv[2] ?? '{}') as { platform: Platform; ref: string; config: unknown };
  const loadChunk = CLOUD_CHUNKS[input.platform];
  if (!loadChunk) throw new Error(`bench-first-connect: no cloud chunk for ${input.platform}`);
  const config = parseConfig(input.config);
  const ref = parseClusterRef(input.ref);
  const adapter = buildAdapters(config)[input.platform];
  if (!adapter) throw new Error(`bench-first-connect: ${input.platform} has no target in the config`);

  const counter = new CallCounter();
  const t0 = performance.now();
  await loadChunk();
  const t1 = performance.now();
  const connected = await countCalls(counter, () => adapter.connect(ref));
  const t2 = performance.now();
  const kube = (connected.handle as { kube?: { list(apiVersion: string, kind: string): Promise<unknown[]> } }).kube;
  if (!kube) throw new Error(`bench-first-connect: ${input.ref} connected without a Kubernetes client`);
  await countCalls(counter, () => kube.list('v1', 'Node'));
  const t3 = performance.now();
  adapter.release?.(connected);
  const again = await adapter.connect(ref);
  const t4 = performance.now();
  adapter.release?.(again);

  const result: FirstConnectResult = {
    platform: input.platform,
    importMs: t1 - t0,
    connectMs: t2 - t1,
    kubeMs: t3 - t2,
    firstConnectMs: t3 - t0,
    secondConnectMs: t4 - t3,
    requests: counter.byOperation(),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

try {
  await main();
  // kept-alive sockets of the SDK clients would hold the process open
  process.exit(0);
} catch (err) {
  // one line: an uncaught error would also print the (minified, megabyte-long) source line that threw
  process.stderr.write(`bench-first-connect: ${(err as Error).name}: ${(err as Error).message}\n`);
  process.exit(1);
}
