import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { renderFleet, rowFromInventory, type FleetRow } from '../../shared/cli/fleet-view';
import { clusterNodesOf } from '../../shared/qualys/checkin';
import { parseConfig } from '../../shared/config/load';
import { buildAdapters, buildEngine } from '../../shared/engine/build';
import { discoverFleet } from '../../shared/engine/discover';
import { fleetWrites } from '../../shared/engine/reconcile';
import { runFleet } from '../../shared/engine/run-fleet';
import { resetAwsClients } from '../../shared/platforms/aws/clients';
import { CallCounter, countCalls } from '../../shared/runtime/call-log';
import { DynamoDbFleetStore } from '../../shared/state/dynamodb-store';
import { ecsContainerInstanceStateChange, ecsCreateCluster, eksCreateCluster, eksUpdateNodegroupConfig } from './event-factory';
import { startSandbox } from './index';
import { lambdaContext, SqsEventSourceMapping, type SqsHandler } from './lambda-runner';
import { deployStackResources } from './stack';
import { startQualysSandbox } from './qualys/fixture';
import { runQualysCheckIn, runQualysSync, type QualysSyncReport } from '../../shared/qualys/sync';
import { liveHostsFromInventory } from '../../shared/state/live-hosts';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { randomUUID } from 'node:crypto';
import type { ClusterEvent } from '../../shared/domain/cluster-event';
import { parseClusterRef } from '../../shared/domain/cluster-ref';
import { enqueueClusterEvents } from '../../shared/queue/work-queue';
import type { CloudSandbox } from './index';
import { startEventGridSandbox } from './eventgrid/index';
import { startFunctionUrl, type UrlHandler } from './function-url';
import { startAwsForwarding } from './member-account';
import { startPubSubSandbox } from './pubsub/index';
import { rolloutDemoStep, type RolloutDemoReport } from './demo-rollout';
import { join } from 'node:path';

export interface DemoStep {
  name: string;
  description: string;
  /** Mutating calls to the fleet (ECS, EKS, Kubernetes API servers) made in this step. */
  writes: number;
  durationMs: number;
  clusters: FleetRow[];
}

export interface DemoQualys {
  staleDeleted: number;
  /** Sensors that are not UNKNOWN sent for deletion: must always be 0. */
  nonUnknownDeleteAttempts: number;
  schedulesCreated: number;
  registriesCreated: number;
  /** Writes of a second sync with nothing changed in between: 0. */
  secondSyncWrites: number;
  deletionJobIds: string[];
  apiCalls: { first: number; second: number };
  /** Per cluster: nodes whose sensor checked in to Qualys, at the desired version. */
  checkIn: { cluster: string; nodes: number; checkedIn: number; neverCheckedIn: string[]; versionMismatch: number }[];
}

export interface DemoReport {
  ok: boolean;
  clusters: FleetRow[];
  steps: DemoStep[];
  qualys: DemoQualys;
  /** Version rollouts in rings (issue 7): the checks the step made, its runs and the reports they wrote. */
  rollout: RolloutDemoReport;
  /** The last run's final report (files; every report is in rollout.reports). */
  report: { json: string; html: string } | null;
  wallTimeMs: number;
}

const SENSOR_VERSION = '1.34.1-0';

export async function runDemo(opts: { log: (line: string) => void; reportsDir?: string }): Promise<DemoReport> {
  const started = Date.now();
  const log = opts.log;
  log('starting the sandbox: moto_server, AWS front, ECS scheduler simulator, Kubernetes API server, Azure Resource Manager + Entra ID, GKE API + Google STS/IAM …');
  const sandbox = await startSandbox({ clouds: true, stepFunctions: true });
  const restoreEnv = sandbox.useAwsEnv();
  const savedEnv = { ...process.env };
  let stopQualys: (() => Promise<void>) | undefined;
  let stopEventPaths: (() => Promise<void>) | undefined;
  try {
    resetAwsClients();
    const w = { account: sandbox.aws.accountId, region: sandbox.aws.region };
    const stack = await deployStackResources({ stage: 'sandbox', ...sandbox.aws });
    const workQueue = Object.values(stack.queues).find((q) => q.name.endsWith('work.fifo') || (!q.name.includes('dlq') && q.name.endsWith('.fifo')))!;
    const dlq = Object.values(stack.queues).find((q) => q !== workQueue)!;
    const table = Object.values(stack.tables)[0]!;
    const clouds = await actAsFunctionRole(sandbox);
    // the event paths of issue 8: Event Grid and Pub/Sub push to on-webhook, a member account forwarding to the control plane's bus
    const grid = startEventGridSandbox(sandbox.azure);
    const pubsub = await startPubSubSandbox(sandbox.gcp);
    const forwarding = await startAwsForwarding({ motoUrl: sandbox.motoUrl, accountId: w.account, region: w.region, stage: 'sandbox' });
    await forwarding.addMemberAccount(DEMO_MEMBER_ACCOUNT, w.region);
    const webhooks = {
      eventGrid: { auth: { method: 'entra', tenantId: sandbox.azure.tenantId, audiences: [grid.webhookApp.identifierUri], authorityHost: sandbox.azure.authorityHost } },
      pubsub: { jwksUrl: pubsub.keys.jwksUrl, audience: DEMO_PUSH_AUDIENCE, serviceAccountEmail: pubsub.pushServiceAccount },
    };
    configureFunctions({ table: table.name, idempotencyTable: stack.tables.IdempotencyTable!.name, queueUrl: workQueue.url, dlqUrl: dlq.url, accountId: w.account, region: w.region, azure: clouds.azureTarget, gcp: clouds.gcpTarget, webhooks });
    await sandbox.fleet.putActivationSecret();
    await sandbox.fleet.putActivationSecret({ accountId: DEMO_MEMBER_ACCOUNT, region: w.region });
    // The Qualys CS API fake: sensor pods and tasks register when they start (sandbox sensor events).
    const qualys = await startQualysSandbox(sandbox.aws.endpoint, { region: w.region, checkInIntervalMs: 500 });
    qualys.fake.attachSensorEvents(sandbox.sensors);
    stopQualys = () => qualys.stop();
    const stale = qualys.fake.seedSensors(6, { status: 'UNKNOWN', lastCheckedInDaysAgo: 45, hostnamePrefix: 'ip-10-9-0-' });
    qualys.fake.seedSensors(3, { status: 'UNKNOWN', lastCheckedInDaysAgo: 5, hostnamePrefix: 'ip-10-9-1-' });

    log('creating the fleet: 2 ECS clusters with container instances, 2 EKS clusters (one node tainted, one cluster still CREATING) …');
    const ecsA = await sandbox.fleet.createEcsCluster({ name: 'payments-ecs', instances: 3 });
    const ecsB = await sandbox.fleet.createEcsCluster({ name: 'batch-ecs', instances: 2 });
    const eksA = await sandbox.fleet.createEksCluster({
      name: 'web-eks',
      nodes: [{ name: 'web-1' }, { name: 'web-2' }, { name: 'web-ingress-1', taints: [{ key: 'dedicated', value: 'ingress', effect: 'NoSchedule' }] }],
    });
    const eksB = await sandbox.fleet.createEksCluster({ name: 'data-eks', nodes: [{ name: 'data-1' }, { name: 'data-2' }], creatingForMs: 4000 });

    const onAwsEvent = (await import('../../functions/on-aws-event')).handler as unknown as (e: unknown, c: Context) => Promise<unknown>;
    const webhookUrl = await startFunctionUrl((await import('../../functions/on-webhook')).handler as unknown as UrlHandler);
    stopEventPaths = async () => {
      grid.stop();
      await pubsub.stop();
      forwarding.stop();
      await webhookUrl.stop();
    };
    const egSubscription = await grid.eventGrid.createSubscription({
      name: 'sensorfleet-clusters',
      endpoint: `${webhookUrl.url}/azure/event-grid`,
      schema: 'EventGridSchema',
      entra: { tenantId: sandbox.azure.tenantId, applicationIdOrUri: grid.webhookApp.identifierUri },
      subjectContains: ['/providers/Microsoft.ContainerService/managedClusters/', '/providers/Microsoft.Compute/virtualMachineScaleSets/'],
    });
    if (egSubscription.provisioningState !== 'Succeeded') throw new Error(`Event Grid subscription: ${egSubscription.reason}`);
    pubsub.pubsub.createSubscription({ name: 'projects/sensorfleet-host/subscriptions/sensorfleet-gke-audit-push', topic: pubsub.auditTopic, pushEndpoint: `${webhookUrl.url}/gcp/pubsub`, oidcToken: { serviceAccountEmail: pubsub.pushServiceAccount, audience: DEMO_PUSH_AUDIENCE } });
    const worker = (await import('../../functions/reconcile-worker')).handler as unknown as SqsHandler;
    const sqs = new SQSClient({ region: w.region, endpoint: sandbox.aws.endpoint, credentials: sandbox.aws.credentials });
    const mapping = new SqsEventSourceMapping(sqs, workQueue.url, workQueue.arn, worker, { region: w.region, batchSize: 10 });
    const store = new DynamoDbFleetStore(table.name, w.region);
    const deliver = async (events: unknown[]) => {
      for (const e of events) await onAwsEvent(e, lambdaContext('on-aws-event'));
      await mapping.drain(180_000);
    };
    const steps: DemoStep[] = [];
    const step = async (name: string, description: string, body: () => Promise<void>) => {
      log(`\n== ${name}: ${description}`);
      const counter = new CallCounter();
      const t0 = Date.now();
      await countCalls(counter, body);
      const clusters = await fleetRows(store);
      steps.push({ name, description, writes: fleetWrites(counter), durationMs: Date.now() - t0, clusters });
      log(renderFleet(clusters, true));
      log(`writes to the fleet in this step: ${fleetWrites(counter)}`);
    };

    await step('enroll', 'cluster-created events (CloudTrail via EventBridge) -> on-aws-event -> FIFO queue -> reconcile-worker', () =>
      deliver([ecsCreateCluster(w, 'payments-ecs'), ecsCreateCluster(w, 'batch-ecs'), eksCreateCluster(w, 'web-eks'), eksCreateCluster(w, 'data-eks')]),
    );
    const waits = (await store.listReconciles(eksB.ref)).filter((r) => r.outcome === 'not-ready');
    if (waits.length) log(`data-eks was still being created: ${waits.length} attempt(s) found it ${waits[0]!.observed.status} and were retried until it was ACTIVE`);

    log('\ncreating AKS and GKE clusters: an Entra-integrated AKS cluster (system, spot and Windows pools; still Creating), an AKS cluster with local accounts, a GKE Standard cluster (x86 + Arm pools), a GKE Autopilot cluster …');
    const aksEntra = await sandbox.azure.fleet.createAksCluster({
      resourceGroup: 'rg-payments',
      name: 'payments-aks',
      mode: 'entra',
      creatingForMs: 3000,
      nodePools: [{ name: 'system', count: 2 }, { name: 'spot', count: 1, spot: true }, { name: 'win', count: 1, osType: 'Windows' }],
    });
    const aksLocal = await sandbox.azure.fleet.createAksCluster({ resourceGroup: 'rg-legacy', name: 'legacy-aks', mode: 'local', nodePools: [{ name: 'nodepool1', count: 2 }] });
    const gkeStd = await sandbox.gcp.fleet.createGkeCluster({
      projectId: DEMO_GCP_PROJECT,
      projectNumber: DEMO_GCP_PROJECT_NUMBER,
      location: 'europe-west1',
      name: 'web-gke',
      nodePools: [{ name: 'default-pool', nodeCount: 2 }, { name: 'arm-pool', nodeCount: 1, arch: 'arm64' }],
    });
    const gkeAuto = await sandbox.gcp.fleet.createGkeCluster({ projectId: DEMO_GCP_PROJECT, projectNumber: DEMO_GCP_PROJECT_NUMBER, location: 'us-central1', name: 'batch-autopilot', autopilot: true, nodePools: [] });
    const cloudRefs = [aksEntra.ref, aksLocal.ref, gkeStd.ref, gkeAuto.ref];

    await step('enroll-aks-gke', 'each cluster becoming ready -> Event Grid (AKS, Entra token) / audit log sink -> Pub/Sub push (GKE, OIDC token) -> on-webhook -> FIFO queue -> reconcile-worker', async () => {
      // no discovery: the work items come from the deliveries, as the clusters become ready
      const end = Date.now() + 120_000;
      for (;;) {
        await mapping.drain(180_000);
        const recorded = await Promise.all(cloudRefs.map((ref) => store.getCluster(ref)));
        if (recorded.every(Boolean)) break;
        if (Date.now() > end) throw new Error(`no delivery enrolled ${cloudRefs.filter((_, i) => !recorded[i]).join(', ')}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const eg = grid.eventGrid.attempts.filter((a) => a.status === 202).length;
      const ps = pubsub.pubsub.attempts.filter((a) => a.status === 202).length;
      log(`  webhook deliveries queued: ${eg} from Event Grid, ${ps} from Pub/Sub push (the audit entries of calls still running were acknowledged and ignored)`);
    });

    log(`\ncreating an EKS cluster in member account ${DEMO_MEMBER_ACCOUNT} (still CREATING); its CloudTrail event is forwarded to the control plane's bus …`);
    const eksMember = await sandbox.fleet.createEksCluster({ accountId: DEMO_MEMBER_ACCOUNT, name: 'member-eks', nodes: [{ name: 'member-1' }, { name: 'member-2' }], creatingForMs: 2000 });
    await step('enroll-member-eks', "member account's default bus -> forwarding rule -> control plane bus -> on-aws-event -> FIFO queue -> reconcile-worker (through the member's target role)", async () => {
      await forwarding.putEvent(DEMO_MEMBER_ACCOUNT, w.region, eksCreateCluster({ account: DEMO_MEMBER_ACCOUNT, region: w.region }, 'member-eks'));
      await forwarding.deliver(onAwsEvent);
      await mapping.drain(180_000);
    });
    const aksWaits = (await store.listReconciles(aksEntra.ref)).filter((r) => r.outcome === 'not-ready');
    if (aksWaits.length) log(`payments-aks was still being created: ${aksWaits.length} attempt(s) found it ${aksWaits[0]!.observed.status} and were retried until it was Succeeded/Running`);

    await step('scale-out', 'payments-ecs gets 2 container instances, web-eks 2 nodes, payments-aks and web-gke 1 node each; node events -> coverage verified', async () => {
      const instances = await sandbox.fleet.addEcsInstances(ecsA.ref, 2);
      await sandbox.fleet.addEksNodes(eksA.ref, [{ name: 'web-3' }, { name: 'web-4' }]);
      sandbox.azure.fleet.addNodes(aksEntra.ref, 'system', 1);
      sandbox.gcp.fleet.addNodes(gkeStd.ref, 'default-pool', 1);
      await enqueueClusterEvents(workQueue.url, [workItem(aksEntra.ref, 'nodes-changed', 'demo-node-pool'), workItem(gkeStd.ref, 'nodes-changed', 'demo-node-pool')]);
      await deliver([
        ...instances.map((arn, i) => ecsContainerInstanceStateChange(w, 'payments-ecs', arn, `i-new${i}`)),
        eksUpdateNodegroupConfig(w, 'web-eks', 'default', 5),
      ]);
    });

    await step('reconcile-again', 'nightly-style reconcile of every discovered cluster: nothing may be written', async () => {
      const config = parseConfig(JSON.parse(process.env.SENSORFLEET_CONFIG!));
      const adapters = buildAdapters(config);
      const discovery = await discoverFleet(config, adapters);
      const deps = await buildEngine(config, discovery.clusters, { adapters, store });
      await runFleet(deps, { clusters: discovery.clusters, trigger: { kind: 'reconcile-requested', source: 'demo' } });
    });

    log('\n== qualys-sync: registry scan schedules as declared, stale sensors purged (Qualys CS API), then the same sync again');
    const qualysConfig = qualys.config(
      {
        schedules: {
          registries: [
            {
              uri: `https://${w.account}.dkr.ecr.${w.region}.amazonaws.com`,
              type: 'AWS',
              aws: { accountId: w.account, roleArn: `arn:aws:iam::${w.account}:role/sensorfleet-qualys-registry-scan`, region: w.region },
              schedules: [
                { name: 'payments-nightly', every: 'daily', at: '02:30', timeZone: 'Europe/Berlin', repositories: [{ repo: 'payments/api' }] },
                { name: 'all-weekly', every: 'weekly', weekDay: 'SUNDAY', at: '23:00', timeZone: 'America/New_York', repositories: [{ repo: 'payments/api' }, { repo: 'web/frontend' }], forceScan: true },
              ],
            },
          ],
        },
      },
      { state: { tableName: table.name } },
    );
    const live = await liveHostsFromInventory(store);
    if (!live.ok) log(`stale purge will be skipped: ${live.reason}`);
    const hosts = live.ok ? { liveHosts: live.hosts } : {};
    const first = await runQualysSync({ config: qualysConfig, ...hosts });
    const second = await runQualysSync({ config: qualysConfig, ...hosts });
    for (const line of first.plan) log(`  ${line}`);
    log(`first sync: ${summary(first)}`);
    log(`second sync: ${summary(second)}`);
    const inventory = await store.listClusters();
    const checkIn = await runQualysCheckIn(
      qualysConfig,
      inventory.map((c) => clusterNodesOf(c.cluster, c, c.desiredVersion)),
    );
    log('sensor check-in (nodes whose sensor checked in to Qualys at the desired version):');
    for (const c of checkIn) log(`  ${c.cluster}: ${c.checkedIn}/${c.nodes} checked in${c.neverCheckedIn.length ? `; never checked in: ${c.neverCheckedIn.join(', ')}` : ''}${c.versionMismatch.length ? `; other version: ${c.versionMismatch.length}` : ''}`);
    const qualysReport: DemoQualys = {
      staleDeleted: first.staleDeleted,
      nonUnknownDeleteAttempts: first.nonUnknownDeleteAttempts + second.nonUnknownDeleteAttempts + qualys.fake.refusedSensorDeletes.length,
      schedulesCreated: first.schedulesCreated,
      registriesCreated: first.registriesCreated,
      secondSyncWrites: second.writes,
      deletionJobIds: first.deletionJobIds,
      apiCalls: { first: first.calls, second: second.calls },
      checkIn: checkIn.map((c) => ({ cluster: c.cluster, nodes: c.nodes, checkedIn: c.checkedIn, neverCheckedIn: c.neverCheckedIn, versionMismatch: c.versionMismatch.length })),
    };
    const staleGone = stale.every((sensor) => !qualys.fake.sensors.has(sensor.uuid));

    const rollout = await rolloutDemoStep({ sandbox, stack, qualys, log, reportsDir: opts.reportsDir ?? join(process.cwd(), '.sandbox', 'reports') });
    const last = rollout.reports.at(-1);
    if (last) log(`\nrun reports (JSON + self-contained HTML): ${rollout.reports.map((r) => `${r.runId} ${r.status}`).join(', ')}\n  ${last.html}`);

    const clusters = await fleetRows(store);
    const converged = [ecsA, ecsB, eksA, eksB, aksEntra, aksLocal, gkeStd, eksMember].every((c) => {
      const row = clusters.find((r) => r.cluster === c.ref);
      return row && row.nodes.total > 0 && row.nodes.covered === row.nodes.total && row.sensorVersion === SENSOR_VERSION;
    });
    const autopilot = clusters.find((r) => r.cluster === gkeAuto.ref);
    const autopilotExplained = autopilot?.status === 'skipped' && /Autopilot/.test(autopilot.message ?? '');
    if (autopilot) log(`${gkeAuto.ref}: ${autopilot.message}`);
    const ok =
      converged &&
      autopilotExplained &&
      steps.at(-1)!.writes === 0 &&
      staleGone &&
      qualysReport.nonUnknownDeleteAttempts === 0 &&
      qualysReport.secondSyncWrites === 0 &&
      rollout.ok &&
      first.errors.length === 0 &&
      second.errors.length === 0;
    log(`\n${ok ? 'fleet converged; the second reconcile and the second Qualys sync wrote nothing; the rollout went through two rings, halted on a failed gate and finished after the resume' : 'demo did NOT converge'} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    return { ok, clusters, steps, qualys: qualysReport, rollout, report: last ? { json: last.json, html: last.html } : null, wallTimeMs: Date.now() - started };
  } finally {
    await stopEventPaths?.();
    await stopQualys?.();
    process.env = savedEnv;
    restoreEnv();
    await sandbox.stop();
  }
}

function summary(r: QualysSyncReport): string {
  return `registries created ${r.registriesCreated}, schedules created ${r.schedulesCreated} updated ${r.schedulesUpdated} deleted ${r.schedulesDeleted}, stale sensors deleted ${r.staleDeleted} of ${r.staleCandidates} candidates, ${r.calls} API calls, ${r.writes} writes${r.errors.length ? `, errors: ${r.errors.join('; ')}` : ''}`;
}

async function fleetRows(store: DynamoDbFleetStore): Promise<FleetRow[]> {
  return (await store.listClusters()).map(rowFromInventory).sort((a, b) => a.cluster.localeCompare(b.cluster));
}

const DEMO_GCP_PROJECT = 'sensorfleet-demo';
const DEMO_MEMBER_ACCOUNT = '210987654321';
const DEMO_PUSH_AUDIENCE = 'https://sensorfleet-demo.example/gcp/pubsub';
const DEMO_GCP_PROJECT_NUMBER = '614082201467';
const FUNCTION_ROLE = 'sensorfleet-reconcile-worker';

/**
 * The functions run as their Lambda role: an assumed-role session, so the JWT from STS
 * GetWebIdentityToken names the role, which the Entra application's federated credential and the
 * GCP workload identity provider trust (as infra/ sets them up).
 */
async function actAsFunctionRole(sandbox: CloudSandbox): Promise<{ azureTarget: Record<string, unknown>; gcpTarget: Record<string, unknown> }> {
  const roleArn = `arn:aws:iam::${sandbox.aws.accountId}:role/${FUNCTION_ROLE}`;
  const sts = new STSClient({ endpoint: sandbox.aws.endpoint, region: sandbox.aws.region, credentials: sandbox.aws.credentials });
  const c = (await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'reconcile-worker', DurationSeconds: 3600 }))).Credentials!;
  sts.destroy();
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: c.AccessKeyId!, AWS_SECRET_ACCESS_KEY: c.SecretAccessKey!, AWS_SESSION_TOKEN: c.SessionToken! });
  resetAwsClients();
  const app = sandbox.azure.registerApp({ awsAccount: sandbox.aws.accountId, subject: roleArn });
  return { azureTarget: sandbox.azure.targetConfig(app), gcpTarget: sandbox.gcp.target(DEMO_GCP_PROJECT, { projectNumber: DEMO_GCP_PROJECT_NUMBER }) };
}

/** A work item as discovery (nightly) or a webhook would queue it. */
function workItem(ref: string, kind: ClusterEvent['kind'], source: string): ClusterEvent {
  parseClusterRef(ref);
  return { id: `${source}:${kind}:${ref}:${randomUUID()}`, time: new Date().toISOString(), kind, cluster: ref, source, detail: {} };
}

/** What serverless.yml wires into the functions' environment, pointed at the sandbox. */
function configureFunctions(o: { table: string; idempotencyTable: string; queueUrl: string; dlqUrl: string; accountId: string; region: string; azure: Record<string, unknown>; gcp: Record<string, unknown>; webhooks: Record<string, unknown> }): void {
  process.env.SENSORFLEET_TABLE = o.table;
  process.env.SENSORFLEET_IDEMPOTENCY_TABLE = o.idempotencyTable;
  process.env.SENSORFLEET_QUEUE_URL = o.queueUrl;
  process.env.SENSORFLEET_DLQ_URL = o.dlqUrl;
  process.env.SENSORFLEET_CONFIG = JSON.stringify({
    sensor: { version: SENSOR_VERSION },
    targets: {
      aws: [{ accountId: o.accountId, regions: [o.region] }, { accountId: DEMO_MEMBER_ACCOUNT, regions: [o.region], roleArn: `arn:aws:iam::${DEMO_MEMBER_ACCOUNT}:role/sensorfleet-target`, externalId: 'sensorfleet-demo' }],
      azure: [o.azure],
      gcp: [o.gcp],
    },
    webhooks: o.webhooks,
    rollout: { deadlineSeconds: 60, pollSeconds: 0.2, readinessPollSeconds: 1, readinessDeadlineSeconds: 300, maxAttempts: 3, concurrency: 4 },
  });
}

