import { createHash } from 'node:crypto';
import {
  CreateServiceCommand,
  DescribeTaskDefinitionCommand,
  ListTaskDefinitionsCommand,
  RegisterTaskDefinitionCommand,
  type CreateServiceCommandInput,
  type ECSClient,
  type RegisterTaskDefinitionCommandInput,
  type TaskDefinition,
} from '@aws-sdk/client-ecs';
import { SensorfleetError } from '../../runtime/errors';
import { describeSensorService } from './reads';
import { diffTaskDefinitions } from './task-definition-diff';
import { isManaged } from './task-definition';

/**
 * Writes of the ECS apply that must not be doubled by a retry. A work item retried after a failed
 * CreateService used to register the same task definition again on every attempt (issue 7: three
 * revisions for one cluster); and a create whose answer is lost may well have happened.
 */

/** Newest revisions compared before registering a new one; a retry's own revision is among the newest. */
const LOOKBACK = 10;

/** The task definition to use: an identical ACTIVE revision of the family that we registered, else a new one. */
export async function registerTaskDefinitionOnce(ecs: ECSClient, input: RegisterTaskDefinitionCommandInput): Promise<{ taskDefinition: TaskDefinition; reused: boolean }> {
  const existing = await identicalActiveRevision(ecs, input);
  if (existing) return { taskDefinition: existing, reused: true };
  // RegisterTaskDefinition is not idempotent: a 5xx or a dropped connection may come after the revision
  // was made, and the SDK would send it again (a second revision). So the SDK does not retry it; we look first.
  for (let attempt = 1; ; attempt++) {
    try {
      const out = await ecs.send(notRetriedBySdk(new RegisterTaskDefinitionCommand(input)));
      if (!out.taskDefinition?.taskDefinitionArn) throw new SensorfleetError(`RegisterTaskDefinition of ${input.family} returned no ARN`);
      return { taskDefinition: out.taskDefinition, reused: false };
    } catch (err) {
      if (err instanceof SensorfleetError) throw err;
      const made = await identicalActiveRevision(ecs, input).catch(() => undefined);
      if (made) return { taskDefinition: made, reused: true };
      if (attempt >= REGISTER_ATTEMPTS || !mayRetry(err)) throw err;
      await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
    }
  }
}

const REGISTER_ATTEMPTS = 3;

/** The SDK's own retry of this command is stopped: its first failure is what the caller sees (and handles). */
function notRetriedBySdk<C extends { middlewareStack: { add: (mw: any, options: any) => void } }>(command: C): C {
  let first: unknown;
  command.middlewareStack.add(
    (next: (args: unknown) => Promise<unknown>) => async (args: unknown) => {
      // not `cause`: the SDK would classify the wrapper by its cause and retry it anyway
      if (first !== undefined) throw Object.assign(new Error(first instanceof Error ? first.message : String(first)), { name: 'NotRetriedBySdk', original: first });
      try {
        return await next(args);
      } catch (err) {
        first = err;
        throw err;
      }
    },
    // inside the SDK's retry loop (finalizeRequest, after the retry middleware): called once per attempt
    { step: 'finalizeRequest', priority: 'low', name: 'sensorfleetNotRetriedBySdk' },
  );
  return command;
}

/** Throttled, a 5xx or a lost connection: a later attempt may get through. */
function mayRetry(err: unknown): boolean {
  const e = ((err as { original?: unknown })?.original ?? err) as { name?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  return status === undefined || status >= 500 || status === 429 || /Throttl|TooManyRequests|RequestLimitExceeded/.test(e.name ?? '');
}

async function identicalActiveRevision(ecs: ECSClient, want: RegisterTaskDefinitionCommandInput): Promise<TaskDefinition | undefined> {
  const family = want.family!;
  const listed = await ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: family, status: 'ACTIVE', sort: 'DESC', maxResults: LOOKBACK }));
  // familyPrefix is a prefix and a lax API (moto) ignores sort and maxResults: both are applied again
  const newest = (listed.taskDefinitionArns ?? [])
    .map((arn) => ({ arn, at: revisionOf(arn, family) }))
    .filter((r): r is { arn: string; at: number } => r.at !== undefined)
    .sort((a, b) => b.at - a.at)
    .slice(0, LOOKBACK);
  for (const { arn } of newest) {
    const out = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn, include: ['TAGS'] }));
    if (out.taskDefinition && isManaged(out.tags) && diffTaskDefinitions(want, out.taskDefinition).length === 0) return out.taskDefinition;
  }
  return undefined;
}

/** Revision number of `arn:aws:ecs:<region>:<account>:task-definition/<family>:<revision>` when the family is exactly `family`. */
function revisionOf(arn: string, family: string): number | undefined {
  const m = /:task-definition\/([^:]+):(\d+)$/.exec(arn);
  return m && m[1] === family ? Number(m[2]) : undefined;
}

/**
 * CreateService with a client token derived from the request (ECS answers a repeated identical
 * request with the same service instead of an error), and, when the call fails anyway, one read of
 * the service: if it exists as this request would have made it, the create happened and its answer
 * was lost. https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html (clientToken)
 */
export async function createServiceOnce(ecs: ECSClient, input: CreateServiceCommandInput & { cluster: string; taskDefinition: string }): Promise<void> {
  const clientToken = createHash('sha256').update(JSON.stringify(input)).digest('hex').slice(0, 32);
  try {
    await ecs.send(new CreateServiceCommand({ ...input, clientToken }));
  } catch (err) {
    const service = await describeSensorService(ecs, input.cluster).catch(() => undefined);
    const created = service && service.status === 'ACTIVE' && isManaged(service.tags) && service.taskDefinition === input.taskDefinition;
    if (!created) throw err;
  }
}
