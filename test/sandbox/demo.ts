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
  wallTimeMs: number;
}

const SENSOR_VERSION = '1.34.1-0';

export async function runDemo(opts: { log: (line: string) => void }): Promise<DemoReport> {
  const started = Date.now();
  const log = opts.log;
  log('starting the sandbox: moto_server, AWS front, ECS scheduler simulator, Kubernetes API server …');
  const sandbox = await startSandbox();
  const restoreEnv = sandbox.useAwsEnv();
  const savedEnv = { ...process.env };
  let stopQualys: (() => Promise<void>) | undefined;
  try {
    resetAwsClients();
    const w = { account: sandbox.aws.accountId, region: sandbox.aws.region };
    const stack = await deployStackResources({ stage: 'sandbox', ...sandbox.aws });
    const workQueue = Object.values(stack.queues).find((q) => q.name.endsWith('work.fifo') || (!q.name.includes('dlq') && q.name.endsWith('.fifo')))!;
    const dlq = Object.values(stack.queues).find((q) => q !== workQueue)!;
    const table = Object.values(stack.tables)[0]!;
    configureFunctions({ table: table.name, queueUrl: workQueue.url, dlqUrl: dlq.url, accountId: w.account, region: w.region });
    await sandbox.fleet.putActivationSecret();
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

    await step('scale-out', 'payments-ecs gets 2 container instances, web-eks gets 2 nodes; node events -> coverage verified', async () => {
      const instances = await sandbox.fleet.addEcsInstances(ecsA.ref, 2);
      await sandbox.fleet.addEksNodes(eksA.ref, [{ name: 'web-3' }, { name: 'web-4' }]);
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

    const clusters = await fleetRows(store);
    const converged = [ecsA, ecsB, eksA, eksB].every((c) => {
      const row = clusters.find((r) => r.cluster === c.ref);
      return row && row.nodes.total > 0 && row.nodes.covered === row.nodes.total && row.sensorVersion === SENSOR_VERSION;
    });
    const ok =
      converged &&
      steps.at(-1)!.writes === 0 &&
      staleGone &&
      qualysReport.nonUnknownDeleteAttempts === 0 &&
      qualysReport.secondSyncWrites === 0 &&
      first.errors.length === 0 &&
      second.errors.length === 0;
    log(`\n${ok ? 'fleet converged; the second reconcile and the second Qualys sync wrote nothing' : 'demo did NOT converge'} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    return { ok, clusters, steps, qualys: qualysReport, wallTimeMs: Date.now() - started };
  } finally {
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

/** What serverless.yml wires into the functions' environment, pointed at the sandbox. */
function configureFunctions(o: { table: string; queueUrl: string; dlqUrl: string; accountId: string; region: string }): void {
  process.env.SENSORFLEET_TABLE = o.table;
  process.env.SENSORFLEET_QUEUE_URL = o.queueUrl;
  process.env.SENSORFLEET_DLQ_URL = o.dlqUrl;
  process.env.SENSORFLEET_CONFIG = JSON.stringify({
    sensor: { version: SENSOR_VERSION },
    targets: { aws: [{ accountId: o.accountId, regions: [o.region] }] },
    rollout: { deadlineSeconds: 60, pollSeconds: 0.2, readinessPollSeconds: 1, readinessDeadlineSeconds: 300, maxAttempts: 3, concurrency: 4 },
  });
}

