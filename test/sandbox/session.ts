/**
 * The sandbox a person uses by hand (`sensorfleet sandbox`): startSandbox() plus what a deployed stack
 * has — the stack's table and queues from serverless.yml, the activation secret, the Qualys stand-in —
 * and, with the demo fleet, its clusters. Everything another shell needs is written under one directory
 * (default .sandbox/session/, or $SENSORFLEET_SANDBOX_DIR): the kubeconfig (one context per Kubernetes
 * cluster, credentials from the exec plugin), sensorfleet.yaml (the configuration) and env.sh (the exports).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { parseConfig } from '../../shared/config/load';
import { canIssueFor, execConfig } from './exec-credential';
import { principalArn } from './aws/web-identity';
import { startSandbox, type CloudSandbox } from './index';
import { sandboxCa } from './kube/tls';
import { contextNames, writeKubeconfig, type KubeconfigCluster } from './kubeconfig';
import { startQualysSandbox, type QualysSandbox } from './qualys/fixture';
import { SANDBOX_GCP_PROJECT, SANDBOX_GCP_PROJECT_NUMBER, seedDemoFleet, seedQualysSensors, type SeededCluster } from './seed';
import { startSessionWorker, type SessionWorker } from './session-worker';
import { deployStackResources } from './stack';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const DEFAULT_SESSION_DIR = join(REPO, '.sandbox', 'session');
/** The Event Grid shared secret's id prefix (a suffix per session: moto keeps deleted secrets' names). */
export const WEBHOOK_SECRET_ID = 'sensorfleet/webhook-event-grid';

export interface SandboxSession {
  sandbox: CloudSandbox;
  qualys: QualysSandbox;
  clusters: SeededCluster[];
  /** Variable → value, in the order printed. */
  exports: Record<string, string>;
  files: { kubeconfig: string; config: string; env: string };
  /** The Secrets Manager secret Event Grid deliveries to `sensorfleet webhook serve` carry (?code=…). */
  webhookSecretId: string;
  /** Kubernetes cluster ref → kubeconfig context. */
  contexts(): Map<string, string>;
  stop(): Promise<void>;
}

export interface SessionOptions {
  fleet: 'demo' | 'empty';
  dir?: string;
  /** One line per batch the in-sandbox reconcile-worker handles (default: none). */
  log?: (line: string) => void;
  /** How kubectl runs the credential plugin; default this checkout's bin/sensorfleet.mjs with this node. */
  cli?: { node: string; bin: string };
}

export async function startSandboxSession(o: SessionOptions): Promise<SandboxSession> {
  const dir = o.dir ?? process.env.SENSORFLEET_SANDBOX_DIR ?? DEFAULT_SESSION_DIR;
  const cli = o.cli ?? { node: process.execPath, bin: join(REPO, 'bin', 'sensorfleet.mjs') };
  // Step Functions: the stack's rollout workflow runs (moto's executor), so `reconcile` of the whole fleet,
  // `rollout` and `report` work by hand as deployed
  const sandbox = await startSandbox({ clouds: true, stepFunctions: true });
  let qualys: QualysSandbox | undefined;
  let worker: SessionWorker | undefined;
  try {
    const { region, accountId, endpoint, credentials } = sandbox.aws;
    const stack = await deployStackResources({ stage: 'sandbox', region, accountId, endpoint, credentials }, join(REPO, 'serverless.yml'));
    const queues = Object.values(stack.queues);
    const work = queues.find((q) => !/dlq/i.test(q.name)) ?? queues[0]!;
    const dlq = queues.find((q) => q !== work);
    const table = Object.values(stack.tables)[0]!.name;
    const stateMachineArn = Object.values(stack.stateMachines)[0]?.arn;
    await sandbox.fleet.putActivationSecret();
    // `sensorfleet webhook serve` in the sandbox: Event Grid deliveries carry this secret (?code=…), read
    // from Secrets Manager as on-webhook reads it; Entra-token delivery needs Event Grid itself
    const webhookSecretId = `${WEBHOOK_SECRET_ID}-${randomBytes(4).toString('hex')}`;
    const sm = new SecretsManagerClient({ region, endpoint, credentials });
    await sm.send(new CreateSecretCommand({ Name: webhookSecretId, SecretString: randomBytes(24).toString('base64url') })).finally(() => sm.destroy());
    qualys = await startQualysSandbox(endpoint, { region, checkInIntervalMs: 2000 });
    qualys.fake.attachSensorEvents(sandbox.sensors);
    const clusters = o.fleet === 'demo' ? await seedDemoFleet(sandbox) : [];
    if (o.fleet === 'demo') seedQualysSensors(qualys.fake);

    // Entra and the GCP pool trust this account's outbound-federation issuer for the exported identity
    const subject = principalArn((await sandbox.front.accounts.identity(credentials.accessKeyId, region)).arn);
    const app = sandbox.azure.registerApp({ awsAccount: accountId, subject });
    const config = {
      targets: {
        aws: [{ accountId, regions: [region] }],
        azure: [sandbox.azure.targetConfig(app)],
        gcp: [sandbox.gcp.target(SANDBOX_GCP_PROJECT, { projectNumber: SANDBOX_GCP_PROJECT_NUMBER })],
      },
      state: { tableName: table },
      queue: { url: work.url, ...(dlq ? { dlqUrl: dlq.url } : {}) },
      qualys: { baseUrl: qualys.fake.url, auth: { secretId: qualys.secretId, secretRegion: region } },
      webhooks: { eventGrid: { auth: { method: 'shared-secret' as const, secretId: webhookSecretId, secretRegion: region } } },
      // the sandbox's nodes and tasks start in well under a second
      rollout: { deadlineSeconds: 120, pollSeconds: 0.5, readinessPollSeconds: 1, readinessDeadlineSeconds: 300, ...(stateMachineArn ? { stateMachineArn } : {}) },
    };
    parseConfig(config);
    mkdirSync(dir, { recursive: true });
    const files = { kubeconfig: join(dir, 'kubeconfig'), config: join(dir, 'sensorfleet.yaml'), env: join(dir, 'env.sh') };
    writeFileSync(files.config, `# sensorfleet configuration for this sandbox (sensorfleet COMMAND --config ${files.config})\n${YAML.stringify(config)}`);

    const exports: Record<string, string> = {
      AWS_ENDPOINT_URL: endpoint,
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      KUBECONFIG: files.kubeconfig,
      NODE_EXTRA_CA_CERTS: sandboxCa().file,
      SENSORFLEET_CONFIG: JSON.stringify(config),
      // what serverless.yml wires into the functions (for `sensorfleet invoke`)
      SENSORFLEET_TABLE: table,
      ...(stack.tables.IdempotencyTable ? { SENSORFLEET_IDEMPOTENCY_TABLE: stack.tables.IdempotencyTable.name } : {}),
      SENSORFLEET_QUEUE_URL: work.url,
      ...(dlq ? { SENSORFLEET_DLQ_URL: dlq.url } : {}),
      ...(stateMachineArn ? { SENSORFLEET_STATE_MACHINE_ARN: stateMachineArn } : {}),
    };
    writeFileSync(files.env, `# the sandbox's environment: source ${files.env}\n${exportLines(exports).join('\n')}\n`);

    const cloudKube = clusters.flatMap((c) => {
      const k = c.platform === 'azure-aks' ? sandbox.azure.fleet.kubeCluster(c.ref) : c.platform === 'gcp-gke' ? sandbox.gcp.fleet.kubeCluster(c.ref) : undefined;
      return k ? [{ ref: c.ref, cluster: k }] : [];
    });
    const kubeEntries = (): KubeconfigCluster[] =>
      [...sandbox.fleet.kubeClusters(), ...cloudKube]
        .filter((k) => canIssueFor(k.ref))
        .map((k) => ({ ref: k.ref, server: k.cluster.endpoint, caPem: sandbox.kube.caPem, exec: execConfig(k.ref, cli, exports) }));
    const firstKube = clusters.find((c) => canIssueFor(c.ref) && sandbox.fleet.kubeCluster(c.ref));
    const current = () => (firstKube ? contextNames(kubeEntries().map((e) => e.ref)).get(firstKube.ref) : undefined);
    const rewrite = () => writeKubeconfig(files.kubeconfig, kubeEntries(), current());
    rewrite();
    const unsubscribe = sandbox.fleet.onKubeCluster(rewrite);

    // the stack's event source mapping: what lands on the work queue is handled, as deployed
    worker = await startSessionWorker({
      repo: REPO,
      queue: work,
      region,
      endpoint,
      credentials,
      env: { ...exports, SENSORFLEET_REPORTS_DIR: join(dir, 'reports'), POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true' },
      log: o.log ?? (() => {}),
    });

    const q = qualys;
    const w = worker;
    return {
      sandbox,
      qualys: q,
      clusters,
      exports,
      files,
      webhookSecretId,
      contexts: () => contextNames(kubeEntries().map((e) => e.ref)),
      async stop() {
        unsubscribe();
        await w.stop();
        await q.stop();
        await sandbox.stop();
        rmSync(files.kubeconfig, { force: true });
        rmSync(files.env, { force: true });
      },
    };
  } catch (err) {
    await worker?.stop();
    await qualys?.stop();
    await sandbox.stop();
    throw err;
  }
}

/** POSIX shell: single quotes, with a quote inside written as '\'' */
export function shellQuote(v: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`;
}

export function exportLines(exports: Record<string, string>): string[] {
  return Object.entries(exports).map(([k, v]) => `export ${k}=${shellQuote(v)}`);
}
