import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GoogleApiError, permissionDenied, rateLimited, sendGoogleError, sendJson, unauthenticated } from './google-errors';
import { bearerOf, readBody, type GoogleFaults, type RecordedGoogleRequest } from './https';
import type { GoogleIdentity } from './identity';
import {
  GKE_VERSION,
  newOperationName,
  poolHash,
  renderCluster,
  renderNodePool,
  renderOperation,
  selfLink,
  withIntEnums,
  type ClusterStatus,
  type NodePoolSpec,
  type SandboxGkeCluster,
  type SandboxOperation,
} from './gke-model';

/**
 * A local GKE API (container.googleapis.com v1) in the REST wire format the client's fallback mode
 * speaks (https://cloud.google.com/kubernetes-engine/docs/reference/rest/v1/projects.locations.clusters):
 *   GET    /v1/projects/{p}/locations/{l}/clusters              list ('-' = every location), missingZones
 *   POST   /v1/projects/{p}/locations/{l}/clusters              create -> Operation (PROVISIONING -> RUNNING over time)
 *   GET    /v1/projects/{p}/locations/{l}/clusters/{c}          get
 *   DELETE /v1/projects/{p}/locations/{l}/clusters/{c}          delete -> Operation (STOPPING, then gone)
 *   GET    /v1/projects/{p}/locations/{l}/clusters/{c}/nodePools[/{np}]
 *   GET    /v1/projects/{p}/locations/{l}/operations[/{op}]
 * `{p}` is the project id or number. `$alt=json;enum-encoding=int` makes enums numbers. Every call needs
 * `Authorization: Bearer <Google access token>` issued by the sandbox STS/IAM Credentials for a principal
 * granted on the project (else 401 UNAUTHENTICATED / 403 PERMISSION_DENIED). Errors are Google JSON errors.
 */
export interface ClusterBacking {
  /** Gives a new cluster its control plane (endpoint, CA) and the nodes of its pools. */
  attach(c: SandboxGkeCluster): void;
  /** The pool grew by these node names. */
  nodesAdded(c: SandboxGkeCluster, pool: string, names: string[]): void;
  detach(c: SandboxGkeCluster): void;
}

export interface CreateClusterInput {
  projectId: string;
  location: string;
  name: string;
  autopilot?: boolean;
  nodePools: NodePoolSpec[];
  labels?: Record<string, string>;
  provisioningForMs?: number;
}

export interface GkeApiFaults extends GoogleFaults {
  /** Locations that do not answer: left out of lists and named in `missingZones`. */
  unreachableZones?: Set<string>;
}

const PATH = /^\/v1\/projects\/([^/]+)\/locations\/([^/]+)\/(clusters|operations)(?:\/([^/]+)(?:\/(nodePools)(?:\/([^/]+))?)?)?$/;
const NAME = /^[a-z](?:[-a-z0-9]{0,38}[a-z0-9])?$/;

export class FakeGkeApi {
  readonly requests: RecordedGoogleRequest[] = [];
  faults: GkeApiFaults = {};
  private readonly projects = new Map<string, string>();
  private readonly clusters = new Map<string, SandboxGkeCluster>();
  private readonly operations = new Map<string, SandboxOperation>();
  private readonly operationListeners = new Set<(o: GkeOperationLog) => void>();

  constructor(
    private readonly identity: GoogleIdentity,
    private readonly backing: ClusterBacking,
  ) {}

  registerProject(projectId: string, projectNumber: string): void {
    const known = this.projects.get(projectId);
    if (known && known !== projectNumber) throw new Error(`project ${projectId} already has number ${known}`);
    this.projects.set(projectId, projectNumber);
  }

  createCluster(input: CreateClusterInput): { cluster: SandboxGkeCluster; operation: SandboxOperation } {
    const projectNumber = this.projects.get(input.projectId);
    if (!projectNumber) throw new GoogleApiError('NOT_FOUND', `Project "${input.projectId}" not found.`);
    if (!NAME.test(input.name)) throw new GoogleApiError('INVALID_ARGUMENT', `Invalid value for field "cluster.name": "${input.name}". Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,38}[a-z0-9])?)'`);
    if (input.location === '-') throw new GoogleApiError('INVALID_ARGUMENT', 'Location "-" is not a valid location for cluster creation.');
    const key = clusterKey(input.projectId, input.location, input.name);
    if (this.clusters.has(key)) throw new GoogleApiError('ALREADY_EXISTS', `Already exists: ${selfLink(input).replace(/^.*\/v1\//, '')}.`);
    const provisioning = (input.provisioningForMs ?? 0) > 0;
    const pools = input.autopilot && input.nodePools.length === 0 ? [{ name: 'pool-1', nodeCount: 1 }] : input.nodePools;
    const c: SandboxGkeCluster = {
      projectId: input.projectId,
      projectNumber,
      location: input.location,
      name: input.name,
      id: randomBytes(16).toString('hex'),
      status: provisioning ? 'PROVISIONING' : 'RUNNING',
      conditions: [],
      createTime: new Date().toISOString(),
      autopilot: input.autopilot ?? false,
      endpoint: '',
      dnsEndpoint: '',
      caPem: '',
      resourceLabels: { ...(input.labels ?? {}) },
      nodePools: pools.map((spec) => ({ spec, hash: poolHash(input.name, spec.name), nodes: [], status: provisioning ? 'PROVISIONING' : 'RUNNING' })),
      version: GKE_VERSION,
      ...(provisioning ? { transitionAt: Date.now() + input.provisioningForMs! } : {}),
    };
    this.backing.attach(c);
    this.clusters.set(key, c);
    const operation = this.operation(c, 'CREATE_CLUSTER', provisioning ? c.transitionAt! : Date.now());
    this.logOperation(c, 'CreateCluster', operation);
    return { cluster: c, operation };
  }

  /** STOPPING for `stoppingForMs`, then gone (its virtual Kubernetes cluster with it). */
  deleteCluster(projectId: string, location: string, name: string, stoppingForMs = 0): SandboxOperation {
    const c = this.find(projectId, location, name);
    if (!c) throw notFound(projectId, location, name);
    c.status = 'STOPPING';
    c.transitionAt = Date.now() + stoppingForMs;
    const op = this.operation(c, 'DELETE_CLUSTER', c.transitionAt);
    this.logOperation(c, 'DeleteCluster', op);
    this.refresh(c);
    return op;
  }

  setStatus(projectId: string, location: string, name: string, status: ClusterStatus, statusMessage?: string, conditions: SandboxGkeCluster['conditions'] = []): void {
    const c = this.find(projectId, location, name);
    if (!c) throw notFound(projectId, location, name);
    c.status = status;
    delete c.transitionAt;
    if (statusMessage) c.statusMessage = statusMessage;
    else delete c.statusMessage;
    c.conditions = conditions;
  }

  /** Scale-out of a pool: the backing adds the nodes to the cluster. */
  addNodes(projectId: string, location: string, name: string, pool: string, names: string[]): void {
    const c = this.find(projectId, location, name);
    const p = c?.nodePools.find((x) => x.spec.name === pool);
    if (!c || !p) throw new Error(`no node pool ${pool} in ${projectId}/${location}/${name}`);
    p.nodes.push(...names);
    p.spec = { ...p.spec, nodeCount: p.nodes.length };
    this.backing.nodesAdded(c, pool, names);
    const op: SandboxOperation = { name: newOperationName(), projectId, location, operationType: 'SET_NODE_POOL_SIZE', status: 'DONE', targetLink: `${selfLink(c)}/nodePools/${pool}`, startTime: new Date().toISOString(), endTime: new Date().toISOString(), doneAt: Date.now() };
    this.logOperation(c, 'SetNodePoolSize', op, pool);
  }

  cluster(projectId: string, location: string, name: string): SandboxGkeCluster | undefined {
    return this.find(projectId, location, name);
  }

  /**
   * Listens to the calls Cloud Audit Logs would record (Admin Activity): a long-running call is logged
   * when it starts (first) and when its operation is done (last); returns unsubscribe.
   */
  onOperation(fn: (o: GkeOperationLog) => void): () => void {
    this.operationListeners.add(fn);
    return () => this.operationListeners.delete(fn);
  }

  private logOperation(c: SandboxGkeCluster, method: GkeOperationLog['method'], op: SandboxOperation, nodePool?: string): void {
    const cluster = { projectId: c.projectId, projectNumber: c.projectNumber, location: c.location, name: c.name };
    const emit = (phase: 'first' | 'last') => {
      for (const fn of [...this.operationListeners]) fn({ method, phase, operation: op.name, operationType: op.operationType, cluster, ...(nodePool ? { nodePool } : {}) });
    };
    emit('first');
    // the timer moves the cluster on when its operation is done, so the last entry needs no read first
    // a timer may fire a millisecond before Date.now() reaches doneAt (monotonic vs wall clock): wait on
    const done = () => {
      if (Date.now() < op.doneAt) return void setTimeout(done, Math.max(1, op.doneAt - Date.now())).unref();
      this.refreshOperation(op);
      emit('last');
    };
    setTimeout(done, Math.max(0, op.doneAt - Date.now())).unref();
  }

  readonly handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const u = new URL(req.url ?? '/', 'https://container');
    const entry: RecordedGoogleRequest = { method: req.method ?? 'GET', path: u.pathname, query: u.search.replace(/^\?/, ''), status: 0 };
    this.requests.push(entry);
    if (this.faults.latencyMs) await new Promise((r) => setTimeout(r, this.faults.latencyMs));
    const ints = (u.searchParams.get('$alt') ?? '').split(';').includes('enum-encoding=int');
    try {
      const fail = this.faults.failNext;
      if (fail && fail.count > 0) {
        fail.count--;
        if (fail.status === 429) throw rateLimited('container.googleapis.com', fail.retryAfterSeconds ?? 1);
        throw new GoogleApiError(fail.status === 500 ? 'INTERNAL' : 'UNAVAILABLE', fail.status === 500 ? 'Internal error encountered.' : 'The service is currently unavailable.');
      }
      const grant = this.identity.verify(bearerOf(req));
      if (!grant || !grant.scopes.includes('https://www.googleapis.com/auth/cloud-platform')) throw unauthenticated();
      entry.principal = grant.principal;
      const m = PATH.exec(u.pathname);
      if (!m) throw new GoogleApiError('NOT_FOUND', `Method not found: ${req.method} ${u.pathname}`);
      const [, projectRef, location, collection, id, sub, subId] = m as unknown as [string, string, string, string, string | undefined, string | undefined, string | undefined];
      const projectId = this.projectIdOf(projectRef);
      const permission = `container.${collection === 'operations' ? 'operations' : 'clusters'}.${verb(req.method, id, collection)}`;
      const resource = `projects/${projectRef}${id ? `/locations/${location}/${collection}/${id}` : ''}`;
      if (!projectId || !this.identity.mayUseProject(grant.principal, [projectId, this.projects.get(projectId)!])) {
        throw permissionDenied(`Required "${permission}" permission(s) for "${resource}".`, 'container.googleapis.com', permission);
      }
      const { status, body, kind } = await this.route(req, projectId, location, collection, id, sub, subId);
      entry.status = status;
      sendJson(res, status, ints ? intEnums(kind, body) : body);
    } catch (e) {
      const err = e instanceof GoogleApiError ? e : new GoogleApiError('INTERNAL', (e as Error).message);
      entry.status = err.http;
      sendGoogleError(res, err);
    }
  };

  private async route(
    req: IncomingMessage,
    projectId: string,
    location: string,
    collection: string,
    id: string | undefined,
    sub: string | undefined,
    subId: string | undefined,
  ): Promise<{ status: number; body: Record<string, unknown>; kind: BodyKind }> {
    const method = req.method ?? 'GET';
    if (collection === 'operations') {
      if (method !== 'GET') throw methodNotAllowed(method);
      if (!id) {
        const ops = [...this.operations.values()].filter((o) => o.projectId === projectId && (location === '-' || o.location === location)).map((o) => renderOperation(this.refreshOperation(o)));
        return { status: 200, body: { operations: ops }, kind: 'ListOperations' };
      }
      const op = this.operations.get(id);
      if (!op || op.projectId !== projectId) throw new GoogleApiError('NOT_FOUND', `Not found: projects/${projectId}/locations/${location}/operations/${id}.`);
      return { status: 200, body: renderOperation(this.refreshOperation(op)), kind: 'Operation' };
    }
    if (!id) {
      if (method === 'GET') return { status: 200, body: this.list(projectId, location), kind: 'ListClusters' };
      if (method === 'POST') {
        const body = JSON.parse((await readBody(req)) || '{}') as { cluster?: Record<string, any> };
        const spec = body.cluster;
        if (!spec?.name) throw new GoogleApiError('INVALID_ARGUMENT', 'Cluster.name must be specified.');
        const pools: NodePoolSpec[] = Array.isArray(spec.nodePools)
          ? spec.nodePools.map((p: any) => ({ name: String(p.name), nodeCount: Number(p.initialNodeCount ?? 1), ...(p.config?.machineType ? { machineType: p.config.machineType } : {}), ...(p.config?.spot ? { spot: true } : {}) }))
          : spec.autopilot?.enabled
            ? []
            : [{ name: 'default-pool', nodeCount: Number(spec.initialNodeCount ?? 3) }];
        const { operation } = this.createCluster({ projectId, location, name: spec.name, autopilot: spec.autopilot?.enabled === true, nodePools: pools, labels: spec.resourceLabels ?? {}, provisioningForMs: 1_500 });
        return { status: 200, body: renderOperation(operation), kind: 'Operation' };
      }
      throw methodNotAllowed(method);
    }
    const c = this.find(projectId, location, id);
    if (!c) throw notFound(projectId, location, id);
    if (!sub) {
      if (method === 'GET') return { status: 200, body: renderCluster(c), kind: 'Cluster' };
      if (method === 'DELETE') return { status: 200, body: renderOperation(this.deleteCluster(projectId, location, id, 1_000)), kind: 'Operation' };
      throw methodNotAllowed(method);
    }
    if (method !== 'GET') throw methodNotAllowed(method);
    if (!subId) return { status: 200, body: { nodePools: c.nodePools.map((p) => renderNodePool(c, p)) }, kind: 'ListNodePools' };
    const pool = c.nodePools.find((p) => p.spec.name === subId);
    if (!pool) throw new GoogleApiError('NOT_FOUND', `Not found: projects/${projectId}/locations/${location}/clusters/${id}/nodePools/${subId}.`);
    return { status: 200, body: renderNodePool(c, pool), kind: 'NodePool' };
  }

  private list(projectId: string, location: string): Record<string, unknown> {
    const unreachable = this.faults.unreachableZones ?? new Set<string>();
    const clusters = [...this.clusters.values()]
      .filter((c) => c.projectId === projectId && (location === '-' || c.location === location))
      .filter((c) => this.refresh(c))
      .filter((c) => !unreachable.has(c.location))
      .map(renderCluster);
    const missingZones = location === '-' ? [...unreachable] : unreachable.has(location) ? [location] : [];
    return { clusters, ...(missingZones.length ? { missingZones } : {}) };
  }

  private find(projectRef: string, location: string, name: string): SandboxGkeCluster | undefined {
    const projectId = this.projectIdOf(projectRef);
    const c = projectId ? this.clusters.get(clusterKey(projectId, location, name)) : undefined;
    return c && this.refresh(c) ? c : undefined;
  }

  private projectIdOf(ref: string): string | undefined {
    if (this.projects.has(ref)) return ref;
    return [...this.projects.entries()].find(([, n]) => n === ref)?.[0];
  }

  /** Applies time-driven transitions; false when the cluster is gone. */
  private refresh(c: SandboxGkeCluster): boolean {
    if (c.transitionAt === undefined || Date.now() < c.transitionAt) return true;
    delete c.transitionAt;
    if (c.status === 'PROVISIONING') {
      c.status = 'RUNNING';
      for (const p of c.nodePools) p.status = 'RUNNING';
      return true;
    }
    if (c.status === 'STOPPING') {
      this.clusters.delete(clusterKey(c.projectId, c.location, c.name));
      this.backing.detach(c);
      return false;
    }
    return true;
  }

  private operation(c: SandboxGkeCluster, type: SandboxOperation['operationType'], doneAt: number): SandboxOperation {
    const op: SandboxOperation = {
      name: newOperationName(),
      projectId: c.projectId,
      location: c.location,
      operationType: type,
      status: 'RUNNING',
      targetLink: selfLink(c),
      startTime: new Date().toISOString(),
      doneAt,
    };
    this.operations.set(op.name, op);
    return this.refreshOperation(op);
  }

  private refreshOperation(op: SandboxOperation): SandboxOperation {
    if (op.status !== 'DONE' && Date.now() >= op.doneAt) {
      op.status = 'DONE';
      op.endTime = new Date().toISOString();
      // a cluster whose operation finished has made its transition too
      const c = this.clusters.get(clusterKey(op.projectId, op.location, op.targetLink.split('/').at(-1)!));
      if (c) this.refresh(c);
    }
    return op;
  }
}

/** One Admin Activity audit entry's worth of a GKE call (test/sandbox/pubsub builds the LogEntry). */
export interface GkeOperationLog {
  method: 'CreateCluster' | 'DeleteCluster' | 'SetNodePoolSize';
  phase: 'first' | 'last';
  operation: string;
  operationType: string;
  cluster: { projectId: string; projectNumber: string; location: string; name: string };
  nodePool?: string;
}

type BodyKind = 'Cluster' | 'NodePool' | 'Operation' | 'ListClusters' | 'ListNodePools' | 'ListOperations';

function intEnums(kind: BodyKind, body: Record<string, unknown>): Record<string, unknown> {
  if (kind === 'ListClusters') return { ...body, clusters: ((body.clusters as Record<string, unknown>[]) ?? []).map((c) => withIntEnums('Cluster', c)) };
  if (kind === 'ListNodePools') return { ...body, nodePools: ((body.nodePools as Record<string, unknown>[]) ?? []).map((p) => withIntEnums('NodePool', p)) };
  if (kind === 'ListOperations') return { ...body, operations: ((body.operations as Record<string, unknown>[]) ?? []).map((o) => withIntEnums('Operation', o)) };
  return withIntEnums(kind, body);
}

function verb(method: string | undefined, id: string | undefined, collection: string): string {
  if (method === 'POST') return 'create';
  if (method === 'DELETE') return 'delete';
  return id || collection === 'operations' ? 'get' : 'list';
}

function clusterKey(projectId: string, location: string, name: string): string {
  return `${projectId}/${location}/${name}`;
}

function notFound(project: string, location: string, name: string): GoogleApiError {
  return new GoogleApiError('NOT_FOUND', `Not found: projects/${project}/locations/${location}/clusters/${name}.`, [
    { '@type': 'type.googleapis.com/google.rpc.ResourceInfo', resourceName: `projects/${project}/locations/${location}/clusters/${name}` },
  ]);
}

function methodNotAllowed(method: string): GoogleApiError {
  return new GoogleApiError('NOT_FOUND', `Method not found: ${method}.`);
}
