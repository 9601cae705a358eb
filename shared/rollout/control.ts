import type { RingClusterResult, RunRecord } from '../state/rollout-records';
import type { DynamoDbRolloutStore } from '../state/rollout-store';
import { errorMessage } from '../runtime/errors';
import { isStaleTaskToken, sendTaskSuccess } from './step-functions';

/**
 * An operator's answer to a halted run: claimed in the run record first (a conditional write: two
 * operators cannot both answer one halt), then given to the waiting workflow. If the workflow cannot
 * be told now, the claim is given back and the run stays halted, so the answer can be given again.
 */
export type HaltAnswer = 'resume' | 'abort';

export async function answerHalt(store: DynamoDbRolloutStore, runId: string, action: HaltAnswer, by: string, now: Date = new Date()): Promise<RunRecord> {
  const at = now.toISOString();
  const event = action === 'resume' ? `resumed by ${by}` : `aborted by ${by}`;
  const before = await store.claimHalt(runId, action === 'resume' ? 'running' : 'aborted', at, event);
  try {
    await sendTaskSuccess(before.halt!.taskToken, { action, by });
  } catch (err) {
    if (isStaleTaskToken(err)) {
      // the token was answered before (a lost acknowledgement) or the execution ended: only the latter stops the run
      const status = before.executionArn ? await executionStatus(before.executionArn) : undefined;
      if (action === 'resume' && status !== 'RUNNING') await store.finish(runId, 'failed', at, `the workflow no longer waits for an answer (${errorMessage(err)}; execution ${status ?? 'unknown'}); start a new run`);
    } else {
      await store.unclaimHalt(before, new Date().toISOString(), `${action} by ${by} could not reach the workflow (${errorMessage(err)}); still halted`);
      throw err;
    }
  }
  return store.requireRun(runId);
}

async function executionStatus(executionArn: string): Promise<string | undefined> {
  const { DescribeExecutionCommand, SFNClient } = await import('@aws-sdk/client-sfn');
  const region = /^arn:aws[\w-]*:states:([a-z0-9-]+):/.exec(executionArn)?.[1] ?? process.env.AWS_REGION ?? 'us-east-1';
  const { awsClient } = await import('../platforms/aws/clients');
  return (await awsClient(SFNClient, { region }).send(new DescribeExecutionCommand({ executionArn }))).status;
}

export interface RunStatusView {
  run: RunRecord;
  results: RingClusterResult[];
}

export async function runStatus(store: DynamoDbRolloutStore, runId: string): Promise<RunStatusView> {
  const [run, results] = await Promise.all([store.requireRun(runId), store.listResults(runId)]);
  return { run, results };
}
