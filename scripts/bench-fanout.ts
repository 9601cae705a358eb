/**
 * Fan-out simulation (started by scripts/bench.ts, or on its own): one night of a fleet of N clusters
 * (default 10,000), a quarter each on ECS and EKS (AWS accounts x regions), AKS (Azure subscriptions)
 * and GKE (GCP projects x locations), through the REAL handlers
 * (functions/nightly.ts, functions/reconcile-worker.ts) and the REAL rollout state machine (read from
 * serverless.yml now, interpreted by test/sim/asl.ts), with the cloud and cluster APIs played by the
 * light stand-ins of test/sim/** at their documented latencies and request budgets, on a virtual clock.
 *
 * The night: every cluster was enrolled before (setup, not measured: the engine installs the sensor
 * and the releases are recorded), 1% of them drifted since (their sensor DaemonSet was deleted; on ECS
 * the sensor service), then
 * the nightly handler runs once and the work queue feeds worker invocations (event source mapping:
 * batches of 10, FIFO groups, up to the account's 1,000 concurrent executions) until the run ends.
 * Output: one JSON line on stdout. Usage: node bin/run-ts.mjs scripts/bench-fanout.ts [--clusters N] [--enforce-limits]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Context, SQSEvent, SQSBatchResponse } from 'aws-lambda';
import YAML from 'yaml';
import { AwsError, jsonError, jsonReply, type SimReply } from '../test/sim/aws-json';
import { StateMachineSim, SFN_LIMITS } from '../test/sim/asl';
import { StatesError } from '../test/sim/asl-paths';
import { installVirtualClock, realTimers, VirtualClock } from '../test/sim/clock';
import { DYNAMODB_LIMITS, SimDynamoDb } from '../test/sim/dynamodb';
import { ARM_LATENCY_MS, ENTRA_LATENCY_MS, SimArm, SimEntra, unsignedJwt } from '../test/sim/azure';
import { EC2_LATENCY_MS, ECS_LATENCY_MS, ECS_TASK_WAVE, SimEcs } from '../test/sim/ecs';
import { EKS_LATENCY_MS, SIM_CA_PEM, SimEks } from '../test/sim/eks';
import { GKE_LATENCY_MS, GOOGLE_TOKEN_LATENCY_MS, SimGke, SimGoogleTokens } from '../test/sim/gcp';
import { POD_WAVE, SimKube } from '../test/sim/kube';
import { isHighThroughputFifo, LATENCY_MS, PROVIDER_LIMITS } from '../test/sim/limits';
import { RateLimits, type BucketSpec } from '../test/sim/rate-limit';
import { SimFifoQueue, SimSqs, SQS_LATENCY_MS } from '../test/sim/sqs';
import { installSimTransport, type AwsRoute } from '../test/sim/transport';

const { values } = parseArgs({
  options: {
    clusters: { type: 'string', default: '10000' },
    'enforce-limits': { type: 'boolean', default: false },
    'drift-percent': { type: 'string', default: '1' },
    // what-if: the event source mapping's batch size instead of serverless.yml's
    'batch-size': { type: 'string' },
  },
});
const CLUSTERS = Number(values.clusters);
const ENFORCE = values['enforce-limits'];
const realStart = performance.now();
const cpuStart = process.cpuUsage();
const log = (s: string) => process.stderr.write(`${s}\n`);
// the SDK's JSON codec notes (once per request) that it turned a byte body into a string: noise in a 10,000-cluster run
const warn = console.warn.bind(console);
console.warn = (...args: unknown[]) => {
  if (typeof args[0] === 'string' && args[0].includes('JsonCodec2')) return;
  warn(...args);
};
process.on('unhandledRejection', (err) => log(`unhandled rejection: ${(err as Error)?.stack ?? String(err)}`));

// ---- the fleet's shape: a quarter per platform; tens of nodes per cluster, a few hundred ------------------
type Platform = 'aws-ecs' | 'aws-eks' | 'azure-aks' | 'gcp-gke';
const PLATFORMS: Platform[] = ['aws-ecs', 'aws-eks', 'azure-aks', 'gcp-gke'];
const OWN_ACCOUNT = '100000000000';
const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1', 'eu-central-1', 'ap-southeast-2'];
/** Clusters per AWS account and region, per platform (ECS and EKS share the scope). */
const PER_AWS_SCOPE = 25;
const AZURE_SUBSCRIPTIONS = 10;
const AZURE_RESOURCE_GROUPS = 5;
const GCP_PROJECTS = 10;
const GCP_LOCATIONS = ['us-central1', 'us-east4', 'europe-west1', 'europe-west4', 'asia-southeast1'];
const perPlatform = Object.fromEntries(PLATFORMS.map((p, k) => [p, Math.floor(CLUSTERS / 4) + (k < CLUSTERS % 4 ? 1 : 0)])) as Record<Platform, number>;
const awsPerPlatform = Math.max(perPlatform['aws-ecs'], perPlatform['aws-eks']);
const accountCount = Math.max(1, Math.ceil(awsPerPlatform / (PER_AWS_SCOPE * REGIONS.length)));
const accounts = Array.from({ length: accountCount }, (_, i) => String(100000000000 + i));
const TENANT = '72f988bf-0000-4000-8000-00000000a2e1';
const AZURE_CLIENT_ID = '5e0e5e0e-0000-4000-8000-00000000c11e';
const subscriptions = Array.from({ length: Math.min(AZURE_SUBSCRIPTIONS, Math.max(1, perPlatform['azure-aks'])) }, (_, i) => `00000000-0000-4000-8000-${String(i + 1).padStart(12, '0')}`);
const projects = Array.from({ length: Math.min(GCP_PROJECTS, Math.max(1, perPlatform['gcp-gke'])) }, (_, i) => `sf-fleet-${String(i).padStart(2, '0')}`);
const WORKLOAD_IDENTITY_PROVIDER = 'projects/123456789012/locations/global/workloadIdentityPools/sensorfleet/providers/aws';
const GCP_SERVICE_ACCOUNT = 'sensorfleet@sf-fleet-hub.iam.gserviceaccount.com';
const HOSTS = { arm: 'arm.sim.invalid', entra: 'login.sim.invalid', gke: 'container.sim.invalid', gsts: 'sts.sim.invalid', iam: 'iamcredentials.sim.invalid', ec2: 'ec2.sim.invalid' };
const nodeCount = (i: number) => {
  const h = (Math.imul(i + 1, 2654435761) >>> 0) % 1000;
  return i % 100 === 37 ? 150 + (h % 251) : 10 + (h % 41);
};

// ---- the deployment as serverless.yml declares it --------------------------------------------------------
const sls = YAML.parse(readFileSync('serverless.yml', 'utf8'));
const resources = sls.resources.Resources;
const smProps = resources.RolloutStateMachine.Properties;
const definition = smProps.Definition ?? JSON.parse(smProps.DefinitionString);
const timeoutOf = (fn: string) => {
  const t = sls.functions[fn]?.timeout ?? sls.provider.timeout;
  const m = /^\$\{self:custom\.(\w+)\}$/.exec(String(t));
  return Number(m ? sls.custom[m[1]!] : t);
};
const memoryOf = (fn: string) => Number(sls.functions[fn]?.memorySize ?? sls.provider.memorySize ?? 1024);
const batchSize = Number(values['batch-size'] ?? sls.functions['reconcile-worker'].events.find((e: any) => e.sqs)?.sqs.batchSize ?? 10);
const visibility = Number(resources.WorkQueue.Properties.VisibilityTimeout ?? 30);
const workQueueHighThroughput = isHighThroughputFifo(resources.WorkQueue.Properties);
const dlqHighThroughput = isHighThroughputFifo(resources.WorkDeadLetterQueue.Properties);
const workQueueApi = workQueueHighThroughput ? 'sqsHighThroughput' : 'sqs';

const TABLE = 'sensorfleet-sim';
// the worker's idempotency table keyed as serverless.yml declares it (its hash key alone: records spread over partitions)
const IDEMPOTENCY_TABLE = 'sensorfleet-sim-idempotency';
const idempotencyHashKey: string = resources.IdempotencyTable.Properties.KeySchema.find((k: { KeyType: string }) => k.KeyType === 'HASH').AttributeName;
const QUEUE_URL = `https://sqs.us-east-1.amazonaws.com/${OWN_ACCOUNT}/sensorfleet-sim-work.fifo`;
const DLQ_URL = `https://sqs.us-east-1.amazonaws.com/${OWN_ACCOUNT}/sensorfleet-sim-dlq.fifo`;
const SM_ARN = `arn:aws:states:us-east-1:${OWN_ACCOUNT}:stateMachine:sensorfleet-sim-rollout`;
const config = {
  targets: {
    aws: accounts.map((a) => ({ accountId: a, regions: REGIONS, platforms: ['aws-ecs', 'aws-eks'], ...(a === OWN_ACCOUNT ? {} : { roleArn: `arn:aws:iam::${a}:role/sensorfleet-target` }) })),
    azure: perPlatform['azure-aks'] > 0 ? subscriptions.map((sub) => ({ tenantId: TENANT, subscriptionId: sub, clientId: AZURE_CLIENT_ID, endpoints: { resourceManager: `https://${HOSTS.arm}`, authorityHost: `https://${HOSTS.entra}` } })) : [],
    gcp:
      perPlatform['gcp-gke'] > 0
        ? projects.map((projectId) => ({ projectId, locations: GCP_LOCATIONS, auth: { method: 'aws-federation', workloadIdentityProvider: WORKLOAD_IDENTITY_PROVIDER, serviceAccountEmail: GCP_SERVICE_ACCOUNT }, endpoints: { container: `https://${HOSTS.gke}`, sts: `https://${HOSTS.gsts}`, iamCredentials: `https://${HOSTS.iam}` } }))
        : [],
  },
  state: { tableName: TABLE },
  queue: { url: QUEUE_URL, dlqUrl: DLQ_URL },
};
Object.assign(process.env, {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: `AKIASIM${OWN_ACCOUNT}`,
  AWS_SECRET_ACCESS_KEY: 'simulated-secret-key',
  AWS_CONFIG_FILE: '/nonexistent/sim-config',
  AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/sim-credentials',
  SENSORFLEET_CONFIG: JSON.stringify(config),
  SENSORFLEET_QUEUE_URL: QUEUE_URL,
  SENSORFLEET_DLQ_URL: DLQ_URL,
  SENSORFLEET_TABLE: TABLE,
  SENSORFLEET_IDEMPOTENCY_TABLE: IDEMPOTENCY_TABLE,
  SENSORFLEET_STATE_MACHINE_ARN: SM_ARN,
  POWERTOOLS_LOG_LEVEL: process.env.SIM_LOG_LEVEL ?? 'SILENT',
  POWERTOOLS_METRICS_DISABLED: 'true',
  AWS_LAMBDA_FUNCTION_NAME: 'sensorfleet-sim',
  // the ECS adapter's EC2 DescribeInstances (signed by hand, sent with fetch) goes to the EC2 stand-in
  AWS_ENDPOINT_URL_EC2: `https://${HOSTS.ec2}`,
});

// ---- virtual clock, stand-ins, transport ---------------------------------------------------------------
const clock = new VirtualClock(Date.parse('2026-12-02T02:00:00Z'));
installVirtualClock(clock);
// setup (not measured) runs with every budget a thousand times larger, so enrolment never fails on a throttle
const SETUP_LIMITS: Record<string, BucketSpec> = Object.fromEntries(Object.entries(PROVIDER_LIMITS).map(([k, v]) => [k, { ...v, ratePerSecond: v.ratePerSecond * 1000, burst: v.burst * 1000 }]));
let limits = new RateLimits(SETUP_LIMITS, () => clock.now());
const rl = { admit: (api: string, scope: string) => limits.admit(api, scope) } as RateLimits;
const dynamo = new SimDynamoDb(rl, ENFORCE);
dynamo.createTable(TABLE, 'pk', 'sk', { byKind: { hash: 'gsi1pk', range: 'gsi1sk' } });
dynamo.createTable(IDEMPOTENCY_TABLE, idempotencyHashKey, undefined);
const sqs = new SimSqs(rl);
const queue = sqs.add(new SimFifoQueue(QUEUE_URL, visibility, () => clock.now(), workQueueHighThroughput));
const dlq = sqs.add(new SimFifoQueue(DLQ_URL, visibility, () => clock.now(), dlqHighThroughput));
const eks = new SimEks(rl);
const ecs = new SimEcs(rl, () => clock.now());
const kube = new SimKube(rl, () => clock.now());
const arm = new SimArm(HOSTS.arm, rl, TENANT);
const entra = new SimEntra(HOSTS.entra, rl, TENANT);
entra.registerApp(AZURE_CLIENT_ID);
const gke = new SimGke(HOSTS.gke, rl);
const googleTokens = new SimGoogleTokens(HOSTS.gsts, HOSTS.iam, rl, `//iam.googleapis.com/${WORKLOAD_IDENTITY_PROVIDER}`);
const sfn = new StateMachineSim(definition, SM_ARN, { clock, enforceLimits: ENFORCE, resolveTask });
const secret = JSON.stringify({ activationId: 'sim-activation-id', customerId: 'sim-customer-id' });

const clusterRefs: string[] = [];
const clusterNodes = new Map<string, number>();
const platformOf = new Map<string, Platform>();
for (const platform of PLATFORMS) {
  for (let k = 0; k < perPlatform[platform]; k++) {
    const i = clusterRefs.length;
    const nodes = nodeCount(i);
    let ref: string;
    if (platform === 'aws-ecs' || platform === 'aws-eks') {
      const account = accounts[Math.floor(k / (PER_AWS_SCOPE * REGIONS.length))]!;
      const region = REGIONS[Math.floor(k / PER_AWS_SCOPE) % REGIONS.length]!;
      const name = `${platform === 'aws-ecs' ? 'ecs' : 'eks'}-${String(k).padStart(5, '0')}`;
      ref = `${platform}:${account}:${region}:${name}`;
      if (platform === 'aws-ecs') ecs.add(account, region, name, nodes);
      else eks.add(account, region, { name, endpoint: `https://${kube.add(ref, nodes).host}` });
    } else if (platform === 'azure-aks') {
      const perSub = Math.ceil(perPlatform['azure-aks'] / subscriptions.length);
      const subscription = subscriptions[Math.floor(k / perSub)]!;
      const resourceGroup = `rg-fleet-${Math.floor((k % perSub) / Math.ceil(perSub / AZURE_RESOURCE_GROUPS))}`;
      const name = `aks-${String(k).padStart(5, '0')}`;
      ref = `azure-aks:${subscription}:${resourceGroup}:${name}`;
      arm.add({ subscription, resourceGroup, name, location: 'westeurope', server: `https://${kube.add(ref, nodes).host}:443`, caPem: SIM_CA_PEM });
    } else {
      const perProject = Math.ceil(perPlatform['gcp-gke'] / projects.length);
      const project = projects[Math.floor(k / perProject)]!;
      const location = GCP_LOCATIONS[Math.floor((k % perProject) / Math.ceil(perProject / GCP_LOCATIONS.length))]!;
      const name = `gke-${String(k).padStart(5, '0')}`;
      ref = `gcp-gke:${project}:${location}:${name}`;
      gke.add({ project, location, name, endpoint: kube.add(ref, nodes).host, caPem: SIM_CA_PEM });
    }
    clusterRefs.push(ref);
    clusterNodes.set(ref, nodes);
    platformOf.set(ref, platform);
  }
}

installSimTransport(clock, {
  accountOf: (key) => /^A[KS]IASIM(\d{12})/.exec(key)?.[1] ?? OWN_ACCOUNT,
  aws: async (route) => {
    const r = await awsCall(route);
    if (process.env.SIM_DEBUG_CALLS || (process.env.SIM_DEBUG_ERRORS && r.reply.status >= 300)) log(`${new Date(clock.now()).toISOString()} ${route.service} ${route.request.headers['x-amz-target'] ?? route.request.path} -> ${r.reply.status} ${r.reply.status >= 300 ? r.reply.body.slice(0, 200) : ''}`);
    return r;
  },
  kube: (host, method, url, body, contentType, authorization) => kube.handle(host, method, url, body, contentType, authorization),
  web: async (host, method, url, body, headers) => {
    const r = webCall(host, method, url, body, headers);
    if (process.env.SIM_DEBUG_CALLS || (process.env.SIM_DEBUG_ERRORS && r.reply.status >= 300)) log(`${new Date(clock.now()).toISOString()} ${host} ${method} ${url.pathname} -> ${r.reply.status} ${r.reply.status >= 300 ? r.reply.body.slice(0, 200) : ''}`);
    return r;
  },
});

/** The non-AWS-SDK HTTPS services: ARM, Entra, GKE, Google STS, IAM Credentials, and EC2's hand-signed Query call. */
function webCall(host: string, method: string, url: URL, body: string | undefined, headers: Record<string, unknown>): { reply: SimReply; latencyMs: number } {
  const authorization = headers.authorization as string | undefined;
  switch (host) {
    case HOSTS.arm:
      return { reply: arm.handle(method, url, authorization), latencyMs: ARM_LATENCY_MS };
    case HOSTS.entra:
      return { reply: entra.handle(method, url, body), latencyMs: ENTRA_LATENCY_MS };
    case HOSTS.gke:
      return { reply: gke.handle(method, url, authorization), latencyMs: GKE_LATENCY_MS };
    case HOSTS.gsts:
    case HOSTS.iam:
      return { reply: googleTokens.handle(host, method, url, body, authorization), latencyMs: GOOGLE_TOKEN_LATENCY_MS };
    case HOSTS.ec2: {
      const key = /Credential=([^/]+)\/\d{8}\/([^/]+)\/ec2\//.exec(authorization ?? '');
      if (!key) return { reply: { status: 401, body: '<Response><Errors><Error><Code>AuthFailure</Code><Message>AWS was not able to validate the provided access credentials</Message></Error></Errors></Response>', headers: { 'content-type': 'text/xml' } }, latencyMs: 5 };
      const account = /^A[KS]IASIM(\d{12})/.exec(key[1]!)?.[1] ?? OWN_ACCOUNT;
      return { reply: ecs.describeInstances(account, key[2]!, new URLSearchParams(body ?? '')), latencyMs: EC2_LATENCY_MS };
    }
  }
  return { reply: { status: 503, body: `no simulated service at ${host}` }, latencyMs: 5 };
}

async function awsCall(route: AwsRoute): Promise<{ reply: SimReply; latencyMs: number }> {
  const target = String(route.request.headers['x-amz-target'] ?? '');
  const [prefix, op] = target.split('.') as [string, string];
  try {
    if (prefix === 'DynamoDB_20120810') return { reply: jsonReply(dynamo.handle(op, JSON.parse(route.body))), latencyMs: dynamo.latencyMs(op) };
    if (prefix === 'AmazonEC2ContainerServiceV20141113') return { reply: jsonReply(ecs.handle(route.account, route.region, op, JSON.parse(route.body))), latencyMs: ECS_LATENCY_MS };
    if (prefix === 'AmazonSQS') return { reply: jsonReply(sqs.handle(op, JSON.parse(route.body))), latencyMs: SQS_LATENCY_MS };
    if (prefix === 'AWSStepFunctions') {
      const api = op.startsWith('SendTask') ? 'sfn.SendTask' : `sfn.${op}`;
      if (PROVIDER_LIMITS[api] && !limits.admit(api, `${route.account}/${route.region}`)) throw new AwsError('ThrottlingException', 'Rate exceeded');
      return { reply: jsonReply(sfn.handle(op, JSON.parse(route.body))), latencyMs: LATENCY_MS.sfn };
    }
    if (prefix === 'secretsmanager') {
      if (!limits.admit('secretsmanager.GetSecretValue', `${route.account}/${route.region}`)) throw new AwsError('ThrottlingException', 'Rate exceeded');
      const req = JSON.parse(route.body);
      return { reply: jsonReply({ ARN: `arn:aws:secretsmanager:${route.region}:${route.account}:secret:${req.SecretId}-AbCdEf`, Name: req.SecretId, SecretString: secret, VersionId: 'v1' }), latencyMs: LATENCY_MS.secretsmanager };
    }
    if (route.service === 'eks') {
      const r = route.request;
      return { reply: jsonReply(eks.handle(route.account, route.region, r.method, r.path, r.query ?? {})), latencyMs: EKS_LATENCY_MS };
    }
    if (route.service === 'sts') return { reply: sts(route), latencyMs: LATENCY_MS.sts };
    throw new AwsError('UnknownOperationException', `${route.service} ${target} is not simulated`);
  } catch (err) {
    if (err instanceof AwsError) return { reply: jsonError(err), latencyMs: 5 };
    if (err instanceof Error && err.name === 'ValidationException') return { reply: jsonError(new AwsError('ValidationException', err.message)), latencyMs: 5 };
    throw err;
  }
}

/** STS (query protocol, XML answers): AssumeRole into a target account issues keys that name it. */
function sts(route: AwsRoute): SimReply {
  const form = new URLSearchParams(route.body);
  const action = form.get('Action');
  if (!limits.admit('sts.api', `${route.account}/${route.region}`)) {
    return { status: 400, body: `<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>sim</RequestId></ErrorResponse>`, headers: { 'content-type': 'text/xml' } };
  }
  const xml = (inner: string) => ({ status: 200, body: `<${action}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><${action}Result>${inner}</${action}Result><ResponseMetadata><RequestId>sim</RequestId></ResponseMetadata></${action}Response>`, headers: { 'content-type': 'text/xml' } });
  if (action === 'AssumeRole') {
    const account = /^arn:aws:iam::(\d{12}):/.exec(form.get('RoleArn') ?? '')?.[1] ?? OWN_ACCOUNT;
    const expiration = new Date(clock.now() + 3600_000).toISOString();
    return xml(`<Credentials><AccessKeyId>ASIASIM${account}</AccessKeyId><SecretAccessKey>simulated</SecretAccessKey><SessionToken>simulated-session</SessionToken><Expiration>${expiration}</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>AROASIM:sensorfleet</AssumedRoleId><Arn>arn:aws:sts::${account}:assumed-role/sensorfleet-target/sensorfleet</Arn></AssumedRoleUser>`);
  }
  if (action === 'GetWebIdentityToken') {
    // IAM outbound identity federation: a JWT for the caller's role, audience as asked (https://docs.aws.amazon.com/STS/latest/APIReference/API_GetWebIdentityToken.html)
    const audience = form.get('Audience.member.1') ?? '';
    const exp = Math.floor(clock.now() / 1000) + Number(form.get('DurationSeconds') ?? 900);
    const token = unsignedJwt({ iss: `https://sim-${route.account}.tokens.sts.global.api.aws`, sub: `arn:aws:iam::${route.account}:role/sensorfleet-worker`, aud: audience, iat: Math.floor(clock.now() / 1000), exp });
    return xml(`<WebIdentityToken>${token}</WebIdentityToken><Expiration>${new Date(exp * 1000).toISOString()}</Expiration>`);
  }
  if (action === 'GetCallerIdentity') return xml(`<Arn>arn:aws:iam::${route.account}:user/sim</Arn><UserId>AIDASIM</UserId><Account>${route.account}</Account>`);
  return { status: 400, body: `<ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>${action} is not simulated</Message></Error></ErrorResponse>`, headers: { 'content-type': 'text/xml' } };
}

/** The workflow's Task resources (service integrations), answered by the same stand-ins the SDK reaches. */
async function resolveTask(resource: string, params: any): Promise<unknown> {
  const sqsTask = /^arn:aws:states:::sqs:(sendMessage|sendMessageBatch)$/.exec(resource);
  const ddbTask = /^arn:aws:states:::(?:aws-sdk:)?dynamodb:(\w+)$/.exec(resource);
  try {
    if (sqsTask) {
      await clock.sleep(SQS_LATENCY_MS);
      const body = typeof params.MessageBody === 'string' ? params.MessageBody : JSON.stringify(params.MessageBody);
      return sqs.handle(sqsTask[1] === 'sendMessage' ? 'SendMessage' : 'SendMessageBatch', { ...params, MessageBody: body });
    }
    if (ddbTask) {
      const op = ddbTask[1]!.charAt(0).toUpperCase() + ddbTask[1]!.slice(1);
      await clock.sleep(dynamo.latencyMs(op));
      return dynamo.handle(op, params);
    }
  } catch (err) {
    if (err instanceof AwsError) {
      const name = err.type.split('#').at(-1)!;
      throw new StatesError(sqsTask ? 'SQS.AmazonSQSException' : `DynamoDB.${name}`, err.message);
    }
    throw err;
  }
  throw new StatesError('States.Runtime', `task resource ${resource} is not simulated`);
}

// ---- invocations -----------------------------------------------------------------------------------------
interface InvocationStats {
  count: number;
  longestMs: number;
  totalMs: number;
  overTimeout: number;
  coldStarts: number;
}
const invocations: Record<string, InvocationStats> = {};
/** A cold start's init (import of the bundle, config): modelled, the bench's bundle figures measure it. */
const COLD_START_MS = 600;
const warm: Record<string, number> = {};

async function invoke<E, R>(fn: string, handler: (e: E, c: Context) => Promise<R>, event: E): Promise<R> {
  const s = (invocations[fn] ??= { count: 0, longestMs: 0, totalMs: 0, overTimeout: 0, coldStarts: 0 });
  const start = clock.now();
  if ((warm[fn] ?? 0) > 0) warm[fn]!--;
  else {
    s.coldStarts++;
    await clock.sleep(COLD_START_MS);
  }
  const timeoutMs = timeoutOf(fn) * 1000;
  const context = {
    functionName: `sensorfleet-sim-${fn}`,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:${OWN_ACCOUNT}:function:sensorfleet-sim-${fn}`,
    memoryLimitInMB: String(memoryOf(fn)),
    awsRequestId: `sim-${fn}-${s.count}`,
    logGroupName: `/aws/lambda/sensorfleet-sim-${fn}`,
    logStreamName: 'sim',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => Math.max(0, timeoutMs - (clock.now() - start)),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  } as Context;
  try {
    return await handler(event, context);
  } finally {
    const ms = clock.now() - start;
    s.count++;
    s.totalMs += ms;
    s.longestMs = Math.max(s.longestMs, ms);
    if (ms > timeoutMs) s.overTimeout++;
    warm[fn] = (warm[fn] ?? 0) + 1;
  }
}

/** Lambda's SQS event source mapping for the FIFO work queue: receive, invoke, delete what succeeded. */
const ACCOUNT_CONCURRENCY = 1000;
const ESM_POLL_MS = 200;
let running = 0;
let peakConcurrency = 0;
async function eventSourceMapping(worker: (e: SQSEvent, c: Context) => Promise<SQSBatchResponse>, stop: () => boolean): Promise<void> {
  const arn = `arn:aws:sqs:us-east-1:${OWN_ACCOUNT}:sensorfleet-sim-work.fifo`;
  while (!stop()) {
    while (running < ACCOUNT_CONCURRENCY) {
      if (!limits.admit(`${workQueueApi}.ReceiveMessage`, QUEUE_URL)) break;
      const batch = queue.receive(batchSize);
      if (batch.length === 0) break;
      running++;
      peakConcurrency = Math.max(peakConcurrency, running);
      const event = { Records: batch.map((m) => SimFifoQueue.record(m, arn)) } as SQSEvent;
      void invoke('reconcile-worker', worker, event)
        .then(async (out) => {
          const failed = new Set((out?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
          const toDelete = event.Records.filter((r) => !failed.has(r.messageId));
          for (let i = 0; i < toDelete.length; i += 10) {
            while (!limits.admit(`${workQueueApi}.DeleteMessage`, QUEUE_URL)) await clock.sleep(50);
            for (const r of toDelete.slice(i, i + 10)) queue.delete(r.receiptHandle);
          }
        })
        .catch((err) => {
          errors.push(`worker invocation failed: ${(err as Error).message}`);
        })
        .finally(() => running--);
    }
    await clock.sleep(ESM_POLL_MS);
  }
}
const errors: string[] = [];

// ---- run ------------------------------------------------------------------------------------------------
async function main(): Promise<void> {
  const { parseConfig } = await import('../shared/config/load');
  const { parseClusterRef } = await import('../shared/domain/cluster-ref');
  const { buildEngine } = await import('../shared/engine/build');
  const { runFleet } = await import('../shared/engine/run-fleet');
  const { DynamoDbRolloutStore } = await import('../shared/state/rollout-store');
  const parsed = parseConfig(config);
  const target = parsed.sensor.version;

  // setup (not measured): the sensor is installed everywhere and released at the target
  kube.podWave = 0;
  ecs.taskWaveMs = 0;
  const setupStart = clock.now();
  const refs = clusterRefs.map(parseClusterRef);
  const setupConfig = parseConfig({ ...config, rollout: { concurrency: 200 } });
  let setupDone = false;
  const setup = (async () => {
    const deps = await buildEngine(setupConfig, refs, { store: false });
    const report = await runFleet(deps, { clusters: refs, forceRun: true, trigger: { kind: 'reconcile-requested', source: 'sim-setup' } });
    const store = new DynamoDbRolloutStore(TABLE);
    for (const c of clusterRefs) await store.putRelease({ cluster: c, version: target, releasedAt: new Date().toISOString(), runId: 'sim-setup', ring: 0 });
    await store.putBaseline({ version: target, runId: 'sim-setup', at: new Date().toISOString() });
    return report;
  })().finally(() => (setupDone = true));
  await clock.run(() => setupDone);
  const setupReport = await setup;
  const setupOutcomes: Record<string, number> = {};
  for (const c of setupReport.clusters) setupOutcomes[c.outcome] = (setupOutcomes[c.outcome] ?? 0) + 1;
  log(`setup: ${CLUSTERS} clusters enrolled in ${((clock.now() - setupStart) / 1000).toFixed(0)} virtual s (${((performance.now() - realStart) / 1000).toFixed(0)} real s): ${JSON.stringify(setupOutcomes)}`);

  // drift since the last night: the sensor DaemonSet (ECS: the sensor service) of 1% of the clusters was deleted
  const driftEvery = Math.max(1, Math.round(100 / Number(values['drift-percent'])));
  let drifted = 0;
  const driftedByPlatform: Record<string, number> = {};
  const kubeByRef = new Map(kube.all().map((c) => [c.id, c]));
  const ecsByRef = new Map(ecs.all().map((c) => [`aws-ecs:${c.account}:${c.region}:${c.name}`, c]));
  for (const [i, ref] of clusterRefs.entries()) {
    if (i % driftEvery !== 3) continue;
    const platform = platformOf.get(ref)!;
    if (platform === 'aws-ecs') {
      const service = ecsByRef.get(ref)?.service;
      if (!service) continue;
      service.status = 'INACTIVE';
    } else {
      const c = kubeByRef.get(ref);
      const keys = [...(c?.objects.keys() ?? [])].filter((k) => k.includes('|daemonsets|'));
      if (keys.length === 0) continue;
      for (const k of keys) c!.objects.delete(k);
    }
    drifted++;
    driftedByPlatform[platform] = (driftedByPlatform[platform] ?? 0) + 1;
  }
  for (const c of kube.all()) c.finishRollouts();
  for (const c of ecs.all()) c.finishRollouts();
  kube.podWave = POD_WAVE.realisticMs;
  ecs.taskWaveMs = ECS_TASK_WAVE.realisticMs;
  limits = new RateLimits(PROVIDER_LIMITS, () => clock.now());
  queue.maxDepth = 0;

  // the night
  const { handler: nightly } = await import('../functions/nightly');
  const { handler: worker } = await import('../functions/reconcile-worker');
  const nightStart = clock.now();
  const cpuNight = process.cpuUsage();
  const realNight = performance.now();
  global.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  let heapPeak = heapBefore;
  let rssPeak = process.memoryUsage().rss;
  const sampler = realTimers.setTimeout(function sample() {
    const m = process.memoryUsage();
    heapPeak = Math.max(heapPeak, m.heapUsed);
    rssPeak = Math.max(rssPeak, m.rss);
    (sampler as unknown as { t: NodeJS.Timeout }).t = realTimers.setTimeout(sample, 20);
  }, 20);
  let nightlyResult: any;
  let nightlyHeapPeak = heapBefore;
  let nightlyDone = false;
  const nightlyRun = invoke('nightly', nightly as never, { id: 'sim-night-1' } as never)
    .then((r) => (nightlyResult = r))
    .catch((err) => (nightlyResult = { error: (err as Error).message }))
    .finally(() => {
      nightlyDone = true;
      nightlyHeapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
    });
  await clock.run(() => nightlyDone);
  await nightlyRun;
  log(`nightly: ${JSON.stringify(nightlyResult).slice(0, 400)}`);
  const execution = [...sfn.executions.values()][0];
  const store = new DynamoDbRolloutStore(TABLE);
  let runEnded = false;
  let runStatus: string | undefined;
  const MAX_NIGHT_MS = 12 * 3600_000;
  const esm = eventSourceMapping(worker as never, () => runEnded);
  const watcher = (async () => {
    let tick = 0;
    while (!runEnded) {
      await clock.sleep(5000);
      if (++tick % 24 === 0) log(`  t+${Math.round((clock.now() - nightStart) / 1000)} s: execution ${execution?.status}, queue ${queue.depth()}, running ${running}, worker invocations ${invocations['reconcile-worker']?.count ?? 0}, real ${Math.round((performance.now() - realNight) / 1000)} s`);
      const done = !execution || execution.status !== 'RUNNING';
      if (done && queue.depth() === 0 && running === 0) {
        runStatus = execution ? (await store.getRun(nightlyResult?.runId))?.status : undefined;
        runEnded = true;
      }
      if (clock.now() - nightStart > MAX_NIGHT_MS) runEnded = true;
    }
  })();
  if (process.env.SIM_DEBUG_HEARTBEAT) {
    const beat = () => {
      log(`heartbeat: virtual t+${Math.round((clock.now() - nightStart) / 1000)} s, ${clock.pending()} timers, loop ${clock.loops} ${clock.phase}, runEnded ${runEnded}, execution ${execution?.status}, io ${process.getActiveResourcesInfo().join(',')}`);
      realTimers.setTimeout(beat, 3000).unref();
    };
    beat();
  }
  esm.catch((err) => (errors.push(`event source mapping: ${(err as Error).stack}`), log(errors.at(-1)!)));
  watcher.catch((err) => (errors.push(`watcher: ${(err as Error).stack}`), log(errors.at(-1)!)));
  await clock.run(() => runEnded);
  if (!runEnded) {
    errors.push(`the virtual clock ran dry at t+${Math.round((clock.now() - nightStart) / 1000)} s: nothing scheduled, the run not over`);
    log(errors.at(-1)!);
    runEnded = true;
  } else {
    let stopped = false;
    void Promise.allSettled([esm, watcher]).then(() => (stopped = true));
    await clock.run(() => stopped);
  }
  const wallMs = (execution?.stoppedAt ?? clock.now()) - nightStart;
  const cpu = process.cpuUsage(cpuNight);
  realTimers.clearTimeout((sampler as unknown as { t: NodeJS.Timeout }).t);

  const resultList = await resultsOf(store, nightlyResult?.runId);
  const results = resultList && countBy(resultList, (r) => r.outcome);
  const platforms = Object.fromEntries(
    PLATFORMS.map((p) => {
      const mine = (resultList ?? []).filter((r) => platformOf.get(r.cluster) === p);
      const outcomes = countBy(mine, (r) => r.outcome);
      return [p, { clusters: perPlatform[p], nodes: clusterRefs.filter((c) => platformOf.get(c) === p).reduce((n, c) => n + clusterNodes.get(c)!, 0), inSync: outcomes['in-sync'] ?? 0, converged: outcomes.converged ?? 0, drifted: driftedByPlatform[p] ?? 0, outcomes }];
    }),
  );
  const inv = invocations;
  const rates = limits.summary();
  const allInv = Object.values(inv);
  const longestMs = Math.max(...allInv.map((s) => s.longestMs));
  const heapMb = (b: number) => Math.round(b / 2 ** 20);
  const workerInvocations = inv['reconcile-worker']?.count ?? 0;
  const perWorkerHeapMb = peakConcurrency > 0 ? (heapPeak - heapBefore) / 2 ** 20 / peakConcurrency : 0;
  // a Lambda instance's memory: the process a function starts with (Node + the bundle; measured by `npm run bench`'s cold import, ~70-90 MB) plus what the invocation holds
  const LAMBDA_BASE_MB = 90;
  const nightlyMb = LAMBDA_BASE_MB + (nightlyHeapPeak - heapBefore) / 2 ** 20;
  const workerMb = LAMBDA_BASE_MB + perWorkerHeapMb;
  const fifteenMin = 15 * 60_000;
  const sfnLimits = sfn.limits;
  const limitRows = {
    executionInputBytes: { value: sfnLimits.executionInputBytes, max: SFN_LIMITS.payloadBytes, pass: sfnLimits.executionInputBytes <= SFN_LIMITS.payloadBytes },
    maxStatePayloadBytes: { value: sfnLimits.maxStatePayloadBytes, max: SFN_LIMITS.payloadBytes, pass: sfnLimits.maxStatePayloadBytes <= SFN_LIMITS.payloadBytes },
    maxHistoryEvents: { value: sfnLimits.maxHistoryEvents, max: SFN_LIMITS.historyEvents, pass: sfnLimits.maxHistoryEvents <= SFN_LIMITS.historyEvents, executions: Object.keys(sfnLimits.historyEventsByExecution).length },
    dynamodbItemBytes: { value: dynamo.largestItemBytes, max: DYNAMODB_LIMITS.itemBytes, pass: dynamo.largestItemBytes <= DYNAMODB_LIMITS.itemBytes },
    enforcedInSimulation: ENFORCE,
    note: ENFORCE
      ? 'limits enforced as AWS does: a payload, history or item over its limit fails the call or the execution'
      : 'limits checked and reported, not enforced, so the rest of the night can be measured; --enforce-limits fails calls and executions as AWS would',
  };
  const out = {
    clusters: CLUSTERS,
    nodes: [...clusterNodes.values()].reduce((a, b) => a + b, 0),
    eventSourceMapping: { batchSize, fromServerlessYml: values['batch-size'] === undefined, maxConcurrency: ACCOUNT_CONCURRENCY, pollMs: ESM_POLL_MS },
    scopes: {
      awsAccounts: accounts.length,
      regionsPerAccount: REGIONS.length,
      accountRegions: accounts.length * REGIONS.length,
      clustersPerAccountRegion: { 'aws-ecs': PER_AWS_SCOPE, 'aws-eks': PER_AWS_SCOPE },
      azureSubscriptions: config.targets.azure.length,
      azureResourceGroupsPerSubscription: AZURE_RESOURCE_GROUPS,
      gcpProjects: config.targets.gcp.length,
      gcpLocationsPerProject: GCP_LOCATIONS.length,
      platforms: PLATFORMS,
    },
    platforms,
    workQueue: { highThroughputFifo: workQueueHighThroughput, fromServerlessYml: true, attributes: { DeduplicationScope: resources.WorkQueue.Properties.DeduplicationScope ?? 'queue', FifoThroughputLimit: resources.WorkQueue.Properties.FifoThroughputLimit ?? 'perQueue' } },
    virtualClock: true,
    timeModel:
      'virtual clock (test/sim/clock.ts): timers, Date and node:timers/promises of the product run on it; it jumps to the next timer only when all in-process work has settled. Every stand-in call costs its modelled latency (DynamoDB 4-12 ms, SQS 10 ms, Step Functions 25 ms, STS 40 ms, ECS 40 ms, EKS 60 ms, EC2 80 ms, ARM 60 ms, Entra 80 ms, GKE 70 ms, Google STS/IAM 60 ms, Kubernetes 20 ms + 0.05 ms per listed item), a cold start 600 ms, a DaemonSet rollout wave or ECS task wave 20 s; SDK/kube retries and backoffs, visibility timeouts and Wait states wait on the virtual clock. CPU time of the handlers is NOT virtual time (see simulation.cpuSeconds).',
    night: { driftedClusters: drifted, driftedByPlatform, nightly: nightlyResult && { started: nightlyResult.started, runId: nightlyResult.runId, clusters: nightlyResult.clusters, rings: nightlyResult.rings, error: nightlyResult.error, discoveryErrors: nightlyResult.discoveryErrors?.length }, execution: execution && { status: execution.status, error: execution.error }, runStatus, results },
    wallSeconds: Math.round(wallMs / 1000),
    longestInvocationSeconds: Math.round(longestMs / 100) / 10,
    peakInvocationRssMb: Math.round(Math.max(nightlyMb, workerMb)),
    peakInvocationRssModel: `estimate: ${LAMBDA_BASE_MB} MB per Lambda instance (Node + bundle) plus the heap the invocation holds; nightly ${Math.round(nightlyMb)} MB (its heap growth while it ran alone), worker ${Math.round(workerMb)} MB (heap growth of the whole worker phase divided by peak concurrent invocations ${peakConcurrency}); the simulation process itself peaked at ${heapMb(rssPeak)} MB RSS with every stand-in and every concurrent invocation in it`,
    functionSeconds: Math.round(allInv.reduce((n, s) => n + s.totalMs, 0) / 1000),
    invocations: Object.fromEntries(Object.entries(inv).map(([k, s]) => [k, { count: s.count, longestSeconds: Math.round(s.longestMs / 100) / 10, meanSeconds: Math.round(s.totalMs / Math.max(1, s.count) / 100) / 10, coldStarts: s.coldStarts, overTimeout: s.overTimeout, timeoutSeconds: timeoutOf(k), memoryMb: memoryOf(k) }])),
    peakConcurrentInvocations: peakConcurrency,
    maxQueueDepth: queue.maxDepth,
    dlqDepth: dlq.depth(),
    messagesSent: queue.sent,
    callsPerScopePerSecond: rates,
    limits: limitRows,
    budgets: {
      everyInvocationUnder60s: { pass: longestMs < 60_000, longestSeconds: Math.round(longestMs / 1000) },
      everyInvocationUnder512Mb: { pass: Math.max(nightlyMb, workerMb) < 512, estimateMb: Math.round(Math.max(nightlyMb, workerMb)) },
      nightWithin15Minutes: { pass: execution?.status === 'SUCCEEDED' && wallMs <= fifteenMin, wallSeconds: Math.round(wallMs / 1000) },
      callsUnderDocumentedLimits: { pass: Object.values(rates).every((r) => r.withinLimit), throttledCalls: Object.values(rates).reduce((n, r) => n + r.throttled, 0) },
      stepFunctionsLimits: { pass: limitRows.executionInputBytes.pass && limitRows.maxStatePayloadBytes.pass && limitRows.maxHistoryEvents.pass },
      dynamodbItemLimit: { pass: limitRows.dynamodbItemBytes.pass },
    },
    simulation: { realSeconds: Math.round((performance.now() - realStart) / 1000), nightRealSeconds: Math.round((performance.now() - realNight) / 1000), cpuSeconds: Math.round((cpu.user + cpu.system) / 1e5) / 10, totalCpuSeconds: Math.round((process.cpuUsage(cpuStart).user + process.cpuUsage(cpuStart).system) / 1e5) / 10, rssPeakMb: heapMb(rssPeak), staleTaskAnswers: sfn.staleAnswers, workerInvocations, errors: errors.slice(0, 5) },
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

async function resultsOf(store: { listResults(runId: string): Promise<{ cluster: string; ok: boolean; outcome: string }[]> }, runId: string | undefined): Promise<{ cluster: string; ok: boolean; outcome: string }[] | undefined> {
  if (!runId) return undefined;
  let list: { cluster: string; ok: boolean; outcome: string }[] = [];
  let done = false;
  void store.listResults(runId).then((l) => ((list = l), (done = true)), () => (done = true));
  await clock.run(() => done);
  return list;
}

function countBy<T>(items: T[], key: (t: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of items) out[key(t)] = (out[key(t)] ?? 0) + 1;
  return out;
}

await main();
process.exit(0);
