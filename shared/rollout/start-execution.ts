import { awsClient } from '../platforms/aws/clients';

/**
 * StartExecution of the rollout workflow (nightly only). The SDK is imported on first use, like the
 * task answers (step-functions.ts). Idempotent for the same name and input
 * (https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html).
 */
export async function startExecution(stateMachineArn: string, name: string, input: unknown): Promise<string> {
  const { SFNClient, StartExecutionCommand } = await import('@aws-sdk/client-sfn');
  const region = /^arn:aws[\w-]*:states:([a-z0-9-]+):/.exec(stateMachineArn)?.[1] ?? process.env.AWS_REGION ?? 'us-east-1';
  const out = await awsClient(SFNClient, { region }).send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
  return out.executionArn!;
}
