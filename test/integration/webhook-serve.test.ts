import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { closedLoopbackPort } from '../sandbox/https';
import { gkeAuditEntry } from '../sandbox/pubsub/audit-log';
import { SandboxGoogleKeys } from '../sandbox/pubsub/google-keys';
import { SandboxPubSub } from '../sandbox/pubsub/pubsub';
import { deployStackResources } from '../sandbox/stack';

/**
 * `sensorfleet webhook serve --port N`, the real command in a child process: the same handler on
 * 127.0.0.1, against the configured queue (moto), receiving a Pub/Sub push from the sandbox Pub/Sub.
 */
const region = 'ca-central-1';
const endpoint = inject('motoUrl');
const PUSH_SA = 'sensorfleet-push@sensorfleet-host.iam.gserviceaccount.com';
const AUDIENCE = 'https://tunnel.example/gcp/pubsub';
let keys: SandboxGoogleKeys;
let child: ChildProcess;
let stdout = '';
let stderr = '';
let queueUrl: string;
let url: string;

beforeAll(async () => {
  const stack = await deployStackResources({ stage: `wsv${randomBytes(3).toString('hex')}`, region, accountId: '123456789012', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, endpoint });
  queueUrl = Object.values(stack.queues).find((q) => q.name.endsWith('-work.fifo'))!.url;
  keys = await SandboxGoogleKeys.start();
  const port = await closedLoopbackPort();
  const config = { targets: { gcp: [{ projectId: 'serve-project', auth: { method: 'credential-file', secretId: 'sensorfleet/cloud/x' } }] }, webhooks: { pubsub: { jwksUrl: keys.jwksUrl, audience: AUDIENCE, serviceAccountEmail: PUSH_SA } } };
  child = spawn(process.execPath, ['bin/sensorfleet.mjs', 'webhook', 'serve', '--port', String(port)], {
    env: { ...process.env, SENSORFLEET_CLI_SOURCE: '1', SENSORFLEET_CONFIG: JSON.stringify(config), SENSORFLEET_QUEUE_URL: queueUrl, AWS_ENDPOINT_URL: endpoint, AWS_REGION: region, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const end = Date.now() + 30_000;
  while (!/listening on (http:\/\/127\.0\.0\.1:\d+)/.test(stdout)) {
    if (Date.now() > end || child.exitCode !== null) throw new Error(`webhook serve did not start: ${stdout} ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)![1]!;
  expect(url).toBe(`http://127.0.0.1:${port}`);
}, 60_000);

afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGTERM');
  await keys?.stop();
});

describe('sensorfleet webhook serve', () => {
  it('answers a Pub/Sub push like the function: queued on the configured queue, one line on stderr, no token in it', async () => {
    const pubsub = new SandboxPubSub(keys);
    pubsub.createTopic('projects/sensorfleet-host/topics/gke');
    pubsub.createSubscription({ name: 'projects/sensorfleet-host/subscriptions/gke-push', topic: 'projects/sensorfleet-host/topics/gke', pushEndpoint: `${url}/gcp/pubsub`, oidcToken: { serviceAccountEmail: PUSH_SA, audience: AUDIENCE } });
    const entry = gkeAuditEntry({ method: 'CreateCluster', phase: 'last', operation: 'operation-1-serve', operationType: 'CREATE_CLUSTER', cluster: { projectId: 'serve-project', projectNumber: '123456789012', location: 'northamerica-northeast1', name: 'served' } });
    pubsub.publish('projects/sensorfleet-host/topics/gke', { data: JSON.stringify(entry) });
    await pubsub.idle();
    expect(pubsub.attempts.map((a) => a.status)).toEqual([202]);
    const sqs = new SQSClient({ region, endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }));
    sqs.destroy();
    expect((r.Messages ?? []).map((m) => JSON.parse(m.Body!).cluster)).toEqual(['gcp-gke:serve-project:northamerica-northeast1:served']);
    const unauth = await fetch(`${url}/gcp/pubsub`, { method: 'POST', headers: { authorization: 'Bearer eyJhbGciOiJub25lIn0.e30.' }, body: '{}' });
    expect(unauth.status).toBe(401);
    expect(stderr).toMatch(/POST \/gcp\/pubsub 202 queued/);
    expect(stderr).toMatch(/POST \/gcp\/pubsub 401 unauthenticated/);
    expect(stderr).not.toMatch(/eyJ/);
  });

  it('stops on SIGTERM with exit code 0', async () => {
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
