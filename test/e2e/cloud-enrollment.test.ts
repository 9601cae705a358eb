import { randomBytes, randomUUID } from 'node:crypto';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { ReceiveMessageCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ClusterEvent } from '../../shared/domain/cluster-event';
import { resetAwsClients } from '../../shared/platforms/aws/clients';
import { DynamoDbFleetStore } from '../../shared/state/dynamodb-store';
import { startSandbox, type CloudSandbox } from '../sandbox/index';
import { SqsEventSourceMapping, type SqsHandler } from '../sandbox/lambda-runner';
import { deployStackResources } from '../sandbox/stack';
import { importBundledHandler } from '../support/bundle';

/**
 * End to end for AKS and GKE: the bundled reconcile-worker (its Azure and Google code in import()
 * chunks) takes cluster work items from the FIFO queue in moto, runs as the function role, exchanges
 * the role's outbound-federation JWT at the sandbox Entra ID and Google STS, and enrolls the clusters
 * through the sandbox ARM and GKE APIs and their Kubernetes API servers.
 */
const VERSION = '1.34.1-0';
const PROJECT = 'e2e-gke-project';
const suffix = randomBytes(3).toString('hex');
let sandbox: CloudSandbox;
let restoreEnv: () => void;
let mapping: SqsEventSourceMapping;
let sqs: SQSClient;
let store: DynamoDbFleetStore;
let workUrl: string;
let dlqUrl: string;

beforeAll(async () => {
  sandbox = await startSandbox({ motoUrl: inject('motoUrl'), region: 'ap-southeast-2', clouds: true });
  restoreEnv = sandbox.useAwsEnv();
  const stack = await deployStackResources({ stage: `e2ec${suffix}`, ...sandbox.aws });
  const queues = Object.values(stack.queues);
  const work = queues.find((q) => !/dlq|dead/i.test(q.name))!;
  workUrl = work.url;
  dlqUrl = queues.find((q) => /dlq|dead/i.test(q.name))!.url;
  const table = Object.values(stack.tables)[0]!.name;
  await sandbox.fleet.putActivationSecret();

  // the worker runs as its Lambda role: an assumed-role session, the subject Entra and GCP trust
  const roleArn = `arn:aws:iam::${sandbox.aws.accountId}:role/sensorfleet-reconcile-worker`;
  const sts = new STSClient({ endpoint: sandbox.aws.endpoint, region: sandbox.aws.region, credentials: sandbox.aws.credentials });
  const c = (await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: `worker-${suffix}` }))).Credentials!;
  sts.destroy();
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: c.AccessKeyId!, AWS_SECRET_ACCESS_KEY: c.SecretAccessKey!, AWS_SESSION_TOKEN: c.SessionToken! });
  resetAwsClients();
  const app = sandbox.azure.registerApp({ awsAccount: sandbox.aws.accountId, subject: roleArn });

  Object.assign(process.env, {
    SENSORFLEET_TABLE: table,
    SENSORFLEET_IDEMPOTENCY_TABLE: stack.tables.IdempotencyTable!.name,
    SENSORFLEET_QUEUE_URL: work.url,
    SENSORFLEET_DLQ_URL: dlqUrl,
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
    SENSORFLEET_CONFIG: JSON.stringify({
      sensor: { version: VERSION },
      targets: { azure: [sandbox.azure.targetConfig(app)], gcp: [sandbox.gcp.target(PROJECT, { projectNumber: '318274650923' })] },
      rollout: { deadlineSeconds: 20, pollSeconds: 0.2, readinessPollSeconds: 1, readinessDeadlineSeconds: 120, maxAttempts: 3, retryBackoffSeconds: 1 },
    }),
  });
  const worker = await importBundledHandler<SqsHandler>('functions/reconcile-worker.ts');
  sqs = new SQSClient({ region: sandbox.aws.region, endpoint: sandbox.aws.endpoint, credentials: sandbox.aws.credentials });
  mapping = new SqsEventSourceMapping(sqs, work.url, work.arn, worker, { region: sandbox.aws.region });
  store = new DynamoDbFleetStore(table, sandbox.aws.region);
}, 180_000);

afterAll(async () => {
  restoreEnv?.();
  resetAwsClients();
  await sandbox?.stop();
});

function item(cluster: string, kind: ClusterEvent['kind'] = 'cluster-created'): ClusterEvent {
  return { id: `e2e:${kind}:${randomUUID()}`, time: new Date().toISOString(), kind, cluster, source: 'e2e', detail: {} };
}

async function enqueue(items: ClusterEvent[]): Promise<void> {
  const out = await sqs.send(
    new SendMessageBatchCommand({
      QueueUrl: workUrl,
      Entries: items.map((e, i) => ({ Id: String(i), MessageBody: JSON.stringify(e), MessageGroupId: e.cluster, MessageDeduplicationId: e.id })),
    }),
  );
  expect(out.Failed ?? []).toEqual([]);
  await mapping.drain(120_000);
}

async function writesSince(ref: string, since: string): Promise<number> {
  return (await store.listReconciles(ref, 50)).filter((r) => r.startedAt >= since).reduce((n, r) => n + r.changed.writes, 0);
}

describe('the bundled worker enrolls AKS and GKE clusters from queue work items', () => {
  it('an Entra-integrated AKS cluster still Creating and a GKE Standard cluster reach full coverage; again: nothing written', async () => {
    const gke = await sandbox.gcp.fleet.createGkeCluster({
      projectId: PROJECT,
      projectNumber: '318274650923',
      location: 'europe-west4',
      name: `gke-e2e-${suffix}`,
      nodePools: [{ name: 'default-pool', nodeCount: 2 }, { name: 'arm', nodeCount: 1, arch: 'arm64' }],
    });
    const aks = await sandbox.azure.fleet.createAksCluster({
      resourceGroup: `rg-e2e-${suffix}`,
      name: 'aks-e2e',
      mode: 'entra',
      // Creating until the worker has been seen waiting on it (then ARM finishes), however loaded the machine
      creatingForMs: 600_000,
      nodePools: [{ name: 'system', count: 2 }, { name: 'win', count: 1, osType: 'Windows' }],
    });
    const finishCreating = (async () => {
      const end = Date.now() + 120_000;
      while (Date.now() < end && !(await store.listReconciles(aks.ref, 5)).some((r) => r.outcome === 'not-ready')) await new Promise((r) => setTimeout(r, 200));
      sandbox.azure.fleet.record(aks.ref)!.schedule({ at: Date.now(), provisioningState: 'Succeeded', powerState: 'Running' });
    })();
    await enqueue([item(aks.ref), item(gke.ref)]);
    await finishCreating;

    const aksItem = await store.getCluster(aks.ref);
    expect(aksItem?.outcome, aksItem?.message).toBe('converged');
    expect(aksItem!.nodes).toEqual({ covered: 2, total: 2 });
    expect(aksItem!.outOfScope).toEqual([{ node: expect.any(String), reason: expect.stringContaining('windows') }]);
    expect(aksItem!.sensorVersion).toBe(VERSION);
    const waits = (await store.listReconciles(aks.ref, 50)).filter((r) => r.outcome === 'not-ready');
    expect(waits.length).toBeGreaterThan(0);
    expect(waits[0]!.observed.status).toMatch(/^Creating/);

    const gkeItem = await store.getCluster(gke.ref);
    expect(gkeItem?.outcome, gkeItem?.message).toBe('converged');
    expect(gkeItem!.nodes).toEqual({ covered: 3, total: 3 });

    // the pods really run on every Linux node of each virtual cluster
    for (const ref of [aks.ref, gke.ref]) {
      const kube = ref.startsWith('azure') ? sandbox.azure.fleet.kubeCluster(ref)! : sandbox.gcp.fleet.kubeCluster(ref)!;
      const pods = kube.list('v1', 'Pod', 'qualys-sensor').filter((p: any) => p.status?.phase === 'Running');
      expect(pods.length, ref).toBe(ref === aks.ref ? 2 : 3);
    }

    const since = new Date().toISOString();
    await enqueue([item(aks.ref, 'reconcile-requested'), item(gke.ref, 'reconcile-requested')]);
    expect((await store.getCluster(aks.ref))!.outcome).toBe('in-sync');
    expect((await store.getCluster(gke.ref))!.outcome).toBe('in-sync');
    expect(await writesSince(aks.ref, since)).toBe(0);
    expect(await writesSince(gke.ref, since)).toBe(0);
  });

  it('a GKE Autopilot cluster without the allowlist is recorded as skipped with the reason, once, and nothing reaches the DLQ', async () => {
    const auto = await sandbox.gcp.fleet.createGkeCluster({ projectId: PROJECT, projectNumber: '318274650923', location: 'us-east4', name: `auto-e2e-${suffix}`, autopilot: true, nodePools: [] });
    await enqueue([item(auto.ref)]);
    const records = await store.listReconciles(auto.ref, 10);
    expect(records).toHaveLength(1);
    expect(records[0]!.outcome).toBe('skipped');
    expect(records[0]!.message).toContain('Autopilot partner allowlist');
    expect(records[0]!.changed.writes).toBe(0);
    const dlq = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }));
    expect((dlq.Messages ?? []).filter((m) => m.Body?.includes(auto.ref))).toEqual([]);
  });
});
