import { randomBytes } from 'node:crypto';
import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { StatusRow } from '../../shared/cli/fleet-view';
import type { RunRecord } from '../../shared/state/rollout-records';
import { DynamoDbRolloutStore } from '../../shared/state/rollout-store';
import type { Sandbox } from '../sandbox/index';
import { deployStackResources } from '../sandbox/stack';
import { kubectlEdit, SENSOR_MEMORY_EDIT } from '../support/kubectl-edit';
import { runCli } from '../support/run-cli';
import { startTestWorld, type TestWorld } from '../support/world';

/**
 * `sensorfleet status` against the sandbox: clusters reconciled by the CLI (one with a tainted node it
 * cannot cover, one edited by hand and reverted), a rollout run in the fleet table whose first ring is
 * released; the fleet table with its columns, filters, sorting and --json.
 */
const id = randomBytes(3).toString('hex');
let world: TestWorld;
let sandbox: Sandbox;
let refs: { web: string; tainted: string; ecs: string };
let table: string;
const VERSION = '1.34.1-0';

beforeAll(async () => {
  world = await startTestWorld(inject('motoUrl'));
  ({ sandbox } = world);
  const stack = await deployStackResources({ stage: `st${id}`, ...sandbox.aws });
  table = Object.values(stack.tables)[0]!.name;
  refs = {
    web: (await sandbox.fleet.createEksCluster({ name: `st-web-${id}`, nodes: [{ name: `stw-${id}-1` }, { name: `stw-${id}-2` }] })).ref,
    tainted: (await sandbox.fleet.createEksCluster({ name: `st-gpu-${id}`, nodes: [{ name: `stg-${id}-1` }, { name: `stg-${id}-2`, taints: [{ key: 'gpu', value: 'only', effect: 'NoExecute' }] }] })).ref,
    ecs: (await sandbox.fleet.createEcsCluster({ name: `st-ecs-${id}`, instances: 2 })).ref,
  };
  const config = world.qualys.config(
    {},
    {
      // the NoExecute-tainted node is not tolerated: its cluster is degraded, one node uncovered
      sensor: { version: VERSION, tolerations: [{ operator: 'Exists', effect: 'NoSchedule' }] },
      targets: { aws: [{ accountId: sandbox.aws.accountId, regions: [sandbox.aws.region] }] },
      rollout: { deadlineSeconds: 15, pollSeconds: 0.2 },
    },
  );
  Object.assign(process.env, { SENSORFLEET_CONFIG: JSON.stringify(config), SENSORFLEET_TABLE: table });
  const r = await runCli(['reconcile', '--cluster', refs.web, '--cluster', refs.tainted, '--cluster', refs.ecs, '--force']);
  expect([0, 1]).toContain(r.code);

  // someone edits the sensor by hand; the next reconcile reverts it (drift corrected)
  await kubectlEdit(sandbox, refs.web, SENSOR_MEMORY_EDIT.path, SENSOR_MEMORY_EDIT.patch);
  const again = await runCli(['reconcile', '--cluster', refs.web]);
  expect(again.code, again.err).toBe(0);

  // a rollout run: ring 0 (canary) = web, released; ring 1 = the other two, not yet
  const rollouts = new DynamoDbRolloutStore(table, sandbox.aws.region);
  const runId = `run-status-${id}`;
  const now = new Date().toISOString();
  await rollouts.putChunks([
    { runId, ring: 0, chunk: 0, clusters: [refs.web] },
    { runId, ring: 1, chunk: 0, clusters: [refs.tainted, refs.ecs] },
  ]);
  const run: RunRecord = {
    runId,
    status: 'running',
    targetVersion: VERSION,
    trigger: { source: 'nightly' },
    startedAt: now,
    updatedAt: now,
    rings: [
      { ring: 0, name: 'canary', gate: true, size: 1, chunks: 1 },
      { ring: 1, name: '100%', gate: true, size: 2, chunks: 1 },
    ],
    gates: {},
    history: [{ at: now, event: 'started by nightly' }],
  };
  await rollouts.createRun(run);
  await rollouts.putRelease({ cluster: refs.web, version: VERSION, releasedAt: now, runId, ring: 0 });
}, 240_000);

afterAll(async () => {
  await world?.stop();
});

async function statusJson(...args: string[]): Promise<StatusRow[]> {
  const r = await runCli(['status', '--json', ...args]);
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out) as StatusRow[];
}

const names = (rows: StatusRow[]) => rows.map((r) => r.name);

describe('sensorfleet status: the fleet table', () => {
  it('--json: platform, scope, location/name, versions, ring, nodes, drift, last reconcile and change, problem', async () => {
    const rows = await statusJson();
    // sorted by cluster reference: aws-ecs:… before aws-eks:…
    expect(names(rows)).toEqual([`st-ecs-${id}`, `st-gpu-${id}`, `st-web-${id}`]);
    const by = Object.fromEntries(rows.map((r) => [r.cluster, r]));
    const web = by[refs.web]!;
    expect(web).toMatchObject({ platform: 'aws-eks', scope: sandbox.aws.accountId, location: sandbox.aws.region, name: `st-web-${id}`, desiredVersion: VERSION, runningVersion: VERSION, nodes: { covered: 2, total: 2 }, problem: '' });
    expect(web.ring).toEqual({ run: `run-status-${id}`, runStatus: 'running', ring: 0, name: 'canary', released: true });
    expect(web.drift).toEqual({ kind: 'corrected', text: '1 corrected' });
    expect(Date.parse(web.lastChange!)).toBeGreaterThan(0);
    expect(web.lastReconcile! >= web.lastChange!).toBe(true);

    const gpu = by[refs.tainted]!;
    expect(gpu.status).toBe('degraded');
    expect(gpu.nodes).toEqual({ covered: 1, total: 2 });
    expect(gpu.problem).toContain(`stg-${id}-2`);
    expect(gpu.ring).toMatchObject({ ring: 1, name: '100%', released: false });

    const ecs = by[refs.ecs]!;
    expect(ecs).toMatchObject({ platform: 'aws-ecs', nodes: { covered: 2, total: 2 }, drift: { kind: 'none', text: 'none (installed)' }, problem: '' });
  });

  it('the table has every column, one row per cluster', async () => {
    const r = await runCli(['status']);
    expect(r.code, r.err).toBe(0);
    const [header, , ...lines] = r.out.trimEnd().split('\n');
    expect(header!.split(/\s{2,}/)).toEqual(['PLATFORM', 'SCOPE', 'CLUSTER', 'DESIRED', 'RUNNING', 'RING', 'NODES', 'STATUS', 'DRIFT', 'LAST RECONCILE', 'LAST CHANGE', 'PROBLEM']);
    expect(lines).toHaveLength(3);
    const gpu = lines.find((l) => l.includes(`st-gpu-${id}`))!;
    expect(gpu).toMatch(new RegExp(`^aws-eks\\s+${sandbox.aws.accountId}\\s+${sandbox.aws.region}/st-gpu-${id}\\s+${VERSION}\\s+${VERSION}\\s+1 100% \\(waiting\\)\\s+1/2\\s+degraded\\s+`));
    expect(lines.find((l) => l.includes(`st-web-${id}`))).toMatch(/0 canary\s+2\/2\s+\S+\s+1 corrected/);
  });

  it('filters: --platform (or a cloud), --scope, --status (or problem/ok), --ring (number or name); they combine', async () => {
    expect(names(await statusJson('--platform', 'aws-ecs'))).toEqual([`st-ecs-${id}`]);
    expect(await statusJson('--platform', 'aws')).toHaveLength(3);
    expect(await statusJson('--platform', 'gcp-gke')).toEqual([]);
    expect(await statusJson('--scope', sandbox.aws.accountId)).toHaveLength(3);
    expect(names(await statusJson('--status', 'problem'))).toEqual([`st-gpu-${id}`]);
    expect(names(await statusJson('--status', 'degraded'))).toEqual([`st-gpu-${id}`]);
    expect(names(await statusJson('--status', 'ok')).sort()).toEqual([`st-ecs-${id}`, `st-web-${id}`].sort());
    expect(names(await statusJson('--ring', 'canary'))).toEqual([`st-web-${id}`]);
    expect(names(await statusJson('--ring', '1')).sort()).toEqual([`st-ecs-${id}`, `st-gpu-${id}`].sort());
    expect(names(await statusJson('--ring', '1', '--platform', 'aws-eks'))).toEqual([`st-gpu-${id}`]);
    expect(names(await statusJson('--ring', '0', '--ring', '1', '--status', 'ok')).sort()).toEqual([`st-ecs-${id}`, `st-web-${id}`].sort());
    const none = await runCli(['status', '--scope', '999999999999']);
    expect(none.out).toContain('(none of the 3 clusters matches the filters)');
  });

  it('--sort COLUMN: coverage lowest first, problem first, ring, last change newest first; an unknown column is a usage error', async () => {
    expect(names(await statusJson('--sort', 'coverage'))[0]).toBe(`st-gpu-${id}`);
    expect(names(await statusJson('--sort', 'problem'))[0]).toBe(`st-gpu-${id}`);
    expect(names(await statusJson('--sort', 'drift'))[0]).toBe(`st-web-${id}`);
    expect(names(await statusJson('--sort', 'ring'))[0]).toBe(`st-web-${id}`);
    expect(names(await statusJson('--sort', 'last-change'))[0]).toBe(`st-web-${id}`);
    const ecsFirst = await statusJson('--sort', 'platform');
    expect(ecsFirst[0]!.platform).toBe('aws-ecs');
    const bad = await runCli(['status', '--sort', 'colour']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--sort');
  });

  it('--cluster and -o yaml keep working', async () => {
    const one = await runCli(['status', '--cluster', refs.tainted]);
    expect(one.code, one.err).toBe(0);
    expect(one.out).toContain(`uncovered stg-${id}-2:`);
    expect(one.out).toContain('recent reconciles:');
    const yaml = await runCli(['status', '-o', 'yaml', '--platform', 'aws-ecs']);
    expect(yaml.out).toContain(`name: st-ecs-${id}`);
  });

  it("one inventory read for the whole table: a cluster's history is read only when its item predates the drift summary", async () => {
    const queries = () => sandbox.front.count('dynamodb', 'Query');
    const q0 = queries();
    const summarised = await statusJson();
    const withSummaries = queries() - q0;

    // an item as written before items carried their drift and last change
    const db = new DynamoDBClient({ region: sandbox.aws.region });
    await db.send(new UpdateItemCommand({ TableName: table, Key: { pk: { S: `CLUSTER#${refs.web}` }, sk: { S: 'STATE' } }, UpdateExpression: 'REMOVE drift, lastChangedAt' }));
    const q1 = queries();
    const legacy = await statusJson();
    expect(queries() - q1).toBe(withSummaries + 1);
    // the same row either way
    const web = (rows: StatusRow[]) => rows.find((r) => r.cluster === refs.web)!;
    expect(web(legacy).drift).toEqual(web(summarised).drift);
    expect(web(legacy).lastChange).toBe(web(summarised).lastChange);
    db.destroy();
  });
});
