import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SQSClient } from '@aws-sdk/client-sqs';
import { bundleFunction } from '../support/bundle';
import { SqsEventSourceMapping, type DrainResult, type SqsHandler } from './lambda-runner';

/**
 * The hand-used sandbox's reconcile-worker, as the stack's SQS event source mapping runs it: the bundled
 * worker (as `serverless package` builds it) handles what lands on the work queue — `sensorfleet redeploy`
 * without --now, `sensorfleet invoke on-aws-event`, the rollout workflow's ring items — in this process.
 * The worker reads its configuration from process.env, so `env` is set before its bundle is loaded.
 */
export interface SessionWorker {
  stop(): Promise<void>;
}

export interface SessionWorkerOptions {
  /** The checkout whose functions/ and serverless.yml are bundled. */
  repo: string;
  queue: { url: string; arn: string };
  region: string;
  endpoint: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** The environment serverless.yml gives the function (table, queues, configuration). */
  env: Record<string, string>;
  /** One line per batch handled. */
  log: (line: string) => void;
  /** How long the lane waits before it polls an empty queue again (a Lambda poller long-polls; moto answers at once). */
  idleMs?: number;
}

export async function startSessionWorker(o: SessionWorkerOptions): Promise<SessionWorker> {
  const dir = mkdtempSync(join(tmpdir(), 'sensorfleet-session-worker-'));
  // test/support/bundle.ts reads serverless.yml (custom.esbuild) from the working directory
  const cwd = process.cwd();
  process.chdir(o.repo);
  const bundle = await bundleFunction('functions/reconcile-worker.ts', dir).finally(() => process.chdir(cwd));
  Object.assign(process.env, o.env);
  const handler = ((await import(pathToFileURL(bundle.entryFile).href)) as { handler: SqsHandler }).handler;
  const sqs = new SQSClient({ region: o.region, endpoint: o.endpoint, credentials: o.credentials });
  const mapping = new SqsEventSourceMapping(sqs, o.queue.url, o.queue.arn, handler, { region: o.region, batchSize: 10 });
  let stopping = false;
  let wake: (() => void) | undefined;
  const loop = (async () => {
    while (!stopping) {
      const result: DrainResult = { invocations: 0, processed: 0, failedRecords: 0 };
      let received = 0;
      try {
        received = await mapping.pollOnce(result);
      } catch (err) {
        if (!stopping) o.log(`reconcile-worker: polling the work queue failed: ${err instanceof Error ? err.message : String(err)}`);
      }
      if (received > 0) {
        o.log(`reconcile-worker: ${received} work item(s) handled${result.failedRecords > 0 ? `, ${result.failedRecords} left on the queue for another delivery (batchItemFailures: a rollout still progressing, or a failure)` : ''}`);
        continue;
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, o.idleMs ?? 500);
      });
    }
  })();
  return {
    async stop() {
      stopping = true;
      wake?.();
      await loop;
      sqs.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
