import { PassThrough } from 'node:stream';
import { main } from '../../shared/cli/main';

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

/** The `sensorfleet` CLI through main(), with captured output; `tty` makes stderr look like a terminal (progress is shown only on one). */
export async function runCli(argv: string[], opts: { tty?: boolean } = {}): Promise<CliRun> {
  const stdout = new PassThrough();
  const stderr = Object.assign(new PassThrough(), opts.tty ? { isTTY: true, columns: 200 } : {});
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += d));
  stderr.on('data', (d) => (err += d));
  const code = await main(argv, { stdin: new PassThrough(), stdout, stderr });
  return { code, out, err };
}
