import { formatClusterRef } from '../../domain/cluster-ref';
import { ConfigError } from '../../runtime/errors';
import type { ParsedValues } from '../args';
import { cliAdapters } from '../engine';
import { resolveTargets } from '../fleet-targets';
import { EXIT, println, type CliIo } from '../io';
import { cliConfig } from '../load-config';
import { outputFormat, printDocument } from '../output';
import { progressOn } from '../progress';
import type { commandSpec } from '../spec';

type ReconcileValues = ParsedValues<ReturnType<typeof commandSpec<'reconcile'>>>;

/**
 * `reconcile` without --cluster: discover the fleet and start a durable rollout run, the one the
 * nightly starts (shared/rollout/start-run.ts: rings, their gates, the blast-radius guard per ring),
 * on the configured workflow. Nothing is reconciled in this process; the run id and how to follow it
 * are printed. While another run is running or halted, nothing starts and the command says which.
 */
export async function startFleetRun(values: ReconcileValues, io: CliIo): Promise<number> {
  const cli = await cliConfig(values.config);
  const progress = progressOn(io.stderr, { quiet: values.quiet });
  progress.show('reconcile: discovering clusters');
  const targets = await resolveTargets(cli, cliAdapters(cli.config), [], 'reconcile').finally(() => progress.clear());
  for (const e of targets.discoveryErrors) println(io.stderr, `sensorfleet reconcile: could not list ${e.scope}: ${e.message}`);
  if (targets.clusters.length === 0) {
    println(io.stderr, `sensorfleet reconcile: no cluster found (${targets.scopes.length - targets.discoveryErrors.length} of ${targets.scopes.length} configured scope(s) listed: ${targets.scopes.join(', ')})`);
    return EXIT.failed;
  }
  const stateMachineArn = cli.config.rollout.stateMachineArn ?? process.env.SENSORFLEET_STATE_MACHINE_ARN;
  const queueUrl = cli.config.queue.url;
  if (!stateMachineArn || !queueUrl) {
    throw new ConfigError(
      `reconcile of the whole fleet starts a rollout run on the workflow, and ${!stateMachineArn ? 'no workflow is configured (rollout.stateMachineArn or $SENSORFLEET_STATE_MACHINE_ARN: the stack\'s RolloutStateMachine)' : 'no work queue is configured (queue.url or $SENSORFLEET_QUEUE_URL)'}; name clusters with --cluster, or run the whole fleet here past the rings with --force`,
    );
  }
  const [{ startRolloutRun }, { DynamoDbRolloutStore }] = await Promise.all([import('../../rollout/start-run'), import('../../state/rollout-store')]);
  const { userInfo } = await import('node:os');
  const requestedBy = process.env.SENSORFLEET_USER ?? userInfo().username;
  const result = await startRolloutRun({
    config: cli.config,
    clusters: targets.clusters.map(formatClusterRef),
    trigger: { source: 'cli:reconcile', requestedBy },
    store: new DynamoDbRolloutStore(cli.config.state.tableName),
    stateMachineArn,
    queueUrl,
  });
  const format = outputFormat(values);
  if (!result.started) {
    const a = result.active;
    if (format !== 'table') await printDocument(io.stdout, format, { started: false, activeRun: { runId: a.runId, status: a.status, ...(a.halt ? { halted: a.halt.reason } : {}) } });
    println(io.stderr, `sensorfleet reconcile: rollout run ${a.runId} is ${a.status}${a.halt ? ` (${a.halt.reason})` : ''}: no new run started (one run at a time); see sensorfleet rollout status ${a.runId}`);
    return EXIT.failed;
  }
  const { run } = result;
  const rings = run.rings.map((r) => ({ ring: r.ring, name: r.name, clusters: r.size, gate: r.gate, chunks: r.chunks }));
  if (format !== 'table') await printDocument(io.stdout, format, { started: true, runId: run.runId, targetVersion: run.targetVersion, clusters: targets.clusters.length, rings, executionArn: result.executionArn, discoveryErrors: targets.discoveryErrors });
  else {
    println(io.stdout, `started rollout run ${run.runId}: ${targets.clusters.length} cluster(s) to ${run.targetVersion} in ${rings.length} ring(s): ${rings.map((r) => `${r.name} (${r.clusters})`).join(', ')}`);
    for (const h of run.history.slice(1)) println(io.stdout, h.event);
    println(io.stdout, `follow it with: sensorfleet rollout status ${run.runId}`);
  }
  return targets.discoveryErrors.length > 0 ? EXIT.failed : EXIT.ok;
}
