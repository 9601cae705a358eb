import { parseArgs } from 'node:util';
import { userInfo } from 'node:os';
import { loadCliConfig } from '../config-file';
import { buildAdapters, buildEngine } from '../../engine/build';
import { discoverFleet } from '../../engine/discover';
import { parseRedeployRequest, redeployEvents, selectClusters } from '../../engine/redeploy-request';
import { reconcileCluster } from '../../engine/reconcile';
import { enqueueClusterEvents } from '../../queue/work-queue';
import { EXIT, println, type CliIo } from '../io';
import { renderFleet, rowFromRecord } from '../fleet-view';

/**
 * `redeploy (--cluster REF | --selector GLOB) --reason TEXT [--action restart|redeploy] [--now]`
 * Queues the redeploy (default) so the worker runs it in order with other work for that cluster;
 * `--now` runs it here and waits for the outcome. Either way the reason and outcome are recorded.
 */
export async function redeployCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      cluster: { type: 'string' },
      selector: { type: 'string' },
      action: { type: 'string', default: 'restart' },
      reason: { type: 'string' },
      now: { type: 'boolean', default: false },
      config: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const request = parseRedeployRequest({
    cluster: values.cluster,
    selector: values.selector,
    action: values.action,
    reason: values.reason,
    requestedBy: process.env.SENSORFLEET_USER ?? userInfo().username,
  });
  const config = loadCliConfig(values.config);
  const adapters = buildAdapters(config);
  const fleet = request.selector ? (await discoverFleet(config, adapters)).clusters : [];
  const clusters = selectClusters(request, fleet);
  if (clusters.length === 0) {
    println(io.stderr, `selector ${request.selector} matches no cluster`);
    return EXIT.usage;
  }
  if (!values.now) {
    const queueUrl = process.env.SENSORFLEET_QUEUE_URL ?? config.queue.url;
    if (!queueUrl) {
      println(io.stderr, 'no work queue configured (SENSORFLEET_QUEUE_URL); use --now to run here');
      return EXIT.usage;
    }
    const result = await enqueueClusterEvents(queueUrl, redeployEvents(request, clusters, new Date()));
    println(io.stdout, `queued ${result.sent} redeploy(s) (${request.action}): ${clusters.length} cluster(s); reason: ${request.reason}`);
    for (const f of result.failed) println(io.stderr, `not queued ${f.id}: ${f.reason}`);
    return result.failed.length ? EXIT.failed : EXIT.ok;
  }
  const deps = await buildEngine(config, clusters, { adapters });
  const records = [];
  for (const ref of clusters) {
    records.push(
      await reconcileCluster(ref, deps, {
        force: request.action,
        reason: request.reason,
        trigger: { kind: 'redeploy-requested', source: 'cli:redeploy', requestedBy: request.requestedBy, reason: request.reason },
      }),
    );
  }
  if (values.json) println(io.stdout, JSON.stringify(records, null, 2));
  else println(io.stdout, renderFleet(records.map(rowFromRecord)));
  return records.every((r) => r.outcome === 'converged' || r.outcome === 'in-sync') ? EXIT.ok : EXIT.failed;
}
