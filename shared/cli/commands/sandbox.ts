import { once } from 'node:events';
import { EXIT, println, type CliIo } from '../io';

/** `sandbox`: start the local sandbox (moto, AWS front, Kubernetes API server) and keep it up until Ctrl-C. */
export async function sandboxCommand(_args: string[], io: CliIo): Promise<number> {
  const { startSandbox } = await import('../../../test/sandbox/index');
  const sandbox = await startSandbox();
  println(io.stdout, 'sandbox running; use these in another shell:');
  println(io.stdout, `  export AWS_ENDPOINT_URL=${sandbox.aws.endpoint} AWS_REGION=${sandbox.aws.region} AWS_ACCESS_KEY_ID=${sandbox.aws.credentials.accessKeyId} AWS_SECRET_ACCESS_KEY=${sandbox.aws.credentials.secretAccessKey}`);
  println(io.stdout, `  Kubernetes API server (all sandbox clusters): ${sandbox.kube.url}`);
  println(io.stdout, 'press Ctrl-C to stop');
  await Promise.race([once(process, 'SIGINT'), once(process, 'SIGTERM')]);
  await sandbox.stop();
  return EXIT.ok;
}
