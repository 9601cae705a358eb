export interface CliIo {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export const processIo: CliIo = {
  // only the commands that read stdin open it (process.stdin builds a stream on first use)
  get stdin() {
    return process.stdin;
  },
  stdout: process.stdout,
  stderr: process.stderr,
};

export function println(stream: NodeJS.WritableStream, text = ''): void {
  stream.write(`${text}\n`);
}

/** Exit codes: 0 ok, 1 the work failed or reached nothing, 2 bad usage or input. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** `plan --exit-code`, as `kubectl diff` and `terraform plan -detailed-exitcode`: changes pending is not a failure. */
export const PLAN_EXIT = { nothing: 0, changes: 1, usage: 2, failed: 3 } as const;

/** Whether a stream is a terminal (a PassThrough in tests may say so too). */
export function isTerminal(stream: NodeJS.WritableStream): boolean {
  return (stream as { isTTY?: boolean }).isTTY === true;
}
