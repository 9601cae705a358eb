import * as z from 'zod';
import type { SensorfleetConfig } from '../config/schema';
import type { AdapterRegistry } from '../engine/adapters';
import { buildAdapters } from '../engine/build';
import { runQualysCheckIn } from '../qualys/sync';
import type { RunRing } from '../state/rollout-records';
import type { DynamoDbRolloutStore } from '../state/rollout-store';
import { CLUSTER_FAILED } from './ring-answer';
import { evaluateRingGate, passReason, type GateResult } from './gate';
import { isStaleTaskToken, sendTaskFailure, sendTaskSuccess } from './step-functions';

/**
 * The rollout workflow's own messages on the work queue (message group rollout#<run>; a chunk's gate
 * rollout#<run>#<ring>#<chunk>), handled by the worker in one short look each: the workflow asks a
 * chunk's gate, says a ring's chunks are done (the ring passes or halts), says a ring halted (with the
 * token resume/abort answer), or says every ring passed. Loaded with import(): only these messages pay for
 * the gate's and the Step Functions SDK's code.
 */
const runMessageSchema = z.discriminatedUnion('type', [
  // chunk: the gate of one chunk of the ring (each child execution of the Distributed Map asks its own)
  z.object({ type: z.literal('rollout-gate'), runId: z.string().min(1), ring: z.number().int().min(0), chunk: z.number().int().min(0).optional(), taskToken: z.string().min(1) }),
  // every chunk of the ring was released and passed its gate: recorded before the next ring starts
  z.object({ type: z.literal('rollout-ring-passed'), runId: z.string().min(1), ring: z.number().int().min(0), taskToken: z.string().min(1) }),
  z.object({
    type: z.literal('rollout-halted'),
    runId: z.string().min(1),
    ring: z.number().int().min(0),
    taskToken: z.string().min(1),
    // the Catch's error output ({Error, Cause}), or the failed gate's
    // (moto's executor gives a task failure's Cause as null)
    failure: z.object({ Error: z.string().nullish(), Cause: z.string().nullish() }).passthrough().optional(),
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
    case 'rollout-ring-passed':
      return ringPassed(m, deps, now);
    case 'rollout-halted':
      return halted(m, deps, now);
    case 'rollout-finished':
      return finished(m, deps, now);
  }
}

async function gate(m: Extract<RunMessage, { type: 'rollout-gate' }>, deps: RunMessageDeps, now: Date): Promise<RunMessageOutcome> {
  const run = await deps.store.requireRun(m.runId);
  const ring = run.rings.find((r) => r.ring === m.ring);
  const chunk = m.chunk ?? 0;
  const name = ring ? `ring ${m.ring} (${ring.name})` : `ring ${m.ring}`;
  const where = ring && ring.chunks > 1 ? `${name}, chunk ${chunk + 1}/${ring.chunks}` : name;
  let result: GateResult;
  if (run.status !== 'running') result = { verdict: 'fail', reason: `run ${run.runId} is ${run.status}`, waitSeconds: 0 };
  else if (!ring) result = { verdict: 'fail', reason: `run ${run.runId} has no ring ${m.ring}`, waitSeconds: 0 };
  else {
    const members = await deps.store.getChunk(run.runId, m.ring, chunk);
    if (!members) result = { verdict: 'fail', reason: `run ${run.runId} has no chunk ${chunk} in ring ${m.ring}`, waitSeconds: 0 };
    else {
      const startedAt = await deps.store.chunkGateStartedAt(run.runId, m.ring, chunk, run.resumes ?? 0, now.toISOString());
      result = await evaluateRingGate({
        config: deps.config,
        ring: members,
        target: run.targetVersion,
        startedAt,
        now,
        adapters: deps.adapters ?? buildAdapters(deps.config),
        checkIn: (clusters) => runQualysCheckIn(deps.config, clusters),
      });
      await deps.store.putChunkGate({ runId: run.runId, ring: m.ring, chunk, pass: run.resumes ?? 0, startedAt, verdict: result.verdict, reason: result.reason, at: now.toISOString(), ...(result.counts ?? {}) });
    }
  }
  // the ring's verdict: a failed chunk fails it now (the halt reads it); a pass is the ring's once every chunk passed (ringPassed)
  if (result.verdict === 'fail') await deps.store.recordGate(run.runId, m.ring, { verdict: 'fail', reason: result.reason, at: now.toISOString() }, `${where} failed its gate: ${result.reason}`);
  const answered = await answer(m.taskToken, result);
  return { kind: 'done', note: `${where}: gate ${result.verdict}: ${result.reason}${answered ? '' : ' (the workflow no longer waited for it)'}` };
}

/** The error RingPassed's task fails with when a chunk did not pass (its Catch halts the run). */
export const RING_INCOMPLETE = 'RingIncomplete';

/**
 * The Distributed Map finished the ring: it passes when every chunk passed its gate in this pass of the
 * ring (a gated ring) or every member answered ok (the released ring); then the ring's verdict (the
 * chunks' counts summed) and its history line are recorded and the next ring may start. Otherwise the
 * task fails and the run halts: a child execution that failed does not fail the Map everywhere (moto's
 * executor keeps going; AWS fails it past the tolerated failures), so the ring is checked here.
 */
async function ringPassed(m: Extract<RunMessage, { type: 'rollout-ring-passed' }>, deps: RunMessageDeps, now: Date): Promise<RunMessageOutcome> {
  const run = await deps.store.requireRun(m.runId);
  const ring = run.rings.find((r) => r.ring === m.ring);
  const name = ring ? `ring ${m.ring} (${ring.name})` : `ring ${m.ring}`;
  const missing = ring ? await unfinished(run.runId, ring, run.resumes ?? 0, deps.store) : `run ${run.runId} has no ring ${m.ring}`;
  if (missing) {
    const answered = await answerFailure(m.taskToken, RING_INCOMPLETE, `${name}: ${missing}`);
    return { kind: 'done', note: `${name} did not pass: ${missing}${answered ? '' : ' (the workflow no longer waited for it)'}` };
  }
  let note: string;
  if (run.gates[String(m.ring)]?.verdict === 'pass') note = `${name} passed its gate (recorded before: a second delivery)`;
  else if (ring!.gate) {
    const gates = (await deps.store.listChunkGates(run.runId, m.ring)).filter((g) => g.pass === (run.resumes ?? 0));
    const counts = gates.reduce((n, g) => ({ clusters: n.clusters + (g.clusters ?? 0), nodes: n.nodes + (g.nodes ?? 0) }), { clusters: 0, nodes: 0 });
    const reason = passReason(counts, run.targetVersion, deps.config.rollout.rings.maxRestarts, deps.config.rollout.checkInGate.enabled);
    const chunks = ring!.chunks > 1 ? ` (${ring!.chunks} chunks)` : '';
    await deps.store.recordGate(run.runId, m.ring, { verdict: 'pass', reason, at: now.toISOString() }, `${name} passed its gate${chunks}: ${reason}`);
    note = `${name} passed its gate: ${reason}`;
  } else {
    note = `${name} released to ${ring!.size} cluster(s) (no gate: already at ${run.targetVersion})`;
    await deps.store.appendHistory(run.runId, now.toISOString(), note);
  }
  const answered = await answer(m.taskToken, { ring: m.ring });
  return { kind: 'done', note: `${note}${answered ? '' : ' (the workflow no longer waited for it)'}` };
}

/** What keeps the ring from passing, or undefined. */
async function unfinished(runId: string, ring: RunRing, pass: number, store: DynamoDbRolloutStore): Promise<string | undefined> {
  if (ring.gate) {
    const passed = new Set((await store.listChunkGates(runId, ring.ring)).filter((g) => g.pass === pass && g.verdict === 'pass').map((g) => g.chunk));
    const open = Array.from({ length: ring.chunks }, (_, i) => i).filter((c) => !passed.has(c));
    return open.length ? `${open.length} of ${ring.chunks} chunk(s) did not pass their gate (chunk ${open.slice(0, 5).map((c) => c + 1).join(', ')}${open.length > 5 ? ', …' : ''})` : undefined;
  }
  const ok = new Set((await store.listResults(runId, ring.ring)).filter((r) => r.ok).map((r) => r.cluster));
  const open = (await store.listRingClusters(runId, ring.ring)).filter((c) => !ok.has(c));
  return open.length ? `${open.length} of ${ring.size} cluster(s) did not answer ok (${open.slice(0, 5).join(', ')}${open.length > 5 ? ', …' : ''})` : undefined;
}

async function halted(m: Extract<RunMessage, { type: 'rollout-halted' }>, deps: RunMessageDeps, now: Date): Promise<RunMessageOutcome> {
  const run = await deps.store.requireRun(m.runId);
  const ring = run.rings.find((r) => r.ring === m.ring);
  const reason = await haltReason(m, deps.store, ring?.name);
  const halted = await deps.store.halt(run.runId, { ring: m.ring, reason, at: now.toISOString(), taskToken: m.taskToken });
  const report = halted ? await runReport(run.runId, deps) : '';
  return { kind: 'done', note: halted ? `run ${run.runId} halted in ring ${m.ring}: ${reason}${report}` : `run ${run.runId} is ${run.status}: its halt in ring ${m.ring} was not recorded (${reason})` };
}

async function finished(m: Extract<RunMessage, { type: 'rollout-finished' }>, deps: RunMessageDeps, now: Date): Promise<RunMessageOutcome> {
  const run = await deps.store.requireRun(m.runId);
  const moved = await deps.store.finish(run.runId, 'succeeded', now.toISOString(), `every ring released ${run.targetVersion} and passed its gate: the fleet baseline is now ${run.targetVersion}`);
  if (moved) await deps.store.putBaseline({ version: run.targetVersion, runId: run.runId, at: now.toISOString() });
  const report = moved ? await runReport(run.runId, deps) : '';
  return { kind: 'done', note: moved ? `run ${run.runId} succeeded: baseline ${run.targetVersion}${report}` : `run ${run.runId} was already ${run.status}` };
}

/** The run's report (shared/report), written where the run halts or finishes; never fails the message. */
async function runReport(runId: string, deps: RunMessageDeps): Promise<string> {
  const [{ publishRunReport, publishNote }, { runMetrics }, { publishMetricValues }] = await Promise.all([import('../report/publish'), import('../report/metrics'), import('../lambda/powertools')]);
  const published = await publishRunReport(deps.store, runId, { maxRestarts: deps.config.rollout.rings.maxRestarts, ...(deps.now ? { now: deps.now() } : {}) });
  if (published.report) publishMetricValues(runMetrics(published.report));
  return publishNote(published);
}

/**
 * Why the ring halted, in words: the gate's reason, or the clusters that failed it (from their
 * recorded results; the workflow's error cause may be empty: moto drops a Map iteration's cause).
 */
async function haltReason(m: Extract<RunMessage, { type: 'rollout-halted' }>, store: DynamoDbRolloutStore, ringName?: string): Promise<string> {
  const name = `ring ${m.ring}${ringName ? ` (${ringName})` : ''}`;
  const error = m.failure?.Error ?? undefined;
  const cause = m.failure?.Cause ?? undefined;
  if (error === 'RingGateFailed' && cause) return `${name} failed its gate: ${cause}`;
  const failed = (await store.listResults(m.runId, m.ring)).filter((r) => !r.ok);
  if (failed.length > 0) return `${name}: ${failed.map((r) => `${r.cluster} ${r.outcome}: ${r.message}`).join(' | ')}`;
  // a chunk's child execution failed its gate: the Distributed Map reports only that a child failed, the gate recorded why
  const gate = (await store.getRun(m.runId))?.gates[String(m.ring)];
  if (gate?.verdict === 'fail') return `${name} failed its gate: ${gate.reason}`;
  if (error === 'States.Timeout') return `${name}: a cluster did not answer before the task timeout`;
  if (error === CLUSTER_FAILED && cause) return `${name}: ${cause}`;
  return `${name}: ${error ?? 'failed'}${cause ? `: ${cause}` : ''}`;
}

async function answerFailure(taskToken: string, error: string, cause: string): Promise<boolean> {
  try {
    await sendTaskFailure(taskToken, error, cause);
    return true;
  } catch (err) {
    if (isStaleTaskToken(err)) return false;
    throw err;
  }
}

async function answer(taskToken: string, result: GateResult | { ring: number }): Promise<boolean> {
  try {
    await sendTaskSuccess(taskToken, result);
    return true;
  } catch (err) {
    if (isStaleTaskToken(err)) return false;
    throw err;
  }
}

