import { describeScope, formatClusterRef, parseClusterRef, type ClusterRef } from '../../domain/cluster-ref';
import { runFleet, type FleetRunReport, type WaveGate } from '../../engine/run-fleet';
import { CallCounter, countCalls } from '../../runtime/call-log';
import type { ReconcileRecord, ReconcileTrigger } from '../../state/records';
import { runCommand, type ParsedValues } from '../args';
import { colourEnabled, palette } from '../colour';
import { describeError, isUsageLike } from '../errors';
import { cliAdapters, cliEngine, warmUp } from '../engine';
import { renderFleet, rowFromRecord } from '../fleet-view';
import { resolveTargets, type Targets } from '../fleet-targets';
import { EXIT, PLAN_EXIT, println, type CliIo } from '../io';
import { cliConfig, type CliConfig } from '../load-config';
import { outputFormat, printDocument } from '../output';
import { planFailed, planView, renderPlan } from '../plan-view';
import { fleetProgress, progressOn, type Progress } from '../progress';
import { commandSpec } from '../spec';

/** `plan`: dry run, printed as a diff (plan-view.ts). */
export function planCommand(args: string[], io: CliIo): Promise<number> {
  return runCommand(commandSpec('plan'), args, io, async ({ values }) => {
    try {
      return await plan(values, io);
    } catch (err) {
      // with --exit-code, 1 means "changes pending": a failure must not look like one
      if (!values['exit-code'] || isUsageLike(err)) throw err;
      println(io.stderr, `sensorfleet plan: ${describeError(err)}`);
      return PLAN_EXIT.failed;
    }
  });
}

async function plan(values: ParsedValues<ReturnType<typeof commandSpec<'plan'>>>, io: CliIo): Promise<number> {
  const run = await fleetRun('plan', values, io, { dryRun: true, forceRun: false });
  if ('exit' in run) return values['exit-code'] ? PLAN_EXIT.failed : run.exit;
  const { report, targets, cli } = run;
  const view = planView(report.clusters, cli.config.sensor.version, targets.discoveryErrors, { reads: run.calls.reads, writes: run.calls.writes }, report.blastRadius);
  const format = outputFormat(values);
  if (format === 'table') println(io.stdout, renderPlan(view, palette(colourEnabled(io.stdout))));
  else await printDocument(io.stdout, format, view);
  const failed = planFailed(view);
  if (!values['exit-code']) return failed ? EXIT.failed : EXIT.ok;
  return failed ? PLAN_EXIT.failed : view.summary.clustersToChange > 0 ? PLAN_EXIT.changes : PLAN_EXIT.nothing;
}

/**
 * `reconcile`: with --cluster, those clusters now (observe, plan, apply, verify, record). Without it,
 * the whole fleet goes through the rings: a durable rollout run on the workflow, as the nightly starts
 * one (rollout-run.ts); `--force` is the explicit bypass, in this process, recorded as forced.
 */
export function reconcileCommand(args: string[], io: CliIo): Promise<number> {
  return runCommand(commandSpec('reconcile'), args, io, async ({ values }) => {
    if (values.cluster.length === 0 && !values.force) return (await import('./rollout-run')).startFleetRun(values, io);
    const forced = values.force ? await forcedRun(values) : undefined;
    const run = await fleetRun('reconcile', values, io, { dryRun: false, forceRun: values.force, record: !values['no-record'], ...(forced ? { trigger: forced } : {}) });
    if ('exit' in run) return run.exit;
    const { report, targets } = run;
    const format = outputFormat(values);
    if (format !== 'table') await printDocument(io.stdout, format, { ...report, discoveryErrors: targets.discoveryErrors });
    else {
      println(io.stdout, renderFleet(report.clusters.map(rowFromRecord)));
      println(io.stdout, `\n${report.clusters.length} cluster(s), ${report.writes} write(s), ${report.reads} read(s)${report.waves ? `, ${report.waves} wave(s)` : ''}`);
      for (const g of report.gates) println(io.stdout, `health gate after wave ${g.wave}: ${g.pass ? 'pass' : 'FAIL'}: ${g.reason}`);
      if (report.halted) println(io.stdout, `halted: ${report.halted}`);
    }
    const bad = report.clusters.some((c) => c.outcome === 'failed' || c.outcome === 'stuck' || isNotFound(c)) || Boolean(report.halted) || targets.discoveryErrors.length > 0;
    return bad ? EXIT.failed : EXIT.ok;
  });
}

type RunValues = ParsedValues<ReturnType<typeof commandSpec<'plan'>>> | ParsedValues<ReturnType<typeof commandSpec<'reconcile'>>>;

/**
 * What plan and reconcile share: configuration, the clusters (named or discovered), the engine with
 * each platform loaded on use, and the fleet run with progress on stderr. A run that can reach
 * nothing (no targets, no cluster found) ends here with a non-zero exit and the reason.
 */
async function fleetRun(
  mode: 'plan' | 'reconcile',
  values: RunValues,
  io: CliIo,
  options: { dryRun: boolean; forceRun: boolean; record?: boolean; trigger?: ReconcileTrigger },
): Promise<{ report: FleetRunReport; targets: Targets; cli: CliConfig; calls: CallCounter } | { exit: number }> {
  // every call of the command, discovery and the secret included (the report counts the clusters' own)
  const calls = new CallCounter();
  const result = await countCalls(calls, () => fleetRunCounted(mode, values, io, options));
  return 'exit' in result ? result : { ...result, calls };
}

async function fleetRunCounted(
  mode: 'plan' | 'reconcile',
  values: RunValues,
  io: CliIo,
  options: { dryRun: boolean; forceRun: boolean; record?: boolean; trigger?: ReconcileTrigger },
): Promise<{ report: FleetRunReport; targets: Targets; cli: CliConfig } | { exit: number }> {
  warmUp(values.cluster.map(parseClusterRef));
  const cli = await cliConfig(values.config);
  const adapters = cliAdapters(cli.config);
  const progress = progressOn(io.stderr, { quiet: values.quiet });
  if (values.cluster.length === 0) progress.show(`${mode}: discovering clusters`);
  const targets = await resolveTargets(cli, adapters, values.cluster, mode);
  progress.clear();
  for (const e of targets.discoveryErrors) println(io.stderr, `sensorfleet ${mode}: could not list ${e.scope}: ${e.message}`);
  if (targets.clusters.length === 0) {
    const listed = targets.scopes.length - targets.discoveryErrors.length;
    println(io.stderr, `sensorfleet ${mode}: no cluster found (${listed} of ${targets.scopes.length} configured scope(s) listed: ${targets.scopes.join(', ')})`);
    return { exit: EXIT.failed };
  }
  const deps = await cliEngine(cli.config, targets.clusters, adapters, { record: options.record ?? false, preconnect: options.dryRun });
  if (options.trigger?.requestedBy && options.record) await recordForcedReleases(cli, targets.clusters, options.trigger);
  const report = await withProgress(progress, () =>
    runFleet(deps, {
      clusters: targets.clusters,
      dryRun: options.dryRun,
      forceRun: options.forceRun,
      trigger: options.trigger ?? { kind: 'reconcile-requested', source: `cli:${mode}` },
      ...(cli.config.rollout.checkInGate.enabled && !options.dryRun ? { waveGate: lazyCheckInGate(cli) } : {}),
      onProgress: fleetProgress(progress, mode),
    }),
  );
  if (values.cluster.length > 0) {
    for (const r of report.clusters.filter(isNotFound)) {
      println(io.stderr, `sensorfleet ${mode}: ${r.cluster}: no such cluster in ${describeScope(parseClusterRef(r.cluster))} (check the name; \`sensorfleet plan\` without --cluster lists what is there)`);
    }
  }
  return { report, targets, cli };
}

/** --force: who forced the run and why, in every record's trigger. */
async function forcedRun(values: { cluster: string[] }): Promise<ReconcileTrigger> {
  const { userInfo } = await import('node:os');
  const by = process.env.SENSORFLEET_USER ?? userInfo().username;
  const what = values.cluster.length ? 'these clusters' : 'the whole fleet';
  return { kind: 'reconcile-requested', source: 'cli:reconcile --force', requestedBy: by, reason: `forced: sensorfleet reconcile --force ran ${what} in one process, past the rollout rings, the blast-radius guard and maintenance windows` };
}

/**
 * A forced run installs the configured version past the rings: each cluster's release says so before
 * the first write, so later paths (events, nightly, redeploys) keep it there instead of the baseline.
 */
async function recordForcedReleases(cli: CliConfig, clusters: ClusterRef[], trigger: ReconcileTrigger): Promise<void> {
  const { DynamoDbRolloutStore } = await import('../../state/rollout-store');
  const store = new DynamoDbRolloutStore(cli.config.state.tableName);
  const at = new Date().toISOString();
  const forced = { by: trigger.requestedBy ?? 'unknown', reason: 'sensorfleet reconcile --force' };
  await Promise.all(clusters.map((c) => store.putRelease({ cluster: formatClusterRef(c), version: cli.config.sensor.version, releasedAt: at, forced })));
}

function isNotFound(r: ReconcileRecord): boolean {
  return r.observed.status === 'NOT_FOUND';
}

/** The Qualys check-in gate, with the Qualys client imported only when a wave ends. */
function lazyCheckInGate(cli: CliConfig): WaveGate {
  return async (wave) => (await import('../../qualys/wave-gate')).qualysCheckInGate(cli.config)(wave);
}

async function withProgress<T>(progress: Progress, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } finally {
    progress.clear();
  }
}
