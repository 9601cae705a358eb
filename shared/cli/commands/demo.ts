import { parseArgs } from 'node:util';
import { EXIT, println, type CliIo } from '../io';

/**
 * `demo [--json] [--verbose]`: the whole product against the local sandbox (README's main command).
 * The sandbox lives in test/sandbox (shared by the tests and the demo); it is loaded here only.
 */
export async function demoCommand(args: string[], io: CliIo): Promise<number> {
  const rerun = await (await import('../../../test/sandbox/trust')).rerunTrustingSandboxCa();
  if (rerun !== undefined) return rerun;
  const { values } = parseArgs({ args, options: { json: { type: 'boolean', default: false }, verbose: { type: 'boolean', default: false } }, strict: true });
  if (!values.verbose) {
    process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  }
  const { runDemo } = await import('../../../test/sandbox/demo');
  const report = await runDemo({ log: values.json ? () => undefined : (line: string) => println(io.stdout, line) });
  if (values.json) println(io.stdout, JSON.stringify(report, null, 2));
  return report.ok ? EXIT.ok : EXIT.failed;
}
