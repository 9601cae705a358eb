import { randomUUID } from 'node:crypto';
import type { RandomFaults } from '../random-faults';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SensorEvents, SensorInstance } from '../sensor-events';
import { JwtIssuer } from './jwt';
import { parseQql, QqlError } from './qql';

/**
 * Fake Qualys Container Security API gateway (DESIGN §6). It keeps state (sensors, registries,
 * schedules, deletion jobs) and answers from it in the documented wire format (qualys-cs-api.md):
 * POST /auth → raw JWT text (201), Bearer auth with 401 {"message":"JWT expired"}, /csapi/v1.3
 * paths, pageNumber/pageSize paging with {count,data} and 204 for an empty page, X-RateLimit-* and
 * X-Concurrency-* headers on every answer and 429 (or 409) with ToWait-Sec when exceeded, and the
 * documented rules for schedules and sensor deletion. Faults are switches (`faults`).
 */
export interface FakeSensor {
  uuid: string;
  sensorId: string;
  name: string;
  hostname: string;
  status: string;
  sensorType: string;
  sensorVersion: string;
  lastCheckedIn: string;
  created: string;
  ipv4: string;
  cluster?: { type: 'kubernetes'; version: string; k8s: { node: { name: string; isMaster: boolean }; pod?: { name: string; namespace: string; uuid: string } } };
}

export interface FakeRegistry {
  registryUuid: string;
  registryUri: string;
  registryName: string;
  registryType: string;
  credentialType: string;
  created: string;
  updated: string;
  repoCount: number;
  /** Kept, never answered back (like a real API would not echo secrets). */
  credentialsStored: boolean;
}

export interface FakeSchedule {
  scheduleUuid: string;
  name: string;
  onDemand: boolean;
  schedule: string;
  scheduleScanIntervalInDays?: number;
  weekDay?: string;
  forceScan: boolean;
  filters: Array<{ repoTags: Array<{ repo: string; tag: string }>; days: number | null }>;
  status: string;
  created: string;
  updated: string;
}

export interface FakeFaults {
  /** The next N API calls are refused with the rate-limit status and ToWait-Sec = stormToWaitSec. */
  rateLimitStorm: number;
  stormToWaitSec: number;
  /** The next N calls (optionally only this method) answer 503; afterCommit: the change is made first. */
  serverErrors: number;
  serverErrorMethod?: string;
  serverErrorAfterCommit: boolean;
  /** After N more API calls, every token issued so far is expired (a token expiring mid-run). */
  expireTokensAfterCalls?: number;
  /** Delay before each API answer. */
  slowMs: number;
  /** A share of API calls failing at random: rate limited (with ToWait-Sec), 503, dropped connection, 503 after the change was made. */
  random?: RandomFaults;
}

export interface FakeQualysOptions {
  users?: Array<{ username: string; password: string }>;
  oauthClients?: Array<{ clientId: string; clientSecret: string }>;
  /** JWT life; the real one is 4 h (DOCS-GW-AUTH). */
  tokenLifetimeSec?: number;
  /** Defaults from DOCS-RATE: 300 calls per 3600 s, concurrency 2. */
  rateLimit?: { limit: number; windowSec: number; concurrency: number; status?: 409 | 429 };
  /** Sensor events: check-in period and the silence after which a sensor becomes UNKNOWN. */
  checkInIntervalMs?: number;
  unknownAfterMs?: number;
}

interface ApiError {
  status: number;
  message: string;
}

export class FakeQualysServer {
  readonly sensors = new Map<string, FakeSensor>();
  readonly registries = new Map<string, FakeRegistry>();
  readonly schedules = new Map<string, Map<string, FakeSchedule>>();
  readonly deletionJobs: Array<{ deletionJobId: string; sensorIds: string[]; created: string }> = [];
  /** Delete requests refused because they named a sensor that is not UNKNOWN. */
  readonly refusedSensorDeletes: Array<{ sensorIds: string[]; notUnknown: string[] }> = [];
  /** Every request seen: method, path, status answered. */
  readonly requests: Array<{ method: string; path: string; status: number }> = [];
  readonly faults: FakeFaults = { rateLimitStorm: 0, stormToWaitSec: 1, serverErrors: 0, serverErrorAfterCommit: false, slowMs: 0 };
  readonly rate: { limit: number; windowSec: number; concurrency: number; status: 409 | 429 };
  tokenLifetimeSec: number;

  private server?: Server;
  private readonly jwt = new JwtIssuer();
  private expiredUpToSeq = 0;
  private window = { start: 0, count: 0 };
  private running = 0;
  private seq = 1000;
  private readonly checkIns = new Map<string, NodeJS.Timeout>();
  private sweeper?: NodeJS.Timeout;
  private readonly users: Array<{ username: string; password: string }>;
  private readonly oauthClients: Array<{ clientId: string; clientSecret: string }>;
  private readonly checkInIntervalMs: number;
  private readonly unknownAfterMs: number;
  url = '';

  constructor(opts: FakeQualysOptions = {}) {
    this.users = opts.users ?? [{ username: 'sensorfleet-api', password: 'fake-password' }];
    this.oauthClients = opts.oauthClients ?? [];
    this.tokenLifetimeSec = opts.tokenLifetimeSec ?? 4 * 3600;
    this.rate = { limit: 300, windowSec: 3600, concurrency: 2, status: 429, ...opts.rateLimit };
    this.checkInIntervalMs = opts.checkInIntervalMs ?? 60_000;
    this.unknownAfterMs = opts.unknownAfterMs ?? 15 * 60_000;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const t of this.checkIns.values()) clearInterval(t);
    this.checkIns.clear();
    if (this.sweeper) clearInterval(this.sweeper);
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Calls counted against the rate limit so far (not /auth, which is exempt, DOCS-RATE). */
  get apiCalls(): number {
    return this.requests.filter((r) => r.path.startsWith('/csapi/') && r.status !== this.rate.status).length;
  }

  get tokensIssued(): number {
    return this.jwt.issued;
  }

  // ---- seeds and sandbox hooks -------------------------------------------------------------

  seedSensors(n: number, o: { status?: string; lastCheckedInDaysAgo?: number; hostnamePrefix?: string; version?: string; kubernetesNode?: boolean } = {}): FakeSensor[] {
    const out: FakeSensor[] = [];
    const seen = Date.now() - (o.lastCheckedInDaysAgo ?? 0) * 86_400_000;
    for (let i = 0; i < n; i++) {
      const hostname = `${o.hostnamePrefix ?? 'host'}-${i}`;
      out.push(this.addSensor({ hostname, status: o.status ?? 'RUNNING', version: o.version ?? '1.34.1', lastCheckedIn: seen, ...(o.kubernetesNode ? { node: hostname } : {}) }));
    }
    return out;
  }

  seedRegistry(o: { uri: string; type?: string; name?: string }): FakeRegistry {
    const now = String(Date.now());
    const r: FakeRegistry = { registryUuid: randomUUID(), registryUri: o.uri, registryName: o.name ?? o.uri, registryType: o.type ?? 'V2', credentialType: 'None', created: now, updated: now, repoCount: 0, credentialsStored: false };
    this.registries.set(r.registryUuid, r);
    this.schedules.set(r.registryUuid, new Map());
    return r;
  }

  seedSchedule(registryId: string, s: Partial<FakeSchedule> & { name: string }): FakeSchedule {
    const now = String(Date.now());
    const sched: FakeSchedule = {
      scheduleUuid: randomUUID(), onDemand: false, schedule: '00:00', scheduleScanIntervalInDays: 1, forceScan: false,
      filters: [{ repoTags: [{ repo: 'team/app', tag: '.*' }], days: null }], status: 'Created', created: now, updated: now, ...s,
    };
    this.schedulesOf(registryId).set(sched.scheduleUuid, sched);
    return sched;
  }

  allSchedules(): FakeSchedule[] {
    return [...this.schedules.values()].flatMap((m) => [...m.values()]);
  }

  /**
   * Sandbox sensors: a started container registers (or re-activates) its sensor record and checks
   * in on a timer; a stopped one goes silent and becomes UNKNOWN after `unknownAfterMs`.
   */
  attachSensorEvents(events: SensorEvents): () => void {
    const onStarted = (i: SensorInstance) => this.sensorStarted(i);
    const onStopped = (i: SensorInstance) => this.sensorStopped(i);
    events.on('started', onStarted);
    events.on('stopped', onStopped);
    this.sweeper ??= setInterval(() => this.sweepSilent(), Math.max(20, Math.min(1000, this.unknownAfterMs / 4))).unref();
    return () => {
      events.off('started', onStarted);
      events.off('stopped', onStopped);
    };
  }

  private sensorStarted(i: SensorInstance): void {
    const kubernetes = i.platform !== 'aws-ecs';
    const existing = [...this.sensors.values()].find((s) => s.hostname === i.hostname && (kubernetes ? s.cluster?.k8s.node.name === i.nodeName : !s.cluster));
    // sensorVersion without the image's "-BUILD" suffix: the API's exact format is [I] (qualys-cs-api.md §3).
    const version = i.version.replace(/-\d+$/, '');
    const sensor =
      existing ??
      this.addSensor({ hostname: i.hostname, status: 'RUNNING', version, lastCheckedIn: Date.now(), ...(kubernetes ? { node: i.nodeName, pod: i.pod && { ...i.pod, uuid: i.containerId } } : {}) });
    Object.assign(sensor, { status: 'RUNNING', sensorVersion: version, lastCheckedIn: String(Date.now()) });
    clearInterval(this.checkIns.get(i.containerId));
    this.checkIns.set(
      i.containerId,
      setInterval(() => {
        if (this.sensors.has(sensor.uuid)) Object.assign(sensor, { status: 'RUNNING', lastCheckedIn: String(Date.now()) });
      }, this.checkInIntervalMs).unref(),
    );
  }

  private sensorStopped(i: SensorInstance): void {
    clearInterval(this.checkIns.get(i.containerId));
    this.checkIns.delete(i.containerId);
  }

  /** Sensors silent for longer than unknownAfterMs are UNKNOWN (the UI's "Unknown" state). */
  sweepSilent(now = Date.now()): void {
    for (const s of this.sensors.values()) if (s.status !== 'UNKNOWN' && now - Number(s.lastCheckedIn) > this.unknownAfterMs) s.status = 'UNKNOWN';
  }

  private addSensor(o: { hostname: string; status: string; version: string; lastCheckedIn: number; node?: string; pod?: { name: string; namespace: string; uuid: string } | undefined }): FakeSensor {
    const id = ++this.seq;
    const s: FakeSensor = {
      uuid: randomUUID(),
      sensorId: String(id),
      name: o.hostname,
      hostname: o.hostname,
      status: o.status,
      sensorType: 'GENERAL',
      sensorVersion: o.version,
      lastCheckedIn: String(o.lastCheckedIn),
      created: String(Math.min(o.lastCheckedIn, Date.now())),
      ipv4: `10.${(id >> 16) & 255}.${(id >> 8) & 255}.${id & 255}`,
      ...(o.node ? { cluster: { type: 'kubernetes' as const, version: '1.30', k8s: { node: { name: o.node, isMaster: false }, ...(o.pod ? { pod: o.pod } : {}) } } } : {}),
    };
    this.sensors.set(s.uuid, s);
    return s;
  }

  private schedulesOf(registryId: string): Map<string, FakeSchedule> {
    let m = this.schedules.get(registryId);
    if (!m) this.schedules.set(registryId, (m = new Map()));
    return m;
  }

  // ---- HTTP ---------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = req.method ?? 'GET';
    const raw = await readBody(req);
    const answer = (status: number, body?: unknown, type = 'application/json') => {
      this.requests.push({ method, path: url.pathname, status });
      if (body === undefined) res.writeHead(status).end();
      else res.writeHead(status, { 'Content-Type': type }).end(typeof body === 'string' ? body : JSON.stringify(body));
    };
    try {
      if (method === 'POST' && (url.pathname === '/auth' || url.pathname === '/auth/oidc')) return this.auth(url.pathname, req, raw, answer);
      if (!url.pathname.startsWith('/csapi/v1.3/')) return answer(404, { errorCode: 'NOT_FOUND', message: `No route ${method} ${url.pathname}` });
      await this.api(method, url, req, raw, res, answer);
    } catch (err) {
      if (!res.headersSent) answer(500, { errorCode: 'INTERNAL', message: (err as Error).message });
    }
  }

  /** POST /auth (form username/password/token=true) or /auth/oidc (clientId/clientSecret headers): raw JWT, 201 (DOCS-GW-AUTH, JENKINS). */
  private auth(path: string, req: IncomingMessage, raw: string, answer: (s: number, b?: unknown, t?: string) => void): void {
    let subject: string | undefined;
    if (path === '/auth') {
      const form = new URLSearchParams(raw);
      const ok = this.users.find((u) => u.username === form.get('username') && u.password === form.get('password'));
      if (!ok || form.get('token') !== 'true') return answer(401, { message: 'Authentication Failure' });
      subject = ok.username;
    } else {
      const ok = this.oauthClients.find((c) => c.clientId === req.headers.clientid && c.clientSecret === req.headers.clientsecret);
      if (!ok) return answer(401, { message: 'Authentication Failure' });
      subject = ok.clientId;
    }
    answer(201, this.jwt.issue(subject, this.tokenLifetimeSec).jwt, 'text/plain');
  }

  private async api(method: string, url: URL, req: IncomingMessage, raw: string, res: ServerResponse, answer: (s: number, b?: unknown) => void): Promise<void> {
    // Authentication before rate limiting: an unauthenticated caller has no budget.
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const token = bearer ? this.jwt.verify(bearer) : undefined;
    if (!token) return answer(401, { message: 'Unauthorized' });
    if (token.expMs <= Date.now() || token.seq <= this.expiredUpToSeq) return answer(401, { message: 'JWT expired' });

    const now = Date.now();
    if (now - this.window.start >= this.rate.windowSec * 1000) this.window = { start: now, count: 0 };
    const toWait = Math.ceil((this.window.start + this.rate.windowSec * 1000 - now) / 1000);
    const headers = (remaining: number, wait: number) => ({
      'X-RateLimit-Limit': String(this.rate.limit),
      'X-RateLimit-Window-Sec': String(this.rate.windowSec),
      'X-RateLimit-Remaining': String(Math.max(0, remaining)),
      'X-RateLimit-ToWait-Sec': String(wait),
      'X-Concurrency-Limit-Limit': String(this.rate.concurrency),
      'X-Concurrency-Limit-Running': String(this.running),
    });
    // Refusals: 429 on the gateway ([C3] QUALYSDK) or 409 as on the classic API (DOCS-RATE), with ToWait-Sec.
    const refuse = (wait: number, why: string) => {
      for (const [k, v] of Object.entries(headers(this.rate.limit - this.window.count, wait))) res.setHeader(k, v);
      answer(this.rate.status, { errorCode: 'RATE_LIMIT_EXCEEDED', message: why });
    };
    const random = this.faults.random?.pick('qualys', `${method} ${url.pathname}`, method !== 'GET');
    if (random === 'drop') {
      req.socket.destroy();
      return;
    }
    if (random === 'throttle') return refuse(1, 'API rate limit exceeded');
    if (random === 'server-error') return answer(503, { errorCode: 'SERVICE_UNAVAILABLE', message: 'Service temporarily unavailable' });
    if (this.faults.rateLimitStorm > 0) {
      this.faults.rateLimitStorm--;
      return refuse(this.faults.stormToWaitSec, 'API rate limit exceeded');
    }
    if (this.window.count >= this.rate.limit) return refuse(toWait, `API rate limit exceeded: ${this.rate.limit} calls per ${this.rate.windowSec} s`);
    if (this.running >= this.rate.concurrency) return refuse(0, `Concurrency limit exceeded: ${this.rate.concurrency}`);

    this.window.count++;
    this.running++;
    try {
      if (this.faults.expireTokensAfterCalls !== undefined && --this.faults.expireTokensAfterCalls <= 0) {
        this.faults.expireTokensAfterCalls = undefined;
        this.expiredUpToSeq = this.jwt.issued;
      }
      if (this.faults.slowMs > 0) await sleep(this.faults.slowMs);
      for (const [k, v] of Object.entries(headers(this.rate.limit - this.window.count, this.window.count >= this.rate.limit ? toWait : 0))) res.setHeader(k, v);
      const failNow = this.faults.serverErrors > 0 && (!this.faults.serverErrorMethod || this.faults.serverErrorMethod === method);
      if (failNow) this.faults.serverErrors--;
      if (failNow && !this.faults.serverErrorAfterCommit) return answer(503, { errorCode: 'SERVICE_UNAVAILABLE', message: 'Service temporarily unavailable' });
      const out = this.route(method, url.pathname.slice('/csapi/v1.3'.length), url.searchParams, parseJson(raw));
      if (failNow || random === 'after-commit') return answer(503, { errorCode: 'SERVICE_UNAVAILABLE', message: 'Service temporarily unavailable' });
      answer(out.status, out.body);
    } catch (err) {
      if (err instanceof QqlError) return answer(400, { errorCode: 'INVALID_FILTER', message: err.message });
      const e = err as Partial<ApiError>;
      if (typeof e.status === 'number') return answer(e.status, { errorCode: 'BAD_REQUEST', message: e.message });
      throw err;
    } finally {
      this.running--;
    }
  }

  private route(method: string, path: string, q: URLSearchParams, body: any): { status: number; body?: unknown } {
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    const [a, id, b, sid] = parts;
    if (a === 'sensors' && parts.length === 1 && method === 'GET') return page([...this.sensors.values()], q);
    if (a === 'sensors' && parts.length === 2 && method === 'GET') return found(this.sensors.get(id!) ?? [...this.sensors.values()].find((s) => s.sensorId === id));
    if (a === 'sensors' && parts.length === 1 && method === 'DELETE') return this.deleteSensors(q, body);
    if (a === 'registry' && parts.length === 1 && method === 'GET') return page([...this.registries.values()].map(publicRegistry), q);
    if (a === 'registry' && parts.length === 1 && method === 'POST') return this.createRegistry(body);
    if (a === 'registry' && parts.length === 2 && method === 'GET') return found(this.registries.get(id!) && publicRegistry(this.registries.get(id!)!));
    if (a === 'registry' && b === 'schedule') {
      if (!this.registries.has(id!)) throw fail(404, `Registry ${id} not found`);
      if (parts.length === 3 && method === 'GET') return page([...this.schedulesOf(id!).values()], q);
      if (parts.length === 3 && method === 'POST') return this.createSchedule(id!, body);
      if (parts.length === 4 && method === 'PUT') return this.updateSchedule(id!, sid!, body);
      if (parts.length === 4 && method === 'DELETE') return this.deleteSchedule(id!, sid!);
    }
    throw fail(404, `No route ${method} /csapi/v1.3${path}`);
  }

  /**
   * DELETE /sensors, JSON {sensorIds} / {filter} or ?sensorIds=… (DOCS-SENSOR-DEL): "You can only
   * delete sensors with UNKNOWN status." Chosen behaviour for a request naming others: the whole
   * request is refused with 400 and nothing is deleted, so a mixed batch never half-applies.
   */
  private deleteSensors(q: URLSearchParams, body: any): { status: number; body: unknown } {
    let targets: FakeSensor[];
    const ids: string[] = Array.isArray(body?.sensorIds) ? body.sensorIds.map(String) : q.getAll('sensorIds');
    const filter: string | undefined = typeof body?.filter === 'string' ? body.filter : (q.get('filter') ?? undefined);
    if (ids.length) targets = ids.flatMap((i) => this.sensors.get(i) ?? []);
    else if (filter) targets = [...this.sensors.values()].filter((s) => parseQql(filter)(s as unknown as Record<string, unknown>));
    else throw fail(400, 'sensorIds or filter is required');
    const notUnknown = targets.filter((s) => s.status !== 'UNKNOWN');
    if (notUnknown.length) {
      this.refusedSensorDeletes.push({ sensorIds: targets.map((s) => s.uuid), notUnknown: notUnknown.map((s) => s.uuid) });
      throw fail(400, `You can only delete sensors with UNKNOWN status. ${notUnknown.length} sensor(s) are not UNKNOWN`);
    }
    for (const s of targets) this.sensors.delete(s.uuid);
    const job = { deletionJobId: randomUUID(), sensorIds: targets.map((s) => s.uuid), created: String(Date.now()) };
    this.deletionJobs.push(job);
    return { status: 200, body: { deletionJobId: job.deletionJobId } };
  }

  /** POST /registry (DOCS-REG-CREATE) → {registryUuid}. A second registry with the same URI is refused [I]. */
  private createRegistry(body: any): { status: number; body: unknown } {
    if (typeof body?.registryType !== 'string' || typeof body?.registryUri !== 'string') throw fail(400, 'registryType and registryUri are required');
    const key = body.registryUri.toLowerCase().replace(/\/+$/, '');
    if ([...this.registries.values()].some((r) => r.registryUri.toLowerCase().replace(/\/+$/, '') === key)) throw fail(400, 'Registry already exists');
    if (body.registryType === 'AWS' && (!body.aws?.accountId || !body.aws?.arn)) throw fail(400, 'aws.accountId and aws.arn are required for AWS registries');
    const r = this.seedRegistry({ uri: body.registryUri, type: body.registryType, name: body.registryName ?? body.registryUri });
    r.credentialType = String(body.credentialType ?? 'None');
    r.credentialsStored = Boolean(body.credential || body.accessToken || body.aws);
    return { status: 200, body: { registryUuid: r.registryUuid } };
  }

  /** POST /registry/{id}/schedule (DOCS-SCHED-CREATE; nesting per SWAGGER11). Answers {scheduleId} as NELSSEC reads it [C3]. */
  private createSchedule(registryId: string, body: any): { status: number; body: unknown } {
    validateSchedule(body, true);
    const s = this.seedSchedule(registryId, {
      name: body.name,
      onDemand: body.onDemand,
      schedule: body.schedule ?? '00:00',
      forceScan: Boolean(body.forceScan),
      filters: body.filters.map((f: any) => ({ repoTags: f.repoTags.map((r: any) => ({ repo: String(r.repo), tag: String(r.tag ?? '') })), days: f.days ?? null })),
      status: body.onDemand ? 'Queued' : 'Created',
      ...(body.onDemand ? {} : { scheduleScanIntervalInDays: body.scheduleScanIntervalInDays, ...(body.weekDay ? { weekDay: body.weekDay } : {}) }),
    });
    return { status: 200, body: { scheduleId: s.scheduleUuid } };
  }

  /** PUT: "Only Automatic jobs can be updated. Running jobs cannot be updated." onDemand, repo, tag, days "cannot be updated" (DOCS-SCHED-UPDATE). */
  private updateSchedule(registryId: string, scheduleId: string, body: any): { status: number; body: unknown } {
    const s = this.schedulesOf(registryId).get(scheduleId);
    if (!s) throw fail(404, `Schedule ${scheduleId} not found`);
    if (s.onDemand) throw fail(400, 'Only Automatic jobs can be updated');
    if (s.status === 'Running') throw fail(400, 'Running jobs cannot be updated');
    validateSchedule(body, false);
    if (body.onDemand !== undefined && body.onDemand !== s.onDemand) throw fail(400, 'onDemand cannot be updated');
    if (body.filters && repoKey(body.filters) !== repoKey(s.filters)) throw fail(400, 'repo, tag and days cannot be updated');
    Object.assign(s, {
      ...(body.name ? { name: body.name } : {}),
      ...(body.schedule ? { schedule: body.schedule } : {}),
      ...(body.scheduleScanIntervalInDays ? { scheduleScanIntervalInDays: body.scheduleScanIntervalInDays } : {}),
      ...(body.weekDay ? { weekDay: body.weekDay } : {}),
      ...(body.forceScan !== undefined ? { forceScan: Boolean(body.forceScan) } : {}),
      updated: String(Date.now()),
    });
    return { status: 200, body: { scheduleId: s.scheduleUuid } };
  }

  /** DELETE one schedule; not while Running (SWAGGER13-3P, DOCS-SCHED-BULKDEL ignores Running). */
  private deleteSchedule(registryId: string, scheduleId: string): { status: number; body: unknown } {
    const s = this.schedulesOf(registryId).get(scheduleId);
    if (!s) throw fail(404, `Schedule ${scheduleId} not found`);
    if (s.status === 'Running' || s.status === 'BaselineRunning') throw fail(400, 'Running jobs cannot be deleted; cancel them first');
    this.schedulesOf(registryId).delete(scheduleId);
    return { status: 200, body: { deletionJobId: randomUUID() } };
  }
}

function validateSchedule(body: any, create: boolean): void {
  if (!body || typeof body !== 'object') throw fail(400, 'A JSON body is required');
  if (create && (typeof body.name !== 'string' || !body.name)) throw fail(400, 'name is required');
  if (create && typeof body.onDemand !== 'boolean') throw fail(400, 'onDemand is required');
  if (create && (!Array.isArray(body.filters) || body.filters.length === 0 || body.filters.some((f: any) => !Array.isArray(f?.repoTags) || f.repoTags.length === 0))) {
    throw fail(400, 'filters[].repoTags is required');
  }
  if (body.schedule !== undefined && !/^([01]\d|2[0-3]):[0-5]\d$/.test(body.schedule)) throw fail(400, 'schedule must be HH:mm (UTC)');
  if (body.onDemand === false || !create) {
    const n = body.scheduleScanIntervalInDays;
    if ((create || n !== undefined) && !(Number.isInteger(n) && n >= 1 && n <= 365)) throw fail(400, 'scheduleScanIntervalInDays must be 1-365');
    if (n === 7 && !/^(MON|TUES|WEDNES|THURS|FRI|SATUR|SUN)DAY$/.test(body.weekDay ?? '')) throw fail(400, 'weekDay is required for weekly schedules');
  }
}

function repoKey(filters: Array<{ repoTags: Array<{ repo: string; tag?: string }>; days?: number | null }>): string {
  return JSON.stringify([filters.flatMap((f) => f.repoTags.map((r) => `${r.repo}|${r.tag ?? ''}`)).sort(), filters.map((f) => f.days ?? null)]);
}

function publicRegistry(r: FakeRegistry): Record<string, unknown> {
  const { credentialsStored: _omit, ...rest } = r;
  return rest;
}

/** Paging (qualys-cs-api.md §1.3): pageNumber 1-based, pageSize ≤ 1000 (default 50), filter, {count, data}; 204 when the page is empty. */
function page<T>(items: T[], q: URLSearchParams): { status: number; body?: unknown } {
  const pageNumber = Number(q.get('pageNumber') ?? 1);
  const pageSize = Number(q.get('pageSize') ?? 50);
  if (q.has('pageNo')) throw fail(400, 'Unknown parameter pageNo (v1.1); use pageNumber');
  if (!Number.isInteger(pageNumber) || pageNumber < 1 || !Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000) throw fail(400, 'pageNumber >= 1 and pageSize 1-1000');
  const matched = items.filter((i) => parseQql(q.get('filter') ?? undefined)(i as Record<string, unknown>));
  const data = matched.slice((pageNumber - 1) * pageSize, pageNumber * pageSize);
  return data.length === 0 ? { status: 204 } : { status: 200, body: { count: matched.length, data } };
}

function found(x: unknown): { status: number; body: unknown } {
  if (!x) throw fail(404, 'Not found');
  return { status: 200, body: x };
}

function fail(status: number, message: string): ApiError {
  return { status, message };
}

function parseJson(raw: string): unknown {
  if (!raw) return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    throw fail(400, 'Malformed JSON body');
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startFakeQualys(opts: FakeQualysOptions = {}): Promise<FakeQualysServer> {
  return new FakeQualysServer(opts).start();
}
