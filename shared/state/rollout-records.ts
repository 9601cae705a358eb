/**
 * What a version rollout leaves in the fleet table: the run (its rings, where it stands, why it
 * halted), each cluster's result in its ring, and per cluster the version its ring released. The
 * desired version of a cluster is read from its release (DESIGN §10), on every path.
 */
export type RunStatus = 'running' | 'halted' | 'succeeded' | 'aborted' | 'failed';

export const FINISHED_RUN: readonly RunStatus[] = ['succeeded', 'aborted', 'failed'];

export interface RingPlan {
  /** 0-based position in the run. */
  ring: number;
  /** e.g. "released" (already at the target: drift only), "canary", "25%", "100%". */
  name: string;
  /** Gated rings wait for the gate (coverage, Qualys check-in, restarts) before the next ring starts. */
  gate: boolean;
  clusters: string[];
}

/**
 * A ring as the run record keeps it: its size and how many chunks hold its members (the members are
 * chunk items of their own, RUN#<id> CHUNK#<ring>#<chunk>: a 10,000-cluster run does not fit one item).
 */
export interface RunRing {
  ring: number;
  name: string;
  gate: boolean;
  /** Clusters in the ring. */
  size: number;
  /** Chunk items holding them (each at most rollout.rings.chunkSize clusters). */
  chunks: number;
}

/** One chunk of a ring's members (one child execution of the workflow's Distributed Map hands them out). */
export interface RingChunk {
  runId: string;
  ring: number;
  chunk: number;
  clusters: string[];
}

/** The gate of one chunk of a ring, in this pass of the ring (a resume starts a new pass). */
export interface ChunkGate extends GateState {
  runId: string;
  ring: number;
  chunk: number;
  /** When this pass first asked the chunk's gate: its deadline counts from here. */
  startedAt: string;
  /** The run's resume count when startedAt was set; an older pass's gate starts over. */
  pass: number;
  /** On a pass: what the gate saw (summed into the ring's verdict). */
  clusters?: number;
  nodes?: number;
}

export type GateVerdict = 'pass' | 'wait' | 'fail';

export interface GateState {
  verdict: GateVerdict;
  reason: string;
  at: string;
}

export interface RunRecord {
  runId: string;
  status: RunStatus;
  /** The version this run rolls out (sensor.version of the configuration that started it). */
  targetVersion: string;
  /** The fleet's approved version before the run: what clusters of unreleased rings keep. */
  baselineVersion?: string;
  trigger: { source: string; eventId?: string; requestedBy?: string };
  startedAt: string;
  updatedAt: string;
  finishedAt?: string;
  rings: RunRing[];
  /** The Step Functions execution that orchestrates the rings. */
  executionArn?: string;
  /** While halted: the ring that failed, why, and the task token resume/abort answer. */
  halt?: { ring: number; reason: string; at: string; taskToken: string };
  /** The ring's gate verdict once it is known (pass: every chunk passed; fail: the chunk that failed), key: ring number. Each chunk's own gate is a ChunkGate item. */
  gates: Record<string, GateState>;
  /** How often the run was resumed: a ring's gates start over in each pass (ChunkGate.pass). */
  resumes?: number;
  /** Why the run ended, when it did not succeed. */
  endReason?: string;
  /** What happened, in order, one line each (ring passed, halted, resumed by, aborted by). */
  history: { at: string; event: string }[];
}

/** One cluster's answer in its ring (the worker writes it before answering the workflow). */
export interface RingClusterResult {
  runId: string;
  ring: number;
  cluster: string;
  ok: boolean;
  outcome: string;
  message: string;
  sensorVersion?: string;
  at: string;
}

/** The version a cluster's ring released to it (or a forced action installed). */
export interface ReleaseRecord {
  cluster: string;
  version: string;
  releasedAt: string;
  runId?: string;
  ring?: number;
  /** A forced on-call action installed this version past the rings. */
  forced?: { by: string; reason: string };
}

/** The version the whole fleet is approved at: the target of the last run that released every ring. */
export interface BaselineRecord {
  version: string;
  runId: string;
  at: string;
}
