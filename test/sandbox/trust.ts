import { spawn } from 'node:child_process';
import { sandboxCa } from './kube/tls';

/**
 * Node reads NODE_EXTRA_CA_CERTS once, at process start. A command that talks to the sandbox's HTTPS
 * stand-ins (ARM, Entra, GKE, Google STS, Kubernetes) therefore runs itself again, once, with the
 * sandbox CA added; the product keeps full TLS verification. Returns undefined when this process
 * already trusts the CA (go on here), else the exit code of the process that ran the command.
 */
export async function rerunTrustingSandboxCa(): Promise<number | undefined> {
  const file = sandboxCa().file;
  if (process.env.NODE_EXTRA_CA_CERTS === file) return undefined;
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, NODE_EXTRA_CA_CERTS: file },
  });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => resolve(code ?? (signal ? 130 : 1)));
    });
  } finally {
    process.off('SIGINT', forward);
    process.off('SIGTERM', forward);
  }
}
