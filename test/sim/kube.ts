/**
 * A light Kubernetes API server for the fan-out simulation: one object map per cluster, nodes made
 * from a count, and a DaemonSet controller reduced to arithmetic on the virtual clock (pods are
 * computed when listed, never stored), so 10,000 clusters of tens to hundreds of nodes fit in memory.
 * Served: get/list/create (POST)/server-side apply and merge patch (PATCH)/delete on any kind the
 * product names, with resourceVersion preconditions (409) and managedFields for create/apply.
 * Rate limit: API Priority and Fairness answers 429 with Retry-After when a client's flow is over its
 * share (https://kubernetes.io/docs/concepts/cluster-administration/flow-control/); the per-cluster
 * bucket modelled for it ('kubernetes.api' in limits.ts, with its source) sits above the product's own
 * client budget (shared/platforms/kubernetes/request-budget.ts), so 429s are the exception they are.
 * Latency: 20 ms per request plus 0.05 ms per listed item (modelled).
 */
import type { SimReply } from './aws-json';
import type { RateLimits } from './rate-limit';

export const KUBE_LATENCY_MS = { base: 20, perItem: 0.05 };
/** How long one wave of pods (maxUnavailable of the nodes) takes to be replaced and become ready (image pull, start, readiness). */
export const POD_WAVE = { realisticMs: 20_000 };

interface DaemonSetRollout {
  generation: number;
  startedAt: number;
  /** The containers of the revision before this one (undefined: the first install). */
  previous?: unknown[];
  current: unknown[];
  selector: Record<string, string>;
}

export class SimKubeCluster {
  readonly objects = new Map<string, any>();
  private rollouts = new Map<string, DaemonSetRollout>();
  private nodesCache: any[] | undefined;
  requests = 0;
  writes = 0;

  constructor(readonly id: string, readonly nodeCount: number, private readonly now: () => number, private readonly rv: () => string, private readonly waveMs: () => number) {}

  /** Every DaemonSet rollout under way is finished (the controller caught up while nobody looked). */
  finishRollouts(): void {
    for (const r of this.rollouts.values()) r.startedAt = -Infinity;
  }

  nodes(): any[] {
    this.nodesCache ??= Array.from({ length: this.nodeCount }, (_, i) => ({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: `ip-10-${(i >> 8) & 255}-${i & 255}-${this.id.length % 250}.ec2.internal`, uid: `${this.id}-node-${i}`, resourceVersion: '1', labels: { 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', 'kubernetes.io/hostname': `node-${i}` } },
      spec: {},
      status: { conditions: [{ type: 'Ready', status: 'True' }], nodeInfo: { operatingSystem: 'linux', architecture: 'amd64' } },
    }));
    return this.nodesCache;
  }

  /** Updated pods of a DaemonSet now: waves of maxUnavailable nodes, POD_WAVE_MS each. */
  private updatedCount(ds: any): number {
    const r = this.rollouts.get(dsKey(ds));
    if (!r) return 0;
    const n = this.nodeCount;
    const perWave = Math.max(1, Math.floor((n * maxUnavailablePercent(ds)) / 100));
    const wave = this.waveMs();
    if (wave <= 0) return n;
    const waves = Math.floor((this.now() - r.startedAt) / wave);
    return Math.min(n, waves * perWave);
  }

  /** The DaemonSet with the status its controller would report now. */
  private withStatus(ds: any): any {
    const n = this.nodeCount;
    const updated = this.updatedCount(ds);
    const r = this.rollouts.get(dsKey(ds));
    const available = r?.previous ? n : updated;
    ds.status = { observedGeneration: ds.metadata.generation, desiredNumberScheduled: n, currentNumberScheduled: r?.previous ? n : updated, updatedNumberScheduled: updated, numberAvailable: available, numberReady: available, numberMisscheduled: 0 };
    return ds;
  }

  /** Pods of the DaemonSet in `namespace` matching the selector, as the controller has them now. */
  private pods(namespace: string, selector: Record<string, string>): any[] {
    const ds = [...this.objects.values()].find((o) => o.kind === 'DaemonSet' && o.metadata.namespace === namespace && matches(o.spec?.selector?.matchLabels ?? {}, selector));
    if (!ds) return [];
    const r = this.rollouts.get(dsKey(ds))!;
    const updated = this.updatedCount(ds);
    const nodes = this.nodes();
    const out: any[] = [];
    for (let i = 0; i < nodes.length; i++) {
      const isNew = i < updated;
      if (!isNew && !r.previous) continue;
      out.push({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `${ds.metadata.name}-${i.toString(36)}`, namespace, labels: { ...r.selector, 'pod-template-generation': String(isNew ? r.generation : r.generation - 1) } },
        spec: { nodeName: nodes[i].metadata.name, containers: isNew ? r.current : r.previous },
        status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: [{ name: (r.current[0] as { name?: string })?.name ?? 'sensor', ready: true, restartCount: 0, state: { running: {} } }] },
      });
    }
    return out;
  }

  handle(method: string, path: string, query: URLSearchParams, body: string | undefined, contentType: string | undefined): SimReply {
    this.requests++;
    const parts = path.split('/').filter(Boolean);
    // /api/v1/... or /apis/<group>/<version>/...
    const rest = parts[0] === 'api' ? parts.slice(2) : parts.slice(3);
    const apiVersion = parts[0] === 'api' ? parts[1]! : `${parts[1]}/${parts[2]}`;
    let namespace: string | undefined;
    let resource: string;
    let name: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      namespace = rest[1];
      resource = rest[2]!;
      name = rest[3];
    } else {
      resource = rest[0]!;
      name = rest[1];
    }
    const key = `${apiVersion}|${resource}|${namespace ?? ''}|${name ?? ''}`;
    if (method === 'GET' && !name) return this.list(apiVersion, resource, namespace, query);
    if (method === 'GET') {
      const obj = this.objects.get(key);
      if (!obj) return notFound(resource, name!);
      return ok(obj.kind === 'DaemonSet' ? this.withStatus(obj) : obj);
    }
    if (method === 'POST') {
      const obj = JSON.parse(body ?? '{}');
      const k = `${apiVersion}|${resource}|${namespace ?? ''}|${obj.metadata?.name}`;
      if (this.objects.has(k)) return status(409, 'AlreadyExists', `${resource} "${obj.metadata.name}" already exists`);
      this.writes++;
      return ok(this.put(k, obj, undefined, query.get('fieldManager') ?? 'unknown', 'Update'), 201);
    }
    if (method === 'PATCH') {
      const patch = JSON.parse(body ?? '{}');
      const existing = this.objects.get(key);
      const pre = patch.metadata?.resourceVersion;
      if (pre !== undefined && existing && existing.metadata.resourceVersion !== pre) return status(409, 'Conflict', `Operation cannot be fulfilled on ${resource} "${name}": the object has been modified; please apply your changes to the latest version and try again`);
      if (query.get('dryRun') === 'All') return ok(existing ? { ...existing, ...patch } : patch);
      this.writes++;
      if (contentType?.startsWith('application/apply-patch')) {
        if (pre !== undefined && !existing) return notFound(resource, name!);
        return ok(this.put(key, patch, existing, query.get('fieldManager') ?? 'unknown', 'Apply'));
      }
      if (!existing) return notFound(resource, name!);
      const merged = mergePatch(structuredClone(existing), patch);
      merged.metadata.resourceVersion = this.rv();
      this.objects.set(key, merged);
      return ok(merged);
    }
    if (method === 'DELETE') {
      if (!this.objects.delete(key)) return notFound(resource, name!);
      this.writes++;
      return ok({ kind: 'Status', status: 'Success' });
    }
    return status(405, 'MethodNotAllowed', `${method} is not supported`);
  }

  private put(key: string, obj: any, existing: any, manager: string, operation: 'Apply' | 'Update'): any {
    const now = new Date(this.now()).toISOString();
    const specChanged = !existing || JSON.stringify(existing.spec) !== JSON.stringify(obj.spec);
    const managedFields = [...(existing?.metadata?.managedFields ?? []).filter((e: any) => !(e.manager === manager && e.operation === operation)), { manager, operation, apiVersion: obj.apiVersion, time: now, fieldsType: 'FieldsV1', fieldsV1: {} }];
    const stored = {
      ...obj,
      metadata: {
        ...obj.metadata,
        uid: existing?.metadata?.uid ?? `${this.id}-${key}`.slice(-60),
        resourceVersion: this.rv(),
        creationTimestamp: existing?.metadata?.creationTimestamp ?? now,
        generation: (existing?.metadata?.generation ?? 0) + (specChanged ? 1 : 0),
        managedFields,
      },
    };
    if (stored.kind === 'DaemonSet' && specChanged) {
      const before = this.rollouts.get(key);
      this.rollouts.set(key, {
        generation: stored.metadata.generation,
        startedAt: this.now(),
        ...(before || existing ? { previous: before?.current ?? existing?.spec?.template?.spec?.containers ?? [] } : {}),
        current: stored.spec?.template?.spec?.containers ?? [],
        selector: stored.spec?.selector?.matchLabels ?? {},
      });
    }
    this.objects.set(key, stored);
    return stored.kind === 'DaemonSet' ? this.withStatus(stored) : stored;
  }

  private list(apiVersion: string, resource: string, namespace: string | undefined, query: URLSearchParams): SimReply {
    let items: any[];
    if (resource === 'nodes') items = this.nodes();
    else if (resource === 'pods') items = this.pods(namespace ?? '', parseSelector(query.get('labelSelector')));
    else if (resource === 'events') items = [];
    else items = [...this.objects.entries()].filter(([k]) => k.startsWith(`${apiVersion}|${resource}|${namespace ?? ''}|`)).map(([, v]) => v);
    // pages of `limit` with a continue token (https://kubernetes.io/docs/reference/using-api/api-concepts/#retrieving-large-results-sets-in-chunks)
    const limit = Number(query.get('limit') ?? 0);
    const from = Number(query.get('continue') ?? 0);
    const page = limit > 0 ? items.slice(from, from + limit) : items.slice(from);
    const next = limit > 0 && from + limit < items.length ? String(from + limit) : undefined;
    return ok({ apiVersion, kind: 'List', metadata: { resourceVersion: this.rv(), ...(next ? { continue: next } : {}) }, items: page });
  }
}

/** All simulated clusters, by the host name their endpoint has, with their request budget. */
export class SimKube {
  private readonly clusters = new Map<string, SimKubeCluster>();
  private rvCounter = 1;
  /** Length of a rollout wave now (0: rollouts finish at once, as the unmeasured setup has them). */
  podWave = POD_WAVE.realisticMs;

  constructor(private readonly limits: RateLimits, private readonly now: () => number) {}

  add(id: string, nodes: number): { host: string; cluster: SimKubeCluster } {
    const host = `${id.replace(/[^a-z0-9-]/gi, '-').toLowerCase()}.kube.sim.invalid`;
    const cluster = new SimKubeCluster(id, nodes, this.now, () => String(++this.rvCounter), () => this.podWave);
    this.clusters.set(host, cluster);
    return { host, cluster };
  }

  /** A request to https://<host>/...: 429 + Retry-After when the cluster's client budget is spent. */
  handle(host: string, method: string, url: URL, body: string | undefined, contentType: string | undefined, authorization: string | undefined): { reply: SimReply; latencyMs: number } {
    const cluster = this.clusters.get(host);
    if (!cluster) return { reply: status(503, 'ServiceUnavailable', `no cluster at ${host}`), latencyMs: KUBE_LATENCY_MS.base };
    if (!authorization?.startsWith('Bearer ')) return { reply: status(401, 'Unauthorized', 'Unauthorized'), latencyMs: KUBE_LATENCY_MS.base };
    if (!this.limits.admit('kubernetes.api', host)) {
      const r = status(429, 'TooManyRequests', 'Too many requests, please try again later.');
      return { reply: { ...r, headers: { ...r.headers, 'retry-after': '1' } }, latencyMs: 2 };
    }
    const reply = cluster.handle(method, url.pathname, url.searchParams, body, contentType);
    const items = reply.status === 200 && method === 'GET' ? (reply.body.match(/"kind":"(Node|Pod)"/g)?.length ?? 0) : 0;
    return { reply, latencyMs: KUBE_LATENCY_MS.base + items * KUBE_LATENCY_MS.perItem };
  }

  all(): SimKubeCluster[] {
    return [...this.clusters.values()];
  }
}

function dsKey(ds: any): string {
  return `${ds.apiVersion}|daemonsets|${ds.metadata.namespace ?? ''}|${ds.metadata.name}`;
}

function maxUnavailablePercent(ds: any): number {
  const v = ds.spec?.updateStrategy?.rollingUpdate?.maxUnavailable;
  if (typeof v === 'string' && v.endsWith('%')) return Number(v.slice(0, -1)) || 10;
  return 10;
}

function matches(labels: Record<string, string>, selector: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

function parseSelector(s: string | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (s ?? '').split(',').filter(Boolean)) {
    const [k, v] = part.split('=');
    out[k!] = v ?? '';
  }
  return out;
}

function mergePatch(target: any, patch: any): any {
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete target[k];
    else if (typeof v === 'object' && !Array.isArray(v) && typeof target[k] === 'object' && target[k] !== null && !Array.isArray(target[k])) target[k] = mergePatch(target[k], v);
    else target[k] = v;
  }
  return target;
}

function ok(obj: unknown, code = 200): SimReply {
  return { status: code, body: JSON.stringify(obj), headers: { 'content-type': 'application/json' } };
}

function status(code: number, reason: string, message: string): SimReply {
  return { status: code, body: JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message, reason, code }), headers: { 'content-type': 'application/json' } };
}

function notFound(resource: string, name: string): SimReply {
  return status(404, 'NotFound', `${resource} "${name}" not found`);
}
