/**
 * Webhook benchmark (issue 8): the bundled on-webhook handler, invoked as Lambda invokes it (a Function
 * URL event), N deliveries of each kind, against moto's SQS and the sandbox's Entra and Google keys
 * (JWKS fetched once, then cached, as in a warm function). Prints the handler time per delivery,
 * median and p99:
 *  - Pub/Sub push of a GKE audit entry that is done -> OIDC verified, normalised, queued (one SendMessageBatch);
 *  - the same entry's first half (operation started) -> verified, acknowledged and ignored (no queue call);
 *  - Event Grid delivery of an AKS ResourceWriteSuccess -> Entra token verified, queued;
 *  - Event Grid delivery with a forged token -> refused 401.
 * Run: node bin/run-ts.mjs scripts/bench-webhook.ts [N]   (default 300)
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { resetAwsClients } from '../shared/platforms/aws/clients';
import { startMoto } from '../test/sandbox/aws/moto';
import { SandboxEntra } from '../test/sandbox/azure/entra';
import { resourceEvent } from '../test/sandbox/eventgrid/arm-events';
import { SandboxEventGrid } from '../test/sandbox/eventgrid/event-grid';
import { lambdaContext } from '../test/sandbox/lambda-runner';
import { gkeAuditEntry } from '../test/sandbox/pubsub/audit-log';
import { SandboxGoogleKeys } from '../test/sandbox/pubsub/google-keys';
import { SandboxPubSub } from '../test/sandbox/pubsub/pubsub';
import { deployStackResources } from '../test/sandbox/stack';
import { spawnSync } from 'node:child_process';
import { sandboxCa } from '../test/sandbox/kube/tls';
import { importBundledHandler } from '../test/support/bundle';

type Handler = (event: unknown, context: unknown) => Promise<{ statusCode: number }>;
const N = Number(process.argv[2] ?? 300);
const region = 'us-east-2';
const PUSH_SA = 'sensorfleet-push@sensorfleet-host.iam.gserviceaccount.com';
const AUDIENCE = 'https://bench.example/gcp/pubsub';
const WEBHOOK_URI = 'api://sensorfleet-webhook';

function urlEvent(path: string, headers: Record<string, string>, body: string): Record<string, unknown> {
  return { version: '2.0', routeKey: '$default', rawPath: path, rawQueryString: '', headers, requestContext: { http: { method: 'POST', path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'bench' }, requestId: randomUUID(), timeEpoch: Date.now() }, body, isBase64Encoded: false };
}

function stats(ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
  return `median ${at(0.5).toFixed(2)} ms, p99 ${at(0.99).toFixed(2)} ms, max ${s.at(-1)!.toFixed(2)} ms`;
}

async function main(): Promise<void> {
  const moto = await startMoto();
  const entra = await SandboxEntra.start();
  const google = await SandboxGoogleKeys.start();
  try {
    Object.assign(process.env, { AWS_ENDPOINT_URL: moto.url, AWS_REGION: region, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });
    const stack = await deployStackResources({ stage: `bench${randomBytes(2).toString('hex')}`, region, accountId: '123456789012', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, endpoint: moto.url });
    const tenant = randomUUID();
    const subscription = randomUUID();
    entra.addTenant(tenant);
    const grid = new SandboxEventGrid(entra);
    grid.enableEntraDelivery(tenant, { identifiers: [WEBHOOK_URI] });
    process.env.SENSORFLEET_QUEUE_URL = Object.values(stack.queues).find((q) => q.name.endsWith('-work.fifo'))!.url;
    process.env.SENSORFLEET_CONFIG = JSON.stringify({
      targets: {
        azure: [{ tenantId: tenant, subscriptionId: subscription, clientId: randomUUID(), endpoints: { resourceManager: 'https://127.0.0.1:9', authorityHost: entra.url } }],
        gcp: [{ projectId: 'bench-project', auth: { method: 'credential-file', secretId: 'sensorfleet/cloud/x' } }],
      },
      webhooks: { eventGrid: { auth: { method: 'entra', tenantId: tenant, audiences: [WEBHOOK_URI], authorityHost: entra.url } }, pubsub: { jwksUrl: google.jwksUrl, audience: AUDIENCE, serviceAccountEmail: PUSH_SA } },
    });
    resetAwsClients();
    const handler = await importBundledHandler<Handler>('functions/on-webhook.ts');
    const context = lambdaContext('on-webhook');
    // an Entra token as Event Grid gets it (cached by Event Grid for its lifetime), a push token per delivery as Pub/Sub makes them
    const entraToken = await (grid as unknown as { entraToken(t: string, r: string): Promise<string> }).entraToken(tenant, WEBHOOK_URI);
    const forged = `${Buffer.from(JSON.stringify({ alg: 'RS256', kid: 'x', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify({ aud: WEBHOOK_URI })).toString('base64url')}.c2ln`;

    const kinds: Record<string, (i: number) => Promise<Record<string, unknown>>> = {
      'Pub/Sub push, audit entry done -> queued': async (i) => {
        const entry = gkeAuditEntry({ method: 'CreateCluster', phase: 'last', operation: `operation-${i}`, operationType: 'CREATE_CLUSTER', cluster: { projectId: 'bench-project', projectNumber: '111111111111', location: 'us-east1', name: `c${i}` } });
        const body = SandboxPubSub.pushBody('projects/h/subscriptions/s', { messageId: String(1e12 + i), publishTime: new Date().toISOString(), data: Buffer.from(JSON.stringify(entry)).toString('base64'), attributes: {} });
        return urlEvent('/gcp/pubsub', { 'content-type': 'application/json', authorization: `Bearer ${await google.idToken({ audience: AUDIENCE, email: PUSH_SA })}` }, JSON.stringify(body));
      },
      'Pub/Sub push, operation started -> ignored': async (i) => {
        const entry = gkeAuditEntry({ method: 'CreateCluster', phase: 'first', operation: `operation-f${i}`, operationType: 'CREATE_CLUSTER', cluster: { projectId: 'bench-project', projectNumber: '111111111111', location: 'us-east1', name: `f${i}` } });
        const body = SandboxPubSub.pushBody('projects/h/subscriptions/s', { messageId: String(2e12 + i), publishTime: new Date().toISOString(), data: Buffer.from(JSON.stringify(entry)).toString('base64'), attributes: {} });
        return urlEvent('/gcp/pubsub', { 'content-type': 'application/json', authorization: `Bearer ${await google.idToken({ audience: AUDIENCE, email: PUSH_SA })}` }, JSON.stringify(body));
      },
      'Event Grid (Entra), AKS write -> queued': async (i) => {
        const e = resourceEvent({ kind: 'write', resourceId: `/subscriptions/${subscription}/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks-${i}`, operationName: 'Microsoft.ContainerService/managedClusters/write' }, { subscriptionId: subscription, tenantId: tenant });
        return urlEvent('/azure/event-grid', { 'content-type': 'application/json', 'aeg-event-type': 'Notification', authorization: `Bearer ${entraToken}` }, JSON.stringify([e]));
      },
      'Event Grid, forged token -> 401': async (i) => {
        const e = resourceEvent({ kind: 'write', resourceId: `/subscriptions/${subscription}/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/x-${i}`, operationName: 'Microsoft.ContainerService/managedClusters/write' }, { subscriptionId: subscription, tenantId: tenant });
        return urlEvent('/azure/event-grid', { 'content-type': 'application/json', authorization: `Bearer ${forged}` }, JSON.stringify([e]));
      },
    };
    console.log(`on-webhook (bundled), ${N} deliveries each, handler time per delivery:`);
    for (const [name, make] of Object.entries(kinds)) {
      // warm-up: the first call fetches the JWKS and opens the SQS connection
      await handler(await make(-1), context);
      const times: number[] = [];
      const statuses = new Map<number, number>();
      for (let i = 0; i < N; i++) {
        const event = await make(i);
        const t0 = performance.now();
        const out = await handler(event, context);
        times.push(performance.now() - t0);
        statuses.set(out.statusCode, (statuses.get(out.statusCode) ?? 0) + 1);
      }
      console.log(`  ${name.padEnd(42)} ${stats(times)}   (status ${[...statuses].map(([s, n]) => `${s}×${n}`).join(', ')})`);
    }
  } finally {
    await google.stop();
    await entra.stop();
    await moto.stop();
  }
}

// Node reads NODE_EXTRA_CA_CERTS at start: run again trusting the sandbox CA (the JWKS endpoints are HTTPS)
if (process.env.NODE_EXTRA_CA_CERTS !== sandboxCa().file) {
  const r = spawnSync(process.execPath, ['bin/run-ts.mjs', 'scripts/bench-webhook.ts', ...process.argv.slice(2)], { stdio: 'inherit', env: { ...process.env, NODE_EXTRA_CA_CERTS: sandboxCa().file } });
  process.exit(r.status ?? 1);
}
await main();
