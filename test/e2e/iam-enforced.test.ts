import { randomBytes } from 'node:crypto';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resetAwsClients } from '../../shared/platforms/aws/clients';
import { DynamoDbFleetStore } from '../../shared/state/dynamodb-store';
import { DynamoDbRolloutStore } from '../../shared/state/rollout-store';
import { DEFAULT_ACCOUNT } from '../sandbox/aws/accounts';
import { ecsCreateCluster, eksCreateCluster } from '../sandbox/event-factory';
import { startEnforcingMoto, type EnforcingMoto } from '../sandbox/iam/enforcing-moto';
import { startIamGate, type IamGate } from '../sandbox/iam/gate';
import { functionEnvironment } from '../sandbox/iam/function-env';
import { memberRoleStatements } from '../sandbox/iam/member-role';
import { withoutAction } from '../sandbox/iam/moto-policy';
import { allStatements, assumeRole, createRole, putPolicy, type SandboxIam } from '../sandbox/iam/provision';
import { bucketName, functionRoles, loadTemplate, resolveTemplateValue, roleDefinition, type RoleDefinition } from '../sandbox/iam/roles';
import { restCall, type Credentials } from '../sandbox/iam/signed-request';
import { startSandbox, type Sandbox } from '../sandbox/index';
import { lambdaContext, SqsEventSourceMapping, type SqsHandler } from '../sandbox/lambda-runner';
import { startQualysSandbox, type QualysSandbox } from '../sandbox/qualys/fixture';
import { deployStackResources, type StackOutputs } from '../sandbox/stack';
import { importBundledHandler } from '../support/bundle';

/**
 * Issue 7, IAM that matches the code, proven by moto's IAM enforcement (toolchain.md §7): a moto of
 * this file's own enforces IAM; each function's role is created from serverless.yml (its statements,
 * intrinsics resolved to the sandbox's ARNs, test/sandbox/iam/roles.ts), and each BUNDLED function runs
 * with credentials of its own role only (AssumeRole, then AWS_ACCESS_KEY_ID/SECRET/SESSION_TOKEN for that
 * invocation; the SQS event source mapping polls with the worker's role too). The sandbox's own
 * machinery is signed as an admin by the IAM gate (test/sandbox/iam/gate.ts); nothing of a function is.
 *
 * What moto proves, and what it cannot (test/sandbox/iam/moto-policy.ts):
 *  - SQS, STS and S3 resources exactly (queue ARNs; sts:AssumeRole only on the target role in the target
 *    accounts; s3:PutObject only under the reports bucket's reports/); for the other services moto checks
 *    resource `*`, so IN THIS TEST'S COPY their statements are widened to `*` and the ACTION SET is what
 *    is proven there;
 *  - trust policies name the test's caller (it plays Lambda), and moto checks a trust policy only within
 *    one account: the member role's trust (infra/aws-member-account) is not proven here;
 *  - Step Functions integrations cannot run while enforcement is on: nightly is proven up to its own
 *    calls (discovery, run record, StartExecution), the worker's answers to the workflow with messages
 *    sent as the workflow's role; the workflow itself runs in test/e2e/rollout-rings.test.ts.
 */
const VERSION = '1.34.1-0';
const suffix = randomBytes(3).toString('hex');
const stage = `iam${suffix}`;
const region = 'eu-north-1';
const ACCOUNT = DEFAULT_ACCOUNT;
const MEMBER = '210987654321';
const OTHER_ACCOUNT = '111111111111';
const TARGET_ROLE = 'sensorfleet-target';
const REGISTRY_SECRET = `sensorfleet/registry/iam-${suffix}`;

type Handler = (e: unknown, c: Context) => Promise<any>;
const FUNCTIONS = ['on-aws-event', 'reconcile-worker', 'nightly', 'redeploy', 'qualys-hygiene'] as const;
type Fn = (typeof FUNCTIONS)[number];

let moto: EnforcingMoto;
let gate: IamGate;
let sandbox: Sandbox;
let qualys: QualysSandbox;
let restoreEnv: () => void;
let stack: StackOutputs;
let store: DynamoDbFleetStore;
let roles: Map<string, RoleDefinition>;
let admin: SandboxIam;
const handlers = new Map<Fn, Handler>();
const environments = new Map<Fn, Record<string, string>>();
const QUIET = { POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true' };
const sessions = new Map<Fn, Credentials>();
/** The rollout workflow's own role (RolloutStateMachineRole): the test sends the workflow's queue messages with it. */
let workflow: Credentials;
let workerWithout: { action: string; handler: SqsHandler; credentials: Credentials };
/** nightly with its role as deployed for another target account (targetAccountIds=OTHER_ACCOUNT). */
let nightlyElsewhere: { handler: Handler; credentials: Credentials };
let work: { url: string; arn: string };
let runId: string;
let reportsBucket: string;
let dlq: { url: string; arn: string };

beforeAll(async () => {
  moto = await startEnforcingMoto(ACCOUNT);
  await moto.addAccountAdmin(MEMBER);
  gate = await startIamGate({ motoUrl: moto.url, defaultAccount: ACCOUNT, admins: moto.admins });
  sandbox = await startSandbox({ motoUrl: gate.url, region });
  restoreEnv = sandbox.useAwsEnv();
  resetAwsClients();
  stack = await deployStackResources({ stage, ...sandbox.aws });
  work = stack.queues.WorkQueue!;
  dlq = stack.queues.WorkDeadLetterQueue!;
  const adminUser = moto.admins.get(ACCOUNT)!;
  admin = { endpoint: sandbox.aws.endpoint, region, admin: adminUser };

  // the roles exactly as serverless.yml has them, deployed with one target account (the member below)
  const template = loadTemplate();
  const ctx = { stage, region, accountId: ACCOUNT, stack, params: { targetAccountIds: MEMBER, targetRoleName: TARGET_ROLE } };
  roles = functionRoles(template, ctx);
  for (const fn of FUNCTIONS) {
    const role = roles.get(fn)!;
    const created = await createRole(admin, `${stage}-${role.logicalId}`, allStatements(role), [adminUser.arn]);
    sessions.set(fn, await assumeRole(sandbox.aws.endpoint, region, adminUser.credentials, created.arn, fn));
  }
  const workflowRole = roleDefinition(template, 'RolloutStateMachineRole', ctx);
  workflow = await assumeRole(sandbox.aws.endpoint, region, adminUser.credentials, (await createRole(admin, `${stage}-${workflowRole.logicalId}`, allStatements(workflowRole), [adminUser.arn])).arn, 'rollout-workflow');
  // a copy of the worker's role without one action: the proof that the permission is needed
  const missing = 'eks:DescribeCluster';
  const worker = roles.get('reconcile-worker')!;
  const copy = await createRole(admin, `${stage}-${worker.logicalId}-without`, withoutAction(allStatements(worker), missing), [adminUser.arn]);
  const copyCredentials = await assumeRole(sandbox.aws.endpoint, region, adminUser.credentials, copy.arn, 'reconcile-worker-without');

  const nightlyOther = functionRoles(template, { ...ctx, params: { ...ctx.params, targetAccountIds: OTHER_ACCOUNT } }).get('nightly')!;
  const nightlyOtherRole = await createRole(admin, `${stage}-${nightlyOther.logicalId}-other`, allStatements(nightlyOther), [adminUser.arn]);
  const nightlyOtherCredentials = await assumeRole(sandbox.aws.endpoint, region, adminUser.credentials, nightlyOtherRole.arn, 'nightly-other');

  // the member account's target role (infra/aws-member-account), trusting the worker's and nightly's sessions
  const member: SandboxIam = { endpoint: sandbox.aws.endpoint, region, admin: moto.admins.get(MEMBER)!, accountId: MEMBER };
  const sessionArn = (fn: Fn) => `arn:aws:sts::${ACCOUNT}:assumed-role/${stage}-${roles.get(fn)!.logicalId}/${fn}`;
  await createRole(member, TARGET_ROLE, await memberRoleStatements(), (['reconcile-worker', 'nightly', 'redeploy', 'on-aws-event'] as const).map(sessionArn));

  qualys = await startQualysSandbox(sandbox.aws.endpoint, { region });
  const sm = new SecretsManagerClient({ region, endpoint: sandbox.aws.endpoint, credentials: sandbox.aws.credentials });
  await sm.send(new CreateSecretCommand({ Name: REGISTRY_SECRET, SecretString: JSON.stringify({ username: 'scanner', password: `pw-${suffix}` }) }));
  sm.destroy();
  await sandbox.fleet.putActivationSecret();
  // the worker's reports bucket (serverless.yml ReportsBucket); S3 is one of the services moto checks by resource
  reportsBucket = bucketName(template, 'ReportsBucket', ctx);
  const made = await restCall({ endpoint: sandbox.aws.endpoint, method: 'PUT', path: `/${reportsBucket}`, service: 's3', region: 'us-east-1', creds: adminUser.credentials });
  if (made.status !== 200) throw new Error(`CreateBucket ${reportsBucket}: HTTP ${made.status} ${made.body.slice(0, 200)}`);
  await sandbox.fleet.putActivationSecret({ accountId: MEMBER, region });

  const config = {
    sensor: { version: VERSION },
    targets: {
      aws: [
        { accountId: ACCOUNT, regions: [region] },
        { accountId: MEMBER, regions: [region], roleArn: `arn:aws:iam::${MEMBER}:role/${TARGET_ROLE}` },
      ],
    },
    rollout: {
      deadlineSeconds: 20,
      pollSeconds: 0.2,
      readinessPollSeconds: 1,
      readinessDeadlineSeconds: 120,
      maxAttempts: 3,
      retryBackoffSeconds: 1,
      // the ring gate asks Qualys (the worker reads the CS API secret for it)
      checkInGate: { enabled: true, deadlineSeconds: 60, pollSeconds: 1 },
    },
    qualys: {
      baseUrl: qualys.fake.url,
      auth: { secretId: qualys.secretId, secretRegion: region },
      retry: { attempts: 6, baseDelayMs: 20, maxDelayMs: 300 },
      maxRateLimitWaitSeconds: 30,
      schedules: { registries: [{ uri: 'https://registry.iam.example.test', name: `iam-${suffix}`, type: 'V2_PRIVATE', credentialsSecretId: REGISTRY_SECRET, schedules: [] }] },
    },
  };
  // each function's environment as serverless.yml gives it (the config as `--param config=…` would)
  const envCtx = { ...ctx, params: { ...ctx.params, config: JSON.stringify(config) } };
  for (const fn of FUNCTIONS) environments.set(fn, functionEnvironment(template, fn, envCtx));
  // module scope reads only what every function shares (the config, table, queues): import with all of it
  const union: Record<string, string> = {};
  for (const env of environments.values()) {
    for (const [k, v] of Object.entries(env)) {
      if (k in union && union[k] !== v) throw new Error(`functions disagree on ${k}`);
      union[k] = v;
    }
  }
  Object.assign(process.env, union, QUIET);
  const bundles = await Promise.all([...FUNCTIONS.map((fn) => importBundledHandler<Handler>(`functions/${fn}.ts`)), importBundledHandler<Handler>('functions/reconcile-worker.ts'), importBundledHandler<Handler>('functions/nightly.ts')]);
  FUNCTIONS.forEach((fn, i) => handlers.set(fn, bundles[i]!));
  workerWithout = { action: missing, handler: bundles[FUNCTIONS.length]! as unknown as SqsHandler, credentials: copyCredentials };
  nightlyElsewhere = { handler: bundles[FUNCTIONS.length + 1]!, credentials: nightlyOtherCredentials };
  store = new DynamoDbFleetStore(stack.tables.FleetTable!.name, region);
}, 240_000);

afterAll(async () => {
  restoreEnv?.();
  await qualys?.stop();
  await sandbox?.stop();
  await gate?.stop();
  await moto?.stop();
});

/**
 * Runs `body` as Lambda runs `fn`: the process's AWS credentials are those of `creds` (the function's
 * role) and its environment is the function's own (serverless.yml), nothing of the other functions'.
 */
async function as<T>(fn: Fn, creds: Credentials, body: () => Promise<T>): Promise<T> {
  const keys = new Set(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', ...[...environments.values()].flatMap((e) => Object.keys(e))]);
  const saved = new Map([...keys].map((k) => [k, process.env[k]]));
  for (const k of keys) delete process.env[k];
  Object.assign(process.env, environments.get(fn), { AWS_ACCESS_KEY_ID: creds.accessKeyId, AWS_SECRET_ACCESS_KEY: creds.secretAccessKey }, creds.sessionToken ? { AWS_SESSION_TOKEN: creds.sessionToken } : {});
  try {
    return await body();
  } finally {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

function invoke(fn: Exclude<Fn, 'reconcile-worker'>, event: unknown): Promise<any> {
  return as(fn, sessions.get(fn)!, () => handlers.get(fn)!(event, lambdaContext(fn)));
}

/** Lambda's SQS event source mapping polls and deletes with the function's role too. */
function mappingFor(handler: SqsHandler, creds: Credentials): SqsEventSourceMapping {
  const sqs = new SQSClient({ region, endpoint: sandbox.aws.endpoint, credentials: creds });
  return new SqsEventSourceMapping(sqs, work.url, work.arn, handler, { region });
}

function drainAsWorker(deadlineMs = 120_000) {
  const creds = sessions.get('reconcile-worker')!;
  return as('reconcile-worker', creds, () => mappingFor(handlers.get('reconcile-worker')! as unknown as SqsHandler, creds).drain(deadlineMs));
}

const denialsSince = (n: number) => gate.denials.slice(n);

describe('the roles as created here are serverless.yml’s, resolved', () => {
  it('sts:AssumeRole names the target role in the target accounts only, and is left out without any (Fn::If)', () => {
    const template = loadTemplate();
    const ctx = (targetAccountIds: string) => ({ stage, region, accountId: ACCOUNT, stack, params: { targetAccountIds } });
    const assumable = (fn: string, ids: string) => allStatements(functionRoles(template, ctx(ids)).get(fn)!).filter((st) => st.Action.includes('sts:AssumeRole')).flatMap((st) => st.Resource);
    expect(assumable('reconcile-worker', `${MEMBER},${OTHER_ACCOUNT}`)).toEqual([`arn:aws:iam::${MEMBER}:role/${TARGET_ROLE}`, `arn:aws:iam::${OTHER_ACCOUNT}:role/${TARGET_ROLE}`]);
    for (const fn of FUNCTIONS) expect(assumable(fn, ''), fn).toEqual([]);
  });

  it('SQS statements name the stack’s real queue ARNs; Fn::Sub and Fn::GetAtt resolve against the stack', () => {
    const sends = allStatements(roles.get('reconcile-worker')!).filter((st) => st.Action.includes('sqs:SendMessage')).flatMap((st) => st.Resource);
    expect(sends).toEqual([work.arn, dlq.arn]);
    const doc = { resources: { Resources: {} } };
    const value = { 'Fn::Sub': ['arn:aws:sqs:${AWS::Region}:${AWS::AccountId}:${Name}-${WorkQueue.QueueName}', { Name: { Ref: 'FleetTable' } }] };
    expect(resolveTemplateValue(doc, value, { stage, region, accountId: ACCOUNT, stack })).toBe(`arn:aws:sqs:${region}:${ACCOUNT}:${stack.tables.FleetTable!.name}-${work.arn.split(':').pop()}`);
  });
});

describe('each bundled function succeeds with its own role only (moto enforcing IAM)', () => {
  it('on-aws-event queues, the worker enrolls an ECS and an EKS cluster of its own account', async () => {
    const before = gate.denials.length;
    const where = { account: ACCOUNT, region };
    const ecs = await sandbox.fleet.createEcsCluster({ name: `iam-ecs-${suffix}`, instances: 2 });
    const eks = await sandbox.fleet.createEksCluster({ name: `iam-eks-${suffix}`, nodes: [{ name: 'n1' }, { name: 'n2' }], creatingForMs: 2000 });
    const pending = await pendingWork();
    for (const e of [ecsCreateCluster(where, `iam-ecs-${suffix}`), eksCreateCluster(where, `iam-eks-${suffix}`)]) await invoke('on-aws-event', e);
    expect(await pendingWork()).toBe(pending + 2);
    await drainAsWorker();
    for (const [ref, total] of [[ecs.ref, 2], [eks.ref, 2]] as const) {
      const item = await store.getCluster(ref);
      expect({ ref, outcome: item?.outcome, message: item?.message }).toMatchObject({ ref, outcome: 'converged' });
      expect(item!.nodes).toEqual({ covered: total, total });
    }
    expect(denialsSince(before)).toEqual([]);
  });

  it('the worker enrolls an ECS and an EKS cluster of a member account through the target role (sts:AssumeRole on its exact ARN)', async () => {
    const before = gate.denials.length;
    const name = `iam-member-${suffix}`;
    const ecs = await sandbox.fleet.createEcsCluster({ name, accountId: MEMBER, instances: 1 });
    const eks = await sandbox.fleet.createEksCluster({ name, accountId: MEMBER, nodes: [{ name: 'm1' }] });
    await invoke('on-aws-event', ecsCreateCluster({ account: MEMBER, region }, name));
    await invoke('on-aws-event', eksCreateCluster({ account: MEMBER, region }, name));
    await drainAsWorker();
    for (const ref of [ecs.ref, eks.ref]) {
      const item = await store.getCluster(ref);
      expect({ ref, outcome: item?.outcome, message: item?.message }).toMatchObject({ ref, outcome: 'converged' });
      expect(item!.nodes).toEqual({ covered: 1, total: 1 });
    }
    expect(denialsSince(before)).toEqual([]);
  });

  it('redeploy resolves a selector over every target account and queues; the worker runs the restart', async () => {
    const before = gate.denials.length;
    const ref = `aws-eks:${ACCOUNT}:${region}:iam-eks-${suffix}`;
    const answer = await invoke('redeploy', { selector: `aws-eks:*:${region}:iam-eks-${suffix}`, action: 'restart', reason: 'INC-7 IAM check', requestedBy: 'iam-test' });
    expect(answer).toMatchObject({ ok: true, queued: [{ cluster: ref }], failed: [] });
    await drainAsWorker();
    const records = await store.listReconciles(ref, 10);
    expect(records.find((r) => r.trigger.eventId === answer.queued[0].eventId)).toMatchObject({ outcome: 'converged', trigger: { kind: 'redeploy-requested', requestedBy: 'iam-test' } });
    expect(denialsSince(before)).toEqual([]);
  });

  it('nightly discovers both accounts, writes the run record and starts the workflow (its own calls; the workflow runs elsewhere)', async () => {
    const before = gate.denials.length;
    const startsBefore = sandbox.front.count('states', 'StartExecution');
    const result = await invoke('nightly', { id: `nightly-${suffix}` });
    // a denied ListClusters would surface only as a discovery error: none, in either account
    expect(result).toMatchObject({ started: true, discoveryErrors: [] });
    expect(result.clusters).toBeGreaterThanOrEqual(3);
    const run = await new DynamoDbRolloutStore(stack.tables.FleetTable!.name, region).getRun(result.runId);
    expect(run?.status).toBe('running');
    expect(result.executionArn).toMatch(/^arn:aws:states:/);
    expect(sandbox.front.count('states', 'StartExecution')).toBe(startsBefore + 1);
    // while that run is active, the next nightly queues drift reconciles instead (its sqs:SendMessage); the worker runs them
    const again = await invoke('nightly', { id: `nightly-again-${suffix}` });
    expect(again).toMatchObject({ started: false, activeRun: { runId: result.runId }, queued: result.clusters, discoveryErrors: [] });
    await drainAsWorker();
    expect(denialsSince(before)).toEqual([]);
    runId = result.runId;
  });

  it('the worker answers the workflow: a ring cluster and a ring gate (Qualys check-in) get their SendTaskSuccess', async () => {
    const before = gate.denials.length;
    const qualysBefore = qualys.fake.requests.length;
    const answersBefore = sandbox.front.count('states', 'SendTaskSuccess') + sandbox.front.count('states', 'SendTaskFailure');
    const sqs = new SQSClient({ region, endpoint: sandbox.aws.endpoint, credentials: workflow });
    const cluster = `aws-ecs:${ACCOUNT}:${region}:iam-ecs-${suffix}`;
    // what the workflow's Reconcile and Gate tasks send (serverless.yml RolloutStateMachine), signed with its role
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: work.url,
        MessageGroupId: cluster,
        MessageDeduplicationId: `ring-${suffix}`,
        MessageBody: JSON.stringify({ id: `rollout-${runId}-${suffix}`, time: new Date().toISOString(), kind: 'reconcile-requested', cluster, source: 'sensorfleet.rollout', detail: { run: { id: runId, ring: 0, taskToken: `token-ring-${suffix}` } } }),
      }),
    );
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: work.url,
        MessageGroupId: `rollout#${runId}`,
        MessageDeduplicationId: `gate-${suffix}`,
        MessageBody: JSON.stringify({ type: 'rollout-gate', runId, ring: 0, taskToken: `token-gate-${suffix}` }),
      }),
    );
    sqs.destroy();
    await drainAsWorker();
    const answers = sandbox.front.log.filter((l) => l.service === 'states' && /^SendTask(Success|Failure)$/.test(l.operation));
    expect(answers.slice(-2).map((l) => l.status)).toEqual([200, 200]);
    expect(sandbox.front.count('states', 'SendTaskSuccess') + sandbox.front.count('states', 'SendTaskFailure')).toBe(answersBefore + 2);
    // the gate's check-in question reached the CS API: the worker read the API credentials secret
    expect(qualys.fake.requests.slice(qualysBefore).some((r) => r.path.startsWith('/csapi/'))).toBe(true);
    expect(denialsSince(before)).toEqual([]);
  });

  it('the worker records a finished run and writes its report to the reports bucket (s3:PutObject under reports/, exact ARN)', async () => {
    const before = gate.denials.length;
    const sqs = new SQSClient({ region, endpoint: sandbox.aws.endpoint, credentials: workflow });
    await sqs.send(new SendMessageCommand({ QueueUrl: work.url, MessageGroupId: `rollout#${runId}`, MessageDeduplicationId: `finished-${suffix}`, MessageBody: JSON.stringify({ type: 'rollout-finished', runId }) }));
    sqs.destroy();
    await drainAsWorker();
    expect((await new DynamoDbRolloutStore(stack.tables.FleetTable!.name, region).getRun(runId))?.status).toBe('succeeded');
    const report = await restCall({ endpoint: sandbox.aws.endpoint, method: 'GET', path: `/${reportsBucket}/reports/runs/${runId}/succeeded.json`, service: 's3', region: 'us-east-1', creds: moto.admins.get(ACCOUNT)!.credentials });
    expect(report.status).toBe(200);
    expect(JSON.parse(report.body)).toMatchObject({ run: { runId, status: 'succeeded' } });
    expect(denialsSince(before)).toEqual([]);
  });

  it('qualys-hygiene reads the CS API secret, a registry credential secret and the inventory', async () => {
    const before = gate.denials.length;
    qualys.fake.seedSensors(2, { status: 'UNKNOWN', lastCheckedInDaysAgo: 45, hostnamePrefix: `gone-${suffix}` });
    const report = await invoke('qualys-hygiene', {});
    expect(report.errors).toEqual([]);
    expect(report.registriesCreated).toBe(1);
    expect(report.staleDeleted).toBe(2);
    expect([...qualys.fake.registries.values()].map((r) => r.registryUri)).toContain('https://registry.iam.example.test');
    expect(denialsSince(before)).toEqual([]);
  });
});

describe('a missing permission fails', () => {
  it(`the worker without ${'eks:DescribeCluster'} cannot enroll an EKS cluster: moto answers 403, nothing is written to the cluster, the item is dead-lettered`, async () => {
    const before = gate.denials.length;
    const name = `iam-denied-${suffix}`;
    const eks = await sandbox.fleet.createEksCluster({ name, nodes: [{ name: 'd1' }] });
    await invoke('on-aws-event', eksCreateCluster({ account: ACCOUNT, region }, name));
    const creds = workerWithout.credentials;
    await as('reconcile-worker', creds, () => mappingFor(workerWithout.handler, creds).drain(120_000));

    const denied = denialsSince(before);
    expect(denied.length).toBeGreaterThan(0);
    expect(denied.map((d) => d.service)).toEqual(denied.map(() => 'eks'));
    for (const d of denied) expect(d.body).toContain(`is not authorized to perform: ${workerWithout.action}`);
    // the SDK reads moto's XML denial of a JSON API as a deserialization error (toolchain.md §7): HTTP 403 underneath
    const records = await store.listReconciles(eks.ref, 10);
    expect(records.length).toBeGreaterThan(0);
    for (const r of records) expect({ outcome: r.outcome, writes: r.changed.writes, message: r.message }).toMatchObject({ outcome: 'failed', writes: 0, message: expect.stringMatching(/Deserialization error/) });
    expect(sandbox.front.log.filter((l) => l.service === 'eks' && l.operation === 'DescribeCluster' && l.status === 403).length).toBe(denied.length);
    const kube = sandbox.kubeClusterFor(eks.ref)!;
    expect(kube.requests).toEqual([]);
    expect(kube.get('apps/v1', 'DaemonSet', 'qualys-sensor', 'qualys-container-sensor')).toBeUndefined();
    // the worker's own DLQ send (sqs:SendMessage on the DLQ's exact ARN) carries the reason
    const dead = await dlqMessages();
    expect(dead.some((m) => m.body.includes(eks.ref) && /failed after 3 attempts/.test(m.reason ?? ''))).toBe(true);
  });

  it('SQS resources are checked exactly: redeploy allowed to send only to the DLQ queues nothing', async () => {
    const role = roles.get('redeploy')!;
    const roleName = `${stage}-${role.logicalId}`;
    const elsewhere = allStatements(role).map((st) => (st.Action.includes('sqs:SendMessage') ? { ...st, Resource: [dlq.arn] } : st));
    const pendingBefore = await pendingWork();
    const before = gate.denials.length;
    await putPolicy(admin, roleName, elsewhere);
    try {
      const answer = await invoke('redeploy', { cluster: `aws-ecs:${ACCOUNT}:${region}:iam-ecs-${suffix}`, action: 'restart', reason: 'INC-7 denied', requestedBy: 'iam-test' });
      expect(answer.ok).toBe(false);
      expect(answer.failed).toHaveLength(1);
    } finally {
      await putPolicy(admin, roleName, allStatements(role));
    }
    const denied = denialsSince(before);
    expect(denied.length).toBeGreaterThan(0);
    for (const d of denied) expect(d.body).toMatch(/is not authorized to perform: sqs:SendMessage/);
    expect(await pendingWork()).toBe(pendingBefore);
  });

  // last: this nightly queues drift items of the own account that nobody drains afterwards
  it('sts:AssumeRole is scoped to the target accounts: nightly deployed for another account cannot reach the member account', async () => {
    const before = gate.denials.length;
    const result = await as('nightly', nightlyElsewhere.credentials, () => nightlyElsewhere.handler({ id: `nightly-elsewhere-${suffix}` }, lambdaContext('nightly')));
    const failedScopes = (result.discoveryErrors as { scope?: string; location?: string; error?: string; message?: string }[]).map((e) => JSON.stringify(e));
    expect(failedScopes.length).toBeGreaterThan(0);
    for (const e of failedScopes) expect(e).toContain(MEMBER);
    const denied = denialsSince(before);
    expect(denied.length).toBeGreaterThan(0);
    for (const d of denied) expect(d.body).toMatch(/is not authorized to perform: sts:AssumeRole/);
    // its own account is discovered as before
    expect(result.clusters).toBeGreaterThanOrEqual(2);
  });
});

async function dlqMessages(): Promise<{ body: string; reason?: string }[]> {
  const sqs = new SQSClient({ region, endpoint: sandbox.aws.endpoint, credentials: sandbox.aws.credentials });
  const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlq.url, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'], VisibilityTimeout: 0 }));
  sqs.destroy();
  return (out.Messages ?? []).map((m) => ({ body: m.Body ?? '', reason: m.MessageAttributes?.reason?.StringValue }));
}

async function pendingWork(): Promise<number> {
  const sqs = new SQSClient({ region, endpoint: sandbox.aws.endpoint, credentials: sandbox.aws.credentials });
  const n = await new SqsEventSourceMapping(sqs, work.url, work.arn, async () => undefined, { region }).pending();
  sqs.destroy();
  return n;
}
