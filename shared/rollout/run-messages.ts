import * as z from 'zod';
import type { SensorfleetConfig } from '../config/schema';
import type { AdapterRegistry } from '../engine/adapters';
import { buildAdapters } from '../engine/build';
import { runQualysCheckIn } from '../qualys/sync';
import type { DynamoDbRolloutStore } from '../state/rollout-store';
import { CLUSTER_FAILED } from './ring-answer';
import { evaluateRingGate, type GateResult } from './gate';
import { isStaleTaskToken, sendTaskSuccess } from './step-functions';

/**
 * The rollout workflow's own messages on the work queue (message group rollout#<run>), handled by the
 * worker in one short look each: the workflow asks a ring's gate, says a ring halted (with the token
 * resume/abort answer), or says every ring passed. Loaded with import(): only these messages pay for
 * the gate's and the Step Functions SDK's code.
 */
const runMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('rollout-gate'), runId: z.string().min(1), ring: z.number().int().min(0), taskToken: z.string().min(1) }),
  z.object({
    type: z.literal('rollout-halted'),
    runId: z.string().min(1),
    ring: z.number().int().min(0),
    taskToken: z.string().min(1),
    // the Catch's error output ({Error, Cause}), or the failed gate's
    failure: z.object({ Error: z.string().optional(), Cause: z.string().optional() }).passthrough().optional(),
  }),
  z.object({ type: z.literal('rollout-finished'), runId: z.string().min(1) }),
]);
export type RunMessage = z.infer<typeof runMessageSchema>;

export type RunMessageOutcome = { kind: 'done'; note: string } | { kind: 'invalid'; reason: string };

export interface RunMessageDeps {
  config: SensorfleetConfig;
  store: DynamoDbRolloutStore;
  adapters?: AdapterRegistry;
  now?: () => Date;
}

export async function handleRunMessage(body: unknown, deps: RunMessageDeps): Promise<RunMessageOutcome> {
  const parsed = runMessageSchema.safeParse(body);
  if (!parsed.success) return { kind: 'invalid', reason: parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ') };
  const m = parsed.data;
  const now = (deps.now ?? (() => new Date()))();
  switch (m.type) {
    case 'rollout-gate':
      return gate(m, deps, now);
    case 'rollout-halted':
      return halted(m, deps, now);
    case 'rollout-finished':
      return finished(m, deps, now);
  }
}

async function gate(m: Extract<RunMessage, { type: 'rollout-gate' }>, deps: RunMessageDeps, now: Date): Promise<RunMessageOutcome> {
  const run = await deps.store.requireRun(m.runId);
  const ring = run.rings.find((r) => r.ring === m.ring);
  let result: GateResult;
  if (run.status !== 'running') result = { verdict: 'fail', reason: `run ${run.runId} is ${run.status}`, waitSeconds: 0 };
  else if (!ring) result = { verdict: 'fail', reason: `run ${run.runId} has no ring ${m.ring}`, waitSeconds: 0 };
  else {
    const startedAt = await deps.store.gateStartedAt(run.runId, m.ring, now.toISOString());
    result = await evaluateRingGate({
      config: deps.config,
      ring,
      target: run.targetVersion,
      startedAt,
      now,
      adapters: deps.adapters ?? buildAdapters(deps.config),
      checkIn: (clusters) => runQualysCheckIn(deps.config, clusters),
    });
  }
  const name = ring ? `ring ${m.ring} (${ring.name})` : `ring ${m.ring}`;
  const event = result.verdict === 'pass' ? `${name} passed its gate: ${result.reason}` : result.verdict === 'fail' ? `${name} failed its gate: ${result.reason}` : undefined;
  await deps.store.recordGate(run.runId, m.ring, { verdict: result.verdict, reason: result.reason, at: now.toISOString() }, event);
  const answered = await answer(m.taskToken, result);
  return { kind: 'done', note: `${name}: gate ${result.verdict}: ${result.reason}${answered ? '' : ' (the workflow no longer waited for it)'}` };
}

async function halted(m: Extract<RunMessage, { type: 'rollout-halted' }>, deps: RunMessageDeps, now: Date): Promise<RunMessageOutcome> {
  const run = await deps.store.requireRun(m.runId);
  const ring = run.rings.find((r) => r.ring === m.ring);
  const reason = await haltReason(m, deps.store, ring?.name);
  const halted = await deps.store.halt(run.runId, { ring: m.ring, reason, at: now.toISOString(), taskToken: m.taskToken });
  return { kind: 'done', note: halted ? `run ${run.runId} halted in ring ${m.ring}: ${reason}` : `run ${run.runId} is ${run.status}: its halt in ring ${m.ring} was not recorded (${reason})` };
}

async function finished(m: Extract<RunMessage, { type: 'rollout-finished' }>, deps: RunMessageDeps, now: Date): Promise<RunMessageOutcome> {
  const run = await deps.store.requireRun(m.runId);
  const moved = await deps.store.finish(run.runId, 'succeeded', now.toISOString(), `every ring released ${run.targetVersion} and passed its gate: the fleet baseline is now ${run.targetVersion}`);
  if (moved) await deps.store.putBaseline({ version: run.targetVersion, runId: run.runId, at: now.toISOString() });
  return { kind: 'done', note: moved ? `run ${run.runId} succeeded: baseline ${run.targetVersion}` : `run ${run.runId} was already ${run.status}` };
}

/**
 * Why the ring halted, in words: the gate's reason, or the clusters that failed it (from their
 * recorded results; the workflow's error cause may be empty: moto drops a Map iteration's cause).
 */
async function haltReason(m: Extract<RunMessage, { type: 'rollout-halted' }>, store: DynamoDbRolloutStore, ringName?: string): Promise<string> {
  const name = `ring ${m.ring}${ringName ? ` (${ringName})` : ''}`;
  const error = m.failure?.Error;
  const cause = m.failure?.Cause;
  if (error === 'RingGateFailed' && cause) return `${name} failed its gate: ${cause}`;
  const failed = (await store.listResults(m.runId)).filter((r) => r.ring === m.ring && !r.ok);
  if (failed.length > 0) return `${name}: ${failed.map((r) => `${r.cluster} ${r.outcome}: ${r.message}`).join(' | ')}`;
  if (error === 'States.Timeout') return `${name}: a cluster did not answer before the task timeout`;
  if (error === CLUSTER_FAILED && cause) return `${name}: ${cause}`;
  return `${name}: ${error ?? 'failed'}${cause ? `: ${cause}` : ''}`;
}

async function answer(taskToken: string, result: GateResult): Promise<boolean> {
  try {
    await sendTaskSuccess(taskToken, result);
    return true;
  } catch (err) {
    if (isStaleTaskToken(err)) return false;
    throw err;
  }
}

