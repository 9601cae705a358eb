import { awsClient } from '../platforms/aws/clients';

/**
 * The answers to the rollout workflow's callback tasks (the worker's, and the CLI's resume/abort). The
 * SDK (~480 KB bundled) is imported on first use, so the worker's cold start does not pay for it
 * (toolchain.md §7): only work items of a rollout ring and the rollout's own messages load it.
 */
const sdk = () => import('@aws-sdk/client-sfn');

function region(): string {
  return process.env.AWS_REGION ?? 'us-east-1';
}

export async function sendTaskSuccess(taskToken: string, output: unknown): Promise<void> {
  const { SendTaskSuccessCommand, SFNClient } = await sdk();
  await awsClient(SFNClient, { region: region() }).send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) }));
}

/** `cause` is cut to the API's limit (32,768 characters). */
export async function sendTaskFailure(taskToken: string, error: string, cause: string): Promise<void> {
  const { SendTaskFailureCommand, SFNClient } = await sdk();
  await awsClient(SFNClient, { region: region() }).send(new SendTaskFailureCommand({ taskToken, error: error.slice(0, 256), cause: cause.slice(0, 32_768) }));
}

/**
 * The task no longer waits for this token (the execution moved on: a failed ring stopped its other
 * clusters, the run was aborted, or the task timed out). Answering it again changes nothing.
 */
export function isStaleTaskToken(err: unknown): boolean {
  const name = (err as { name?: string })?.name;
  return name === 'TaskDoesNotExist' || name === 'TaskTimedOut' || name === 'InvalidToken';
}
