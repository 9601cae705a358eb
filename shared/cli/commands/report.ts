import { RunNotFoundError } from '../../rollout/errors';
import { runCommand } from '../args';
import { EXIT, println, type CliIo } from '../io';
import { cliConfig } from '../load-config';
import { commandSpec } from '../spec';

/** `report [RUN]`: a rollout run's report (shared/report) written as JSON + HTML to --dir, or printed with --json. */
export function reportCommand(args: string[], io: CliIo): Promise<number> {
  return runCommand(commandSpec('report'), args, io, async ({ values, positionals }) => {
    const { config } = await cliConfig(values.config);
    const [{ DynamoDbRolloutStore }, { DynamoDbFleetStore }, { collectRunReport, writeRunReport }, { DirectoryReportSink }] = await Promise.all([
      import('../../state/rollout-store'),
      import('../../state/dynamodb-store'),
      import('../../report/publish'),
      import('../../report/sink'),
    ]);
    const rollouts = new DynamoDbRolloutStore(config.state.tableName);
    const runId = positionals[0] ?? ((await rollouts.activeRun()) ?? (await rollouts.listRuns(1))[0])?.runId;
    if (!runId) {
      println(io.stderr, `sensorfleet report: no rollout run in ${config.state.tableName} yet`);
      return EXIT.failed;
    }
    try {
      const report = await collectRunReport(rollouts, new DynamoDbFleetStore(config.state.tableName), runId, { maxRestarts: config.rollout.rings.maxRestarts });
      if (values.json) {
        println(io.stdout, JSON.stringify(report, null, 2));
        return EXIT.ok;
      }
      const at = await writeRunReport(report, new DirectoryReportSink(values.dir));
      println(io.stdout, `run ${report.run.runId} (${report.run.status}): ${report.totals.nodes.covered}/${report.totals.nodes.total} nodes covered (${report.totals.coveragePercent}%), ${report.totals.attention} cluster(s) need attention`);
      println(io.stdout, `  ${at.json}`);
      println(io.stdout, `  ${at.html}`);
      return EXIT.ok;
    } catch (err) {
      if (err instanceof RunNotFoundError) {
        println(io.stderr, `sensorfleet report: ${err.message}`);
        return EXIT.failed;
      }
      throw err;
    }
  });
}
