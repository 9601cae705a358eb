import { parseArgs } from 'node:util';
import { loadCliConfig } from '../config-file';
import { parseClusterRef, type ClusterRef } from '../../domain/cluster-ref';
import { buildAdapters, buildEngine } from '../../engine/build';
import { discoverFleet } from '../../engine/discover';
import { runFleet, type FleetRunReport } from '../../engine/run-fleet';
import { qualysCheckInGate } from '../../qualys/wave-gate';
import { EXIT, println, type CliIo } from '../io';
import { renderFleet, rowFromRecord } from '../fleet-view';

/**
 * `plan` (dry run: per cluster what would change and why) and `reconcile` (do it).
 *   --cluster REF (repeatable; default: discover every configured account/region)
 *   --config FILE  --json  --force (reconcile: override the blast-radius guard and windows)
 */
export async function fleetRunCommand(mode: 'plan' | 'reconcile', args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      cluster: { type: 'string', multiple: true },
      config: { type: 'string' },
      json: { type: 'boolean', default: false },
      force: { type: 'boolean', default: false },
      'no-record': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const config = loadCliConfig(values.config);
  const adapters = buildAdapters(config);
  let clusters: ClusterRef[];
  if (values.cluster?.length) {
    clusters = values.cluster.map(parseClusterRef);
  } else {
    const discovery = await discoverFleet(config, adapters);
    for (const e of discovery.errors) println(io.stderr, `warning: could not list ${e.scope}: ${e.message}`);
    clusters = discovery.clusters;
  }
  const deps = await buildEngine(config, clusters, { adapters, ...(values['no-record'] ? { store: false as const } : {}) });
  const report = await runFleet(deps, {
    clusters,
    dryRun: mode === 'plan',
    forceRun: values.force,
    trigger: { kind: 'reconcile-requested', source: `cli:${mode}` },
    ...(config.rollout.checkInGate.enabled ? { waveGate: qualysCheckInGate(config) } : {}),
  });
  if (values.json) println(io.stdout, JSON.stringify(report, null, 2));
  else printReport(report, io);
  const bad = report.clusters.some((c) => c.outcome === 'failed' || c.outcome === 'stuck') || Boolean(report.halted);
  return bad ? EXIT.failed : EXIT.ok;
}

function printReport(report: FleetRunReport, io: CliIo): void {
  if (report.dryRun) {
    for (const c of report.clusters) {
      println(io.stdout, `${c.cluster}: ${c.outcome}`);
      for (const a of c.planned) println(io.stdout, `  - ${a.type} ${a.target}: ${a.reason.startsWith(`${a.target}: `) ? a.reason.slice(a.target.length + 2) : a.reason}`);
      if (c.planned.length === 0) println(io.stdout, `  ${c.message}`);
    }
  } else {
    println(io.stdout, renderFleet(report.clusters.map(rowFromRecord)));
  }
  println(io.stdout, `\n${report.clusters.length} cluster(s), ${report.writes} write(s), ${report.reads} read(s)${report.waves ? `, ${report.waves} wave(s)` : ''}`);
  for (const g of report.gates) println(io.stdout, `health gate after wave ${g.wave}: ${g.pass ? 'pass' : 'FAIL'}: ${g.reason}`);
  if (report.halted) println(io.stdout, `halted: ${report.halted}`);
}
