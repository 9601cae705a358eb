import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

/**
 * One moto_server (toolchain.md §3) on 127.0.0.1 and a free port. Used by vitest's globalSetup (one per
 * test run) and by the demo/bench (one per process). Nobody resets it: tests share it and use unique names.
 */
export interface MotoServer {
  url: string;
  stop(): Promise<void>;
}

export class MotoStartError extends Error {
  override name = 'MotoStartError';
  constructor(message: string) {
    super(message);
    // printed as one line wherever it surfaces (the demo, vitest's global setup): the message is the whole story
    this.stack = `${this.name}: ${message}`;
  }
}

/** What to do when there is no moto_server to start. */
export const MOTO_MISSING = "moto_server is not installed (not found on PATH): the sandbox needs Python moto 5 with its server, e.g. pip install 'moto[server]>=5,<6'";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export async function startMoto(opts: { startTimeoutMs?: number; env?: Record<string, string> } = {}): Promise<MotoServer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // detached: moto gets its own process group, so stop() can end moto_server and anything it forked
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { detached: true, stdio: ['ignore', 'ignore', 'pipe'], ...(opts.env ? { env: { ...process.env, ...opts.env } } : {}) });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  // a missing executable is an 'error' event (ENOENT), never an 'exit'
  let spawnError: string | undefined;
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', (err: NodeJS.ErrnoException) => {
      spawnError = err.code === 'ENOENT' ? MOTO_MISSING : `moto_server could not be started: ${err.message}`;
      resolve(null);
    });
  });
  const stop = onceOnly(() => stopProcessGroup(child, exited));
  const onSignal = (signal: NodeJS.Signals) => {
    killGroup(child, 'SIGTERM');
    process.off(signal, onSignal);
    process.kill(process.pid, signal);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const onExit = () => killGroup(child, 'SIGKILL');
  process.once('exit', onExit);
  try {
    await waitUntilAnswering(url, exited, opts.startTimeoutMs ?? 30_000, () => stderr, () => spawnError);
    await keepEcsTasksRunning(url);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url,
    stop: async () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.off('exit', onExit);
      await stop();
    },
  };
}

/**
 * moto advances an ECS task one lifecycle state per DescribeTasks (RUNNING -> DEACTIVATING -> … -> STOPPED,
 * moto/moto_api/__init__.py registers `ecs::task` as manual/1), so a daemon task would "stop" after being
 * looked at once. Real tasks stay RUNNING until stopped (StopTask sets STOPPED directly in moto).
 * Uses moto's state manager API: http://docs.getmoto.org/en/latest/docs/configuration/state_transition/
 */
export async function keepEcsTasksRunning(motoUrl: string): Promise<void> {
  const res = await fetch(`${motoUrl}/moto-api/state-manager/set-transition`, {
    method: 'POST',
    body: JSON.stringify({ model_name: 'ecs::task', transition: { progression: 'manual', times: 1_000_000_000 } }),
  });
  await res.arrayBuffer();
  if (!res.ok) throw new MotoStartError(`moto state manager answered ${res.status}`);
}

async function waitUntilAnswering(url: string, exited: Promise<number | null>, timeoutMs: number, stderr: () => string, spawnError: () => string | undefined): Promise<void> {
  let dead: number | null | undefined;
  void exited.then((code) => (dead = code));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (dead !== undefined) throw new MotoStartError(spawnError() ?? `moto_server exited with code ${dead}: ${stderr().trim().split('\n').slice(-3).join(' | ')}`);
    try {
      const res = await fetch(`${url}/moto-api/data.json`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new MotoStartError(`moto_server did not answer on ${url} within ${timeoutMs} ms`);
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

async function stopProcessGroup(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  killGroup(child, 'SIGTERM');
  const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

function onceOnly(fn: () => Promise<void>): () => Promise<void> {
  let p: Promise<void> | undefined;
  return () => (p ??= fn());
}
