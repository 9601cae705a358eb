import { userInfo } from 'node:os';
import { describeScope, parseClusterRef } from '../../domain/cluster-ref';
import { parseRedeployRequest, redeployEvents, selectClusters } from '../../engine/redeploy-request';
import { reconcileCluster } from '../../engine/reconcile';
import { runCommand } from '../args';
import { cliAdapters, cliEngine } from '../engine';
import { resolveTargets } from '../fleet-targets';
import { renderFleet, rowFromRecord } from '../fleet-view';
import { EXIT, println, type CliIo } from '../io';
import { cliConfig } from '../load-config';
import { outputFormat, printDocument } from '../output';
import { fleetProgress, progressOn } from '../progress';
import { commandSpec } from '../spec';

/**
 * `redeploy (--cluster REF | --selector GLOB) --reason TEXT [--action restart|redeploy] [--now]`
 * Queues the redeploy (default) so the worker runs it in order with other work for that cluster;
 * `--now` runs it here and waits for the outcome. Either way the reason and outcome are recorded.
 */
export function redeployCommand(args: string[], io: CliIo): Promise<number> {
  return runCommand(commandSpec('redeploy'), args, io, async ({ values }) => {
    const request = parseRedeployRequest({
      cluster: values.cluster,
      selector: values.selector,
      action: values.action,
      reason: values.reason,
      requestedBy: process.env.SENSORFLEET_USER ?? userInfo().username,
    });
    const cli = await cliConfig(values.config);
    const adapters = cliAdapters(cli.config);
    let fleet: ReturnType<typeof parseClusterRef>[] = [];
    if (request.selector) {
      const targets = await resolveTargets(cli, adapters, [], 'redeploy');
      for (const e of targets.discoveryErrors) println(io.stderr, `sensorfleet redeploy: could not list ${e.scope}: ${e.message}`);
      fleet = targets.clusters;
    }
    const clusters = selectClusters(request, fleet);
    if (clusters.length === 0) {
      println(io.stderr, `sensorfleet redeploy: selector ${request.selector} matches no cluster of the ${fleet.length} discovered`);
      return EXIT.usage;
    }
    if (!values.now) {
      const queueUrl = process.env.SENSORFLEET_QUEUE_URL ?? cli.config.queue.url;
      if (!queueUrl) {
        println(io.stderr, 'sensorfleet redeploy: no work queue configured ($SENSORFLEET_QUEUE_URL or queue.url); use --now to run here');
        return EXIT.usage;
      }
      const { enqueueClusterEvents } = await import('../../queue/work-queue');
      const result = await enqueueClusterEvents(queueUrl, redeployEvents(request, clusters, new Date()));
      println(io.stdout, `queued ${result.sent} redeploy(s) (${request.action}): ${clusters.length} cluster(s); reason: ${request.reason}`);
      for (const f of result.failed) println(io.stderr, `sensorfleet redeploy: not queued ${f.id} to ${queueUrl}: ${f.reason}`);
      return result.failed.length ? EXIT.failed : EXIT.ok;
    }
    const deps = await cliEngine(cli.config, clusters, adapters, { record: true });
    const progress = progressOn(io.stderr, { quiet: values.quiet });
    const onProgress = fleetProgress(progress, 'redeploy');
    const records = [];
    try {
      for (const ref of clusters) {
        records.push(
          await reconcileCluster(ref, deps, {
            force: request.action,
            reason: request.reason,
            trigger: { kind: 'redeploy-requested', source: 'cli:redeploy', requestedBy: request.requestedBy, reason: request.reason },
            onProgress,
          }),
        );
      }
    } finally {
      progress.clear();
    }
    const format = outputFormat(values);
    if (format !== 'table') await printDocument(io.stdout, format, records);
    else println(io.stdout, renderFleet(records.map(rowFromRecord)));
    for (const r of records.filter((x) => x.observed.status === 'NOT_FOUND')) {
      println(io.stderr, `sensorfleet redeploy: ${r.cluster}: no such cluster in ${describeScope(parseClusterRef(r.cluster))}`);
    }
    return records.every((r) => r.outcome === 'converged' || r.outcome === 'in-sync') ? EXIT.ok : EXIT.failed;
  });
}
