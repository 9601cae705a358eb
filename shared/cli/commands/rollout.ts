import { userInfo } from 'node:os';
import { errorMessage } from '../../runtime/errors';
import { RunNotFoundError, RunNotHaltedError } from '../../rollout/errors';
import type { RingClusterResult, RunRecord } from '../../state/rollout-records';
import { runCommand, UsageError } from '../args';
import { EXIT, println, type CliIo } from '../io';
import { cliConfig } from '../load-config';
import { outputFormat, printDocument } from '../output';
import { commandSpec } from '../spec';
import { renderTable } from '../table';

const ACTIONS = ['status', 'resume', 'abort'] as const;
type Action = (typeof ACTIONS)[number];

/**
 * `rollout status [RUN]`: a run's rings, each ring's clusters and gate, why it halted, what happened;
 * without RUN the recent runs. `rollout resume RUN` / `rollout abort RUN`: the answer to a halted run
 * (a resume runs the failed ring again; an abort ends the run, every cluster of an unreleased ring
 * keeps its version). Who answered ($SENSORFLEET_USER or the login name) goes into the run's history.
 */
export function rolloutCommand(args: string[], io: CliIo): Promise<number> {
  return runCommand(commandSpec('rollout'), args, io, async ({ values, positionals }) => {
    const action = positionals[0] as Action;
    if (!ACTIONS.includes(action)) throw new UsageError(`ACTION must be one of ${ACTIONS.join(', ')} (got "${positionals[0]}")`);
    const runId = positionals[1];
    if (action !== 'status' && !runId) throw new UsageError(`rollout ${action} needs the RUN to ${action}`);
    const { config } = await cliConfig(values.config);
    const { DynamoDbRolloutStore } = await import('../../state/rollout-store');
    const store = new DynamoDbRolloutStore(config.state.tableName);
    const format = outputFormat(values);
    try {
      if (action === 'status') {
        if (!runId) {
          const runs = await store.listRuns(10);
          if (format !== 'table') await printDocument(io.stdout, format, runs);
          else if (runs.length === 0) println(io.stdout, `(no rollout run in ${config.state.tableName} yet)`);
          else println(io.stdout, renderTable(['RUN', 'STATUS', 'TARGET', 'RINGS', 'STARTED', 'DETAIL'], runs.map((r) => [r.runId, r.status, r.targetVersion, String(r.rings.length), r.startedAt, r.halt?.reason ?? r.endReason ?? ''])));
          return EXIT.ok;
        }
        const { runStatus } = await import('../../rollout/control');
        const view = await runStatus(store, runId);
        if (format !== 'table') await printDocument(io.stdout, format, view);
        else println(io.stdout, renderRun(view.run, view.results));
        return view.run.status === 'halted' || view.run.status === 'failed' ? EXIT.failed : EXIT.ok;
      }
      const { answerHalt } = await import('../../rollout/control');
      const by = process.env.SENSORFLEET_USER ?? userInfo().username;
      const run = await answerHalt(store, runId!, action, by);
      if (format !== 'table') await printDocument(io.stdout, format, run);
      else println(io.stdout, `${action === 'resume' ? 'resumed' : 'aborted'} ${run.runId} (by ${by}): now ${run.status}${run.status === 'running' ? `; ring ${lastHaltRing(run)} runs again` : ''}`);
      return EXIT.ok;
    } catch (err) {
      if (err instanceof RunNotFoundError || err instanceof RunNotHaltedError) {
        println(io.stderr, `sensorfleet rollout ${action}: ${errorMessage(err)}`);
        return EXIT.failed;
      }
      throw err;
    }
  });
}

function lastHaltRing(run: RunRecord): string {
  const m = [...run.history].reverse().find((h) => /^halted in ring (\d+)/.test(h.event));
  return m ? /^halted in ring (\d+)/.exec(m.event)![1]! : '?';
}

/** A run as a person reads it: where it stands, ring by ring (clusters, their results, the gate), then its history. */
export function renderRun(run: RunRecord, results: RingClusterResult[]): string {
  const lines = [`run ${run.runId}: ${run.status}, rolling out ${run.targetVersion}${run.baselineVersion ? ` (from the fleet baseline ${run.baselineVersion})` : ''}; started ${run.startedAt} by ${run.trigger.source}`];
  if (run.halt && run.status === 'halted') lines.push(`HALTED in ring ${run.halt.ring}: ${run.halt.reason}`, `  answer with: sensorfleet rollout resume ${run.runId}   or   sensorfleet rollout abort ${run.runId}`);
  if (run.endReason) lines.push(`ended: ${run.endReason}`);
  const rows = run.rings.map((ring) => {
    const mine = results.filter((r) => r.ring === ring.ring);
    const failed = mine.filter((r) => !r.ok);
    const gate = run.gates[String(ring.ring)];
    const state = failed.length > 0 ? 'failed' : mine.length === 0 ? 'not released' : mine.length < ring.size ? `${mine.length}/${ring.size} answered` : 'released';
    return [String(ring.ring), ring.name, `${ring.size}${ring.chunks > 1 ? ` in ${ring.chunks} chunks` : ''}`, state, ring.gate ? (gate ? `${gate.verdict}: ${gate.reason}` : 'not asked yet') : 'none'];
  });
  lines.push('', renderTable(['RING', 'NAME', 'CLUSTERS', 'STATE', 'GATE'], rows));
  const problems = results.filter((r) => !r.ok);
  if (problems.length) {
    lines.push('', 'clusters that failed their ring:');
    for (const r of problems) lines.push(`  ring ${r.ring} ${r.cluster}: ${r.outcome}: ${r.message}`);
  }
  lines.push('', 'history:');
  for (const h of run.history) lines.push(`  ${h.at}  ${h.event}`);
  return lines.join('\n');
}
