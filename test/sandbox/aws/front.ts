import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DescribeTasksCommand, type Service } from '@aws-sdk/client-ecs';
import { DescribeClusterCommand } from '@aws-sdk/client-eks';
import { AccountResolver, CredentialLedger } from './accounts';
import { describeAwsRequest, header, type AwsRequestInfo } from './aws-request';
import { clusterName, type EcsClusterKey } from './ecs-observe';
import { EKS_ACCESS_OPERATIONS, EksAccessBook, isAuthenticationMode } from './eks-access';
import type { DaemonServiceView, EcsSchedulerSimulator } from './ecs-scheduler';
import { faultAnswer, takeAfterCommitFault, takeFault, type FrontFaults } from './faults';
import type { MotoClients } from './moto-clients';
import { SandboxWebIdentityIssuer } from './web-identity';
import { isMutatingAwsOperation } from '../../../shared/runtime/call-log';
import type { StepFunctionsLanes } from './step-functions';

/**
 * What AWS_ENDPOINT_URL points at in the sandbox: forwards every request to moto unchanged (method,
 * path, headers, body; the answer is streamed back) and corrects moto only where it falls short of
 * real AWS in ways the product depends on (toolchain.md §3):
 *  - EKS DescribeCluster: endpoint + certificateAuthority of the sandbox's Kubernetes API server for
 *    registered clusters (moto invents a hostname and random base64), a CREATING phase, and `accessConfig`;
 *  - EKS access entries (not in moto): CreateAccessEntry, AssociateAccessPolicy, DescribeAccessEntry,
 *    ListAccessEntries, DeleteAccessEntry answered from `eksAccess`, which also remembers who created
 *    each cluster through the front (eks-access.ts; the EKS token check asks it who may get in);
 *  - ECS DescribeServices of DAEMON services: counts, deployments and events from the scheduler
 *    simulator (moto reports desiredCount 0 and never schedules), deploymentConfiguration (moto drops it);
 *  - ECS ListTasks filters (moto ignores `serviceName`, returns stopped tasks and other clusters' tasks);
 *  - STS: remembers the credentials it hands out, so EKS tokens' signatures can be verified;
 *    plays GetWebIdentityToken (outbound identity federation, not in moto) with its own issuer keys.
 */
export interface EksClusterBinding {
  endpoint: string;
  caPem: string;
}

export interface FrontRequest {
  service: string;
  operation: string;
  account?: string;
  status: number;
}

export type EksStatus = 'CREATING' | 'ACTIVE' | 'DELETING' | 'FAILED' | 'UPDATING' | 'PENDING';

export class AwsFront {
  /** Requests seen, counted per `<service>:<operation>` (service = SigV4 signing name, e.g. `ecs:DescribeServices`). */
  readonly requests = new Map<string, number>();
  readonly log: FrontRequest[] = [];
  faults: FrontFaults = {};
  readonly accounts: AccountResolver;
  readonly ledger = new CredentialLedger();
  readonly webIdentity = new SandboxWebIdentityIssuer();
  /** Authentication modes, creators, access entries and policies of the EKS clusters. */
  readonly eksAccess = new EksAccessBook();
  /** Step Functions with moto's executor (startSandbox({ stepFunctions: true })); without it `states` calls go to the main moto. */
  stepFunctions?: StepFunctionsLanes;
  private readonly eks = new Map<string, EksClusterBinding>();
  /**
   * Asked on every DescribeCluster of a cluster moto knows that has no registered binding (e.g. one made
   * by hand with `aws eks create-cluster`): the binding it returns is reported, so the cluster gets a
   * local endpoint (the sandbox also keeps the cluster's nodes in step with its nodegroups there).
   */
  bindUnknownEksCluster?: (account: string, region: string, name: string, cluster: Record<string, any>) => Promise<EksClusterBinding | undefined>;
  private readonly eksStatus = new Map<string, { status: EksStatus; untilMs?: number }>();

  private constructor(
    readonly url: string,
    private readonly server: Server,
    private readonly motoUrl: string,
    private readonly moto: MotoClients,
    private readonly scheduler?: EcsSchedulerSimulator,
  ) {
    this.accounts = new AccountResolver(motoUrl);
  }

  static async start(o: { motoUrl: string; moto: MotoClients; scheduler?: EcsSchedulerSimulator }): Promise<AwsFront> {
    const server = createServer();
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const front = new AwsFront(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, o.motoUrl, o.moto, o.scheduler);
    server.on('request', (req, res) => {
      front.handle(req, res).catch((err: Error) => {
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: `sandbox AWS front: ${err.message}` }));
      });
    });
    return front;
  }

  count(service: string, operation?: string): number {
    if (operation) return this.requests.get(`${service}:${operation}`) ?? 0;
    let n = 0;
    for (const [k, v] of this.requests) if (k.startsWith(`${service}:`)) n += v;
    return n;
  }

  registerEksCluster(account: string, region: string, name: string, binding: EksClusterBinding): void {
    this.eks.set(`${account}|${region}|${name}`, binding);
  }

  /** Status DescribeCluster reports for a while (moto makes clusters ACTIVE at once); until omitted = until changed. */
  setEksStatus(account: string, region: string, name: string, status: EksStatus, untilMs?: number): void {
    this.eksStatus.set(`${account}|${region}|${name}`, { status, ...(untilMs !== undefined ? { untilMs } : {}) });
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const info = describeAwsRequest(req.method ?? 'GET', req.url ?? '/', req.headers, body);
    const entry: FrontRequest = { service: info.service, operation: info.operation, status: 0 };
    this.log.push(entry);
    const key = `${info.service}:${info.operation}`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);

    // the Step Functions executor's own calls are AWS's, not ours: re-homed, never faulted
    const internal = this.stepFunctions?.adoptExecutorRequest(req, info) ?? false;
    const random = internal ? undefined : this.faults.random?.pick(info.service, info.operation, isMutatingAwsOperation(info.operation));
    if (random === 'drop') {
      req.socket.destroy();
      return;
    }
    const fault = takeFault(this.faults, info.service, info.operation) ?? (random === 'throttle' ? { kind: 'throttle' as const } : random === 'server-error' ? { kind: 'fail' as const, status: 503 } : undefined);
    if (fault) {
      const a = faultAnswer(fault, info.protocol, info.service);
      entry.status = a.status;
      res.writeHead(a.status, { ...a.headers, 'content-length': Buffer.byteLength(a.body) });
      res.end(a.body);
      return;
    }
    if (this.stepFunctions && info.service === 'states') {
      const a = await this.stepFunctions.answer(info);
      const failed = random === 'after-commit' ? faultAnswer({ kind: 'fail', status: 503 }, info.protocol, info.service) : undefined;
      entry.status = failed?.status ?? a.status;
      const body = failed?.body ?? a.body;
      res.writeHead(entry.status, { 'content-type': 'application/x-amz-json-1.0', ...(failed?.headers ?? {}), 'content-length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    if (info.service === 'sts' && info.operation === 'GetWebIdentityToken') {
      const a = await this.webIdentityToken(req, info, body);
      entry.status = a.status;
      res.writeHead(a.status, { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(a.body) });
      res.end(a.body);
      return;
    }
    if (info.service === 'eks' && EKS_ACCESS_OPERATIONS.has(info.operation)) {
      const region = info.signedBy?.region ?? 'us-east-1';
      const acct = (entry.account = await this.accounts.account(info.signedBy?.accessKeyId, region, header(req.headers, 'x-moto-account-id')));
      const name = decodeURIComponent(new URL(req.url ?? '/', 'http://front').pathname.split('/')[2] ?? '');
      const a = this.eksAccess.answer(info.operation, acct, region, req.method ?? 'GET', req.url ?? '/', info.json, await this.eksClusterExists(acct, region, name));
      entry.status = a.status;
      res.writeHead(a.status, { ...a.headers, 'content-length': Buffer.byteLength(a.body) });
      res.end(a.body);
      return;
    }
    const rewrite = await this.rewriterFor(req, info, entry);
    const afterCommit = takeAfterCommitFault(this.faults, info.service, info.operation) ?? (random === 'after-commit' ? { kind: 'fail' as const, status: 503 } : undefined);
    if (afterCommit) {
      // the call takes effect (the simulator hears of it too), only its answer is replaced by an error
      const done = await forwardBuffered(this.motoUrl, req, body);
      if (rewrite && done.status >= 200 && done.status < 300) await rewrite(done.body);
      const a = faultAnswer(afterCommit, info.protocol, info.service);
      entry.status = a.status;
      res.writeHead(a.status, { ...a.headers, 'content-length': Buffer.byteLength(a.body) });
      res.end(a.body);
      return;
    }
    if (!rewrite) {
      entry.status = await forward(this.motoUrl, req, body, res);
      return;
    }
    const answer = await forwardBuffered(this.motoUrl, req, body);
    entry.status = answer.status;
    let out = answer.body;
    if (answer.status >= 200 && answer.status < 300) out = await rewrite(answer.body);
    const headers = { ...answer.headers };
    delete headers['transfer-encoding'];
    delete headers['content-encoding'];
    headers['content-length'] = String(out.length);
    res.writeHead(answer.status, headers);
    res.end(out);
  }

  private async eksClusterExists(account: string, region: string, name: string): Promise<boolean> {
    try {
      await this.moto.eks(account, region).send(new DescribeClusterCommand({ name }));
      return true;
    } catch (err) {
      if ((err as { name?: string }).name === 'ResourceNotFoundException') return false;
      throw err;
    }
  }

  private async webIdentityToken(req: IncomingMessage, info: AwsRequestInfo, body: Buffer): Promise<{ status: number; body: string }> {
    const accessKeyId = info.signedBy?.accessKeyId;
    if (!accessKeyId) return { status: 403, body: '<ErrorResponse><Error><Code>MissingAuthenticationToken</Code><Message>Request is missing Authentication Token</Message></Error></ErrorResponse>' };
    const identity = await this.accounts.identity(accessKeyId, info.signedBy?.region);
    const form = new URLSearchParams(body.toString('utf8') || new URL(req.url ?? '/', 'http://front').search);
    return this.webIdentity.answer(form, { ...identity, accessKeyId }, info.signedBy?.region ?? 'us-east-1');
  }

  private async rewriterFor(req: IncomingMessage, info: AwsRequestInfo, entry: FrontRequest): Promise<((body: Buffer) => Promise<Buffer>) | undefined> {
    const region = info.signedBy?.region ?? 'us-east-1';
    const account = () => this.accounts.account(info.signedBy?.accessKeyId, region, header(req.headers, 'x-moto-account-id'));
    if (info.service === 'sts' && /^AssumeRole/.test(info.operation)) {
      return async (b) => {
        this.ledger.recordStsAnswer(b.toString('utf8'));
        return b;
      };
    }
    // CreateCluster too: its answer must not point at an *.eks.amazonaws.com endpoint off this machine
    if (info.service === 'eks' && (info.operation === 'DescribeCluster' || info.operation === 'CreateCluster')) {
      const acct = (entry.account = await account());
      const name = info.operation === 'CreateCluster' ? String(info.json?.name ?? '') : decodeURIComponent(new URL(req.url ?? '/', 'http://front').pathname.split('/')[2] ?? '');
      // the creator is whoever signed the CreateCluster (a moto account header names no identity: its account is admitted)
      const creator = info.operation === 'CreateCluster' && info.signedBy && !header(req.headers, 'x-moto-account-id') ? (await this.accounts.identity(info.signedBy.accessKeyId, region)).arn : undefined;
      return async (b) => {
        const doc = JSON.parse(b.toString('utf8'));
        if (info.operation === 'CreateCluster' && doc.cluster) {
          const ac = (info.json?.accessConfig ?? {}) as { authenticationMode?: unknown; bootstrapClusterCreatorAdminPermissions?: unknown };
          this.eksAccess.register(acct, region, name, {
            ...(isAuthenticationMode(ac.authenticationMode) ? { authenticationMode: ac.authenticationMode } : {}),
            ...(typeof ac.bootstrapClusterCreatorAdminPermissions === 'boolean' ? { bootstrapClusterCreatorAdminPermissions: ac.bootstrapClusterCreatorAdminPermissions } : {}),
            ...(creator ? { creator } : { accountWide: true }),
          });
        }
        const bound = doc.cluster && !this.eks.has(`${acct}|${region}|${name}`) ? await this.bindUnknownEksCluster?.(acct, region, name, doc.cluster) : undefined;
        return Buffer.from(JSON.stringify(this.rewriteEksCluster(acct, region, name, doc, bound)));
      };
    }
    if (info.service === 'ecs' && info.json && this.scheduler) {
      const acct = (entry.account = await account());
      const clusterParam = info.json.cluster ?? info.json.clusterName;
      const k: EcsClusterKey = { account: acct, region, cluster: clusterName(String(clusterParam ?? 'default')) };
      const scheduler = this.scheduler;
      // calls without a cluster (RegisterTaskDefinition, TagResource, …) change no placement by themselves
      const mutating = clusterParam !== undefined && !/^(Describe|List|Get)/.test(info.operation);
      return async (b) => {
        if (info.operation === 'CreateService' || info.operation === 'UpdateService') {
          const svc = String(info.json!.serviceName ?? info.json!.service ?? '').split('/').pop()!;
          scheduler.recordDeploymentConfiguration(k, svc, info.json!.deploymentConfiguration as never);
        }
        if (mutating) scheduler.touch(k);
        if (info.operation === 'DescribeServices') return Buffer.from(JSON.stringify(await this.rewriteDaemonServices(k, JSON.parse(b.toString('utf8')))));
        if (info.operation === 'CreateService' || info.operation === 'UpdateService') {
          // both answer the service as it is now, with the deployment the call started
          const doc = JSON.parse(b.toString('utf8')) as { service?: Record<string, any> };
          if (doc.service) await this.rewriteDaemonServices(k, { services: [doc.service] });
          return Buffer.from(JSON.stringify(doc));
        }
        if (info.operation === 'ListTasks') return Buffer.from(JSON.stringify(await this.filterListedTasks(k, info.json!, JSON.parse(b.toString('utf8')))));
        return b;
      };
    }
    return undefined;
  }

  /** https://docs.aws.amazon.com/eks/latest/APIReference/API_DescribeCluster.html */
  private rewriteEksCluster(account: string, region: string, name: string, doc: { cluster?: Record<string, any> }, unregistered?: EksClusterBinding): unknown {
    const c = doc.cluster;
    if (!c) return doc;
    const id = `${account}|${region}|${name}`;
    const binding = this.eks.get(id) ?? unregistered;
    if (binding) {
      c.endpoint = binding.endpoint;
      c.certificateAuthority = { data: Buffer.from(binding.caPem).toString('base64') };
    }
    c.accessConfig = this.eksAccess.accessConfig(account, region, name);
    const override = this.eksStatus.get(id);
    if (override && (override.untilMs === undefined || Date.now() < override.untilMs)) {
      c.status = override.status;
      if (override.status === 'CREATING') {
        // a cluster being created has no API server yet: EKS returns neither endpoint nor CA data
        delete c.endpoint;
        c.certificateAuthority = {};
      }
    }
    return doc;
  }

  /** DAEMON fields as real ECS reports them: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeServices.html, API_Service.html, API_Deployment.html */
  private async rewriteDaemonServices(k: EcsClusterKey, doc: { services?: Record<string, any>[] }): Promise<unknown> {
    for (const svc of doc.services ?? []) {
      if (svc.schedulingStrategy !== 'DAEMON') continue;
      const view = await this.scheduler!.view(k, svc as Service);
      if (view) Object.assign(svc, daemonFields(view));
    }
    return doc;
  }

  /**
   * ListTasks as documented (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListTasks.html):
   * only the cluster's tasks (moto matches the cluster name as a substring), `desiredStatus` defaults to
   * RUNNING (moto returns stopped ones too), `serviceName` limits to the service's tasks (moto ignores it).
   */
  private async filterListedTasks(k: EcsClusterKey, params: Record<string, unknown>, doc: { taskArns?: string[] }): Promise<unknown> {
    const arns = doc.taskArns ?? [];
    const desiredStatus = typeof params.desiredStatus === 'string' ? params.desiredStatus : 'RUNNING';
    const group = typeof params.serviceName === 'string' ? `service:${params.serviceName.split('/').pop()}` : undefined;
    const keep = new Set<string>();
    for (let i = 0; i < arns.length; i += 100) {
      const out = await this.moto.ecs(k.account, k.region).send(new DescribeTasksCommand({ cluster: k.cluster, tasks: arns.slice(i, i + 100) }));
      for (const t of out.tasks ?? []) {
        if (t.clusterArn?.endsWith(`:cluster/${k.cluster}`) && t.desiredStatus === desiredStatus && (!group || t.group === group)) keep.add(t.taskArn!);
      }
    }
    return { ...doc, taskArns: arns.filter((a) => keep.has(a)) };
  }
}

function daemonFields(v: DaemonServiceView): Record<string, unknown> {
  const epoch = (d: Date) => d.getTime() / 1000;
  return {
    taskDefinition: v.taskDefinition,
    desiredCount: v.desiredCount,
    runningCount: v.runningCount,
    pendingCount: v.pendingCount,
    deploymentConfiguration: v.deploymentConfiguration,
    deployments: v.deployments.map((d) => ({ ...d, failedTasks: 0, launchType: 'EC2', createdAt: epoch(d.createdAt), updatedAt: epoch(d.updatedAt) })),
    events: v.events.map((e) => ({ ...e, createdAt: epoch(e.createdAt) })),
  };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function upstream(motoUrl: string, req: IncomingMessage, body: Buffer, onResponse: (r: IncomingMessage) => void, onError: (e: Error) => void): void {
  const u = new URL(motoUrl);
  const up = httpRequest({ host: u.hostname, port: u.port, method: req.method, path: req.url, headers: req.headers }, onResponse);
  up.on('error', onError);
  up.end(body);
}

function forward(motoUrl: string, req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<number> {
  return new Promise((resolve, reject) => {
    upstream(
      motoUrl,
      req,
      body,
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
        r.on('end', () => resolve(r.statusCode ?? 502));
        r.on('error', reject);
      },
      reject,
    );
  });
}

function forwardBuffered(motoUrl: string, req: IncomingMessage, body: Buffer): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    upstream(
      motoUrl,
      req,
      body,
      (r) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => resolve({ status: r.statusCode ?? 502, headers: { ...r.headers }, body: Buffer.concat(chunks) }));
        r.on('error', reject);
      },
      reject,
    );
  });
}
