import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { errorMessage } from '../../runtime/errors';
import { runCommand, UsageError } from '../args';
import { EXIT, println, type CliIo } from '../io';
import { commandSpec } from '../spec';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const RUNNER = join(ROOT, 'bin', 'lambda-invoke.mjs');

interface FunctionDef {
  handler: string;
  timeout?: number | string;
}

/**
 * `invoke FUNCTION --event FILE`: the function bundled as `serverless package` bundles it, invoked
 * once in a child process with the event and a Lambda context, against this shell's environment.
 * Offline by design: unlike `serverless invoke local` nothing is resolved from a deployed stack.
 */
export function invokeCommand(args: string[], io: CliIo): Promise<number> {
  return runCommand(commandSpec('invoke'), args, io, async ({ values, positionals }) => {
    const name = positionals[0]!;
    const yml = parseYaml(readFileSync(join(ROOT, 'serverless.yml'), 'utf8')) as { functions: Record<string, FunctionDef>; provider: { timeout?: number }; custom?: Record<string, unknown> };
    const fn = yml.functions[name];
    if (!fn) throw new UsageError(`no function "${name}" in serverless.yml (one of ${Object.keys(yml.functions).join(', ')})`);
    const event = await readEvent(values.event, io.stdin);
    const env: NodeJS.ProcessEnv = { ...process.env, POWERTOOLS_SERVICE_NAME: process.env.POWERTOOLS_SERVICE_NAME ?? 'sensorfleet' };
    if (values.config) env.SENSORFLEET_CONFIG = JSON.stringify((await import('../config-file')).loadCliConfig(values.config));

    const dir = mkdtempSync(join(tmpdir(), `sensorfleet-invoke-${name}-`));
    try {
      const eventFile = join(dir, 'event.json');
      const resultFile = join(dir, 'result.json');
      writeFileSync(eventFile, JSON.stringify(event), { mode: 0o600 });
      const entry = `${fn.handler.slice(0, fn.handler.lastIndexOf('.'))}.ts`;
      const bundle = await bundleFunctionAt(entry, join(dir, 'bundle'));
      const code = await runChild([RUNNER, bundle, eventFile, resultFile, name, String(timeoutSeconds(fn, yml) * 1000)], env, io.stderr);
      if (code !== 0) return EXIT.failed;
      println(io.stdout, JSON.stringify(JSON.parse(readFileSync(resultFile, 'utf8')), null, 2));
      return EXIT.ok;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

async function readEvent(file: string, stdin: NodeJS.ReadableStream): Promise<unknown> {
  let text: string;
  try {
    text = file === '-' ? await readAll(stdin) : readFileSync(resolve(file), 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read the event ${file}: ${errorMessage(err)}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new UsageError(`the event ${file} is not JSON: ${errorMessage(err)}`);
  }
}

/** test/support/bundle.ts builds exactly what `serverless package` ships (package.test.ts checks it); it reads serverless.yml from the checkout. */
async function bundleFunctionAt(entry: string, outDir: string): Promise<string> {
  const cwd = process.cwd();
  process.chdir(ROOT);
  try {
    const { bundleFunction } = await import('../../../test/support/bundle');
    return (await bundleFunction(entry, outDir)).entryFile;
  } finally {
    process.chdir(cwd);
  }
}

/** The function's timeout from serverless.yml (a number, or ${self:custom.NAME}), else the provider's, else 60 s. */
function timeoutSeconds(fn: FunctionDef, yml: { provider: { timeout?: number }; custom?: Record<string, unknown> }): number {
  const t = fn.timeout;
  if (typeof t === 'number') return t;
  const ref = typeof t === 'string' ? /^\$\{self:custom\.([\w-]+)\}$/.exec(t)?.[1] : undefined;
  const custom = ref ? yml.custom?.[ref] : undefined;
  return typeof custom === 'number' ? custom : (yml.provider.timeout ?? 60);
}

function runChild(args: string[], env: NodeJS.ProcessEnv, stderr: NodeJS.WritableStream): Promise<number> {
  return new Promise((ok, fail) => {
    // the handler's logs (stdout and stderr) go to our stderr: stdout carries only the result
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d: Buffer) => stderr.write(d));
    child.stderr.on('data', (d: Buffer) => stderr.write(d));
    child.once('error', fail);
    child.once('close', (code) => ok(code ?? 1));
  });
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}
