import type { ClusterRef, Platform } from '../domain/cluster-ref';
import type { SensorfleetConfig } from '../config/schema';

/**
 * The one interface every platform adapter implements (after Powertools' persistence-layer shape:
 * one interface, one folder per backend). The engine drives them in this order:
 *   connect -> observe -> plan (pure) -> apply -> verify
 * Cloud and cluster calls live only in adapters; `plan` must not do I/O.
 */
export interface PlatformAdapter<Handle = unknown, Observed = unknown, Action extends PlannedAction = PlannedAction> {
  readonly platform: Platform;
  /** Every cluster of this platform in one configured scope (account+region, subscription, project). */
  discover(scope: DiscoveryScope): Promise<ClusterRef[]>;
  /** Looks the cluster up; throws ClusterNotReadyError while it is being created, ClusterNotFoundError if gone. */
  connect(ref: ClusterRef): Promise<ConnectedCluster<Handle>>;
  observe(cluster: ConnectedCluster<Handle>, desired: DesiredSensor): Promise<Observed>;
  /** Pure: desired + observed -> actions, each with the reason it is needed. */
  plan(desired: DesiredSensor, observed: Observed, options: PlanOptions): ClusterPlan<Action>;
  apply(cluster: ConnectedCluster<Handle>, plan: ClusterPlan<Action>): Promise<ApplyOutcome>;
  /** Per-node coverage, waiting at most until the deadline; never waits forever. */
  verify(cluster: ConnectedCluster<Handle>, desired: DesiredSensor, options: VerifyOptions): Promise<Coverage>;
  /** Names (and host names) of the nodes, for when a fast-path verify listed none and the node count changed. */
  listNodes?(cluster: ConnectedCluster<Handle>): Promise<Pick<Coverage, 'nodeNames' | 'hostnames'>>;
  /** Releases what connect opened (kept-alive connections); the engine calls it once the cluster's reconcile ends. */
  release?(cluster: ConnectedCluster<Handle>): void;
}

export interface DiscoveryScope {
  platform: Platform;
  /** AWS account id, Azure subscription id, GCP project id. */
  scope: string;
  /** AWS region (Azure/GCP: '*' for all). */
  location: string;
}

export interface ConnectedCluster<Handle = unknown> {
  ref: ClusterRef;
  /** Provider status, e.g. ACTIVE. */
  status: string;
  tags: Record<string, string>;
  handle: Handle;
}

/** Everything the desired sensor needs, resolved once per run (credentials included). */
export interface DesiredSensor {
  config: SensorfleetConfig;
  /** Activation and customer ids; never logged. Only Kubernetes needs the values (ECS references the secret). */
  credentials?: { activationId: string; customerId: string };
  /** Secrets Manager secret ARN for ECS task definition `secrets`, per account/region. */
  credentialsSecretArn?: (ref: ClusterRef) => string;
  podUrl: string;
}

export interface PlanOptions {
  /** On-call: 'restart' rolls the pods/tasks without changing the spec; 'redeploy' re-applies everything. */
  force?: 'restart' | 'redeploy';
  reason?: string;
}

export interface PlannedAction {
  /**
   * Machine-readable, e.g. "apply", "register-task-definition", "update-service", "restart".
   * `finding` is informational (e.g. "exists, not managed by sensorfleet; left alone") and is never applied.
   */
  type: string;
  /** What it acts on, e.g. "apps/v1 DaemonSet qualys-sensor/qualys-container-sensor". */
  target: string;
  /** Why, in one human sentence: "image differs: want qualys/qcs-sensor:1.35.0-0, have 1.34.1-0". */
  reason: string;
  /** The field differences behind an update, for diffs (`plan`); absent for creates and findings. */
  changes?: FieldChange[];
  /** Applying it replaces the running sensor (a new pod template or task definition, a restart); the blast-radius guard counts these. */
  rollout?: boolean;
}

/** One field an action changes: its path, the live value and the wanted one. Secret values are never carried. */
export interface FieldChange {
  /** e.g. spec.template.spec.containers[qualys-container-sensor].image */
  path: string;
  /** Absent: the field is not set now. */
  from?: unknown;
  /** Absent: the field is removed. */
  to?: unknown;
  /** A secret (or a value that may be one): it changes, and neither value is shown. */
  secret?: boolean;
}

export interface ClusterPlan<Action extends PlannedAction = PlannedAction> {
  cluster: string;
  actions: Action[];
  /** Sensor version running now (if any) and the one desired. */
  sensorVersion: { current?: string; desired: string };
}

export interface ApplyOutcome {
  applied: number;
  /** Set when the rollout of a new revision started (pods/tasks will be replaced). */
  rolloutStarted: boolean;
}

export interface VerifyOptions {
  deadlineMs: number;
  pollMs: number;
  /** Called after each poll of a rollout wait that is not finished yet (CLI progress). */
  onProgress?: (p: { updated: number; total: number; message: string }) => void;
  /** One observation, never a wait: a rollout not finished yet comes back as 'progressing' (the worker requeues the item). */
  once?: boolean;
  /** Look at the sensor pods even when the status proves coverage, to count restarts (a ring's gate). */
  withRestarts?: boolean;
}

export type RolloutState = 'complete' | 'progressing' | 'stuck';

export interface UncoveredNode {
  /** Node name (Kubernetes) or container instance id (ECS). */
  node: string;
  reason: string;
}

/** A node the sensor cannot run on (operating system or CPU architecture its image does not support). */
export interface OutOfScopeNode {
  node: string;
  /** e.g. "kubernetes.io/os=windows: the sensor image supports linux only" */
  reason: string;
}

/** Coverage per node, not a count: every schedulable node / ACTIVE instance runs a ready sensor of the current revision. */
export interface Coverage {
  /** Schedulable nodes in scope; out-of-scope nodes are not counted. */
  total: number;
  covered: number;
  uncovered: UncoveredNode[];
  /** Nodes outside the sensor image's operating systems / architectures: neither covered nor uncovered. Absent when none. */
  outOfScope?: OutOfScopeNode[];
  rollout: { state: RolloutState; message: string };
  /** The sensor version the covered nodes run. */
  sensorVersion?: string;
  /** Names of every node/instance counted in `total` (Kubernetes node names, EC2 instance ids); feeds Qualys hygiene. */
  nodeNames?: string[];
  /** Host name a sensor reports, where it differs from the node name (ECS: the EC2 private DNS name). */
  hostnames?: Record<string, string>;
  /** Most restarts of one sensor container of the current revision (Kubernetes, when pods were listed). */
  restarts?: { max: number; pod?: string };
}
