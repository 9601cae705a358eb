import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { resetAwsClients } from '../../shared/platforms/aws/clients';
import { publishRunReport } from '../../shared/report/publish';
import type { RunReport } from '../../shared/report/model';
import { DynamoDbFleetStore } from '../../shared/state/dynamodb-store';
import type { RunRecord } from '../../shared/state/rollout-records';
import { DynamoDbRolloutStore } from '../../shared/state/rollout-store';
import { startSandbox, type Sandbox } from '../sandbox/index';
import { deployStackResources } from '../sandbox/stack';
import { runCli } from '../support/run-cli';

/**
 * Run reports in a deployment: S3 (moto, through the sandbox's AWS front), the bucket the worker's
 * environment names (SENSORFLEET_REPORTS_BUCKET), one PutObject per document (the SDK's S3 client, loaded on first use), read back.
 */
const id = randomBytes(3).toString('hex');
let sandbox: Sandbox;
let restore: () => void;
let table: string;
const bucket = `sensorfleet-st${id}-reports-123456789012-eu-west-3`;
const saved = process.env.SENSORFLEET_REPORTS_BUCKET;

/** The test's own S3 reads (the product only ever puts objects). */
let s3: S3Client;
async function getObject(key: string): Promise<{ body: string; contentType: string | undefined }> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return { body: await out.Body!.transformToString(), contentType: out.ContentType };
}

beforeAll(async () => {
  sandbox = await startSandbox({ motoUrl: inject('motoUrl'), region: 'eu-west-3' });
  restore = sandbox.useAwsEnv();
  resetAwsClients();
  table = Object.values((await deployStackResources({ stage: `rs${id}`, ...sandbox.aws })).tables)[0]!.name;
  s3 = new S3Client({ region: sandbox.aws.region, endpoint: sandbox.aws.endpoint, credentials: sandbox.aws.credentials, forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: bucket, CreateBucketConfiguration: { LocationConstraint: sandbox.aws.region as never } }));
}, 120_000);

afterAll(async () => {
  if (saved === undefined) delete process.env.SENSORFLEET_REPORTS_BUCKET;
  else process.env.SENSORFLEET_REPORTS_BUCKET = saved;
  s3?.destroy();
  restore?.();
  await sandbox?.stop();
});

describe('run report to S3', () => {
  it('writes reports/runs/<run>/<status>.json and .html into the bucket; both read back', async () => {
    const rollouts = new DynamoDbRolloutStore(table, sandbox.aws.region);
    const runId = `run-s3-${id}`;
    const cluster = `aws-eks:${sandbox.aws.accountId}:eu-west-3:<b>s3-${id}</b>`;
    const at = new Date().toISOString();
    await rollouts.putChunks([{ runId, ring: 0, chunk: 0, clusters: [cluster] }]);
    const run: RunRecord = {
      runId,
      status: 'halted',
      targetVersion: '1.35.0-0',
      trigger: { source: 'nightly' },
      startedAt: at,
      updatedAt: at,
      rings: [{ ring: 0, name: 'canary', gate: true, size: 1, chunks: 1 }],
      gates: { '0': { verdict: 'fail', reason: `${cluster}: runs 1.34.1-0, not 1.35.0-0`, at } },
      halt: { ring: 0, reason: 'ring 0 (canary) failed its gate', at, taskToken: 'token-never-in-a-report' },
      history: [{ at, event: 'started by nightly' }],
    };
    await rollouts.createRun(run);

    process.env.SENSORFLEET_REPORTS_BUCKET = bucket;
    const out = await publishRunReport(rollouts, runId, { fleet: new DynamoDbFleetStore(table, sandbox.aws.region) });
    expect(out.written, out.written ? '' : out.reason).toBe(true);
    if (!out.written) return;
    expect(out.at).toEqual({ json: `s3://${bucket}/reports/runs/${runId}/halted.json`, html: `s3://${bucket}/reports/runs/${runId}/halted.html` });

    const json = await getObject(`reports/runs/${runId}/halted.json`);
    expect(json.contentType).toBe('application/json');
    const report = JSON.parse(json.body) as RunReport;
    expect(report.run).toMatchObject({ runId, status: 'halted', halt: { ring: 0, reason: 'ring 0 (canary) failed its gate' } });
    expect(report.attention.map((a) => [a.cluster, a.reasons])).toEqual([[cluster, ['never recorded: no reconcile of this cluster is in the fleet table', 'ring 0 gate failed: runs 1.34.1-0, not 1.35.0-0']]]);

    const html = await getObject(`reports/runs/${runId}/halted.html`);
    expect(html.contentType).toBe('text/html; charset=utf-8');
    expect(html.body).toContain(`&lt;b&gt;s3-${id}&lt;/b&gt;`);
    expect(html.body).not.toContain(`<b>s3-${id}`);
    expect(json.body + html.body).not.toContain('token-never-in-a-report');
  });

  it('sensorfleet report RUN writes the same two files to --dir; --json prints the report; an unknown run is exit 1', async () => {
    Object.assign(process.env, { SENSORFLEET_CONFIG: JSON.stringify({ state: { tableName: table } }), SENSORFLEET_TABLE: table });
    const dir = mkdtempSync(join(tmpdir(), 'report-cli-'));
    const r = await runCli(['report', `run-s3-${id}`, '--dir', dir]);
    expect(r.code, r.err).toBe(0);
    const html = join(dir, 'runs', `run-s3-${id}`, 'halted.html');
    expect(r.out.split('\n')).toEqual([`run run-s3-${id} (halted): 0/0 nodes covered (100%), 1 cluster(s) need attention`, `  ${join(dir, 'runs', `run-s3-${id}`, 'halted.json')}`, `  ${html}`, '']);
    expect(readFileSync(html, 'utf8')).toContain('<svg id="coverage-chart"');
    const json = await runCli(['report', '--json']);
    expect(json.code, json.err).toBe(0);
    expect((JSON.parse(json.out) as RunReport).run.runId).toBe(`run-s3-${id}`);
    const missing = await runCli(['report', 'run-nope']);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('run-nope');
  });

  it('a bucket that does not exist: the report is not written, the reason says where, nothing throws', async () => {
    process.env.SENSORFLEET_REPORTS_BUCKET = `${bucket}-missing`;
    const rollouts = new DynamoDbRolloutStore(table, sandbox.aws.region);
    const out = await publishRunReport(rollouts, `run-s3-${id}`, { fleet: new DynamoDbFleetStore(table, sandbox.aws.region) });
    expect(out.written).toBe(false);
    if (out.written) return;
    expect(out.reason).toContain(`S3 PutObject s3://${bucket}-missing/reports/runs/run-s3-${id}/halted.`);
    expect(out.reason).toContain('NoSuchBucket');
    expect(out.report?.run.status).toBe('halted');
  });
});
