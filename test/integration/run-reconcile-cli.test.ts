import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { resetAwsClients } from '../../shared/platforms/aws/clients';
import { DynamoDbFleetStore } from '../../shared/state/dynamodb-store';
import { DynamoDbRolloutStore } from '../../shared/state/rollout-store';
import { startSandbox, type Sandbox } from '../sandbox/index';
import { deployStackResources, type StackOutputs } from '../sandbox/stack';
import { runCli } from '../support/run-cli';

/**
 * Issue 7: `sensorfleet reconcile` without --cluster goes through the rings: it starts the durable run
 * the nightly starts (run record, chunk items, the Step Functions execution on the configured
 * workflow) and reconciles nothing itself; it prints the run id and how to follow it. `--force` is the
 * explicit bypass in this process, and every record and release says it was forced.
 */
const id = randomBytes(3).toString('hex');
const dir = mkdtempSync(join(tmpdir(), 'run-cli-'));
let sandbox: Sandbox;
let stack: StackOutputs;
let restore: () => void;
let table: string;
let refs: string[];
let base: Record<string, any>;

function configFile(name: string, patch: Record<string, unknown> = {}): string {
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify({ ...base, ...patch, rollout: { ...base.rollout, ...((patch.rollout as object) ?? {}) } }));
  return file;
}

beforeAll(async () => {
  sandbox = await startSandbox({ motoUrl: inject('motoUrl'), region: 'ap-southeast-2', stepFunctions: true });
  restore = sandbox.useAwsEnv();
  resetAwsClients();
  await sandbox.fleet.putActivationSecret();
  stack = await deployStackResources({ stage: `rc${id}`, ...sandbox.aws });
  table = Object.values(stack.tables)[0]!.name;
  refs = [(await sandbox.fleet.createEcsCluster({ name: `rc-a-${id}`, instances: 1 })).ref, (await sandbox.fleet.createEcsCluster({ name: `rc-b-${id}`, instances: 1 })).ref];
  base = {
    sensor: { version: '1.34.1-0' },
    targets: { aws: [{ accountId: sandbox.aws.accountId, regions: [sandbox.aws.region], platforms: ['aws-ecs'] }] },
    state: { tableName: table },
    queue: { url: Object.values(stack.queues).find((q) => q.name.endsWith('-work.fifo'))!.url },
    rollout: { deadlineSeconds: 20, pollSeconds: 0.2, stateMachineArn: Object.values(stack.stateMachines)[0]!.arn },
  };
  process.env.SENSORFLEET_USER = 'oncall-test';
}, 120_000);

afterAll(async () => {
  delete process.env.SENSORFLEET_USER;
  restore?.();
  resetAwsClients();
  await sandbox?.stop();
});

describe('sensorfleet reconcile without --cluster starts a durable run', () => {
  it('a run record and an execution on the configured workflow; the run id and `rollout status RUN` printed; nothing reconciled here', async () => {
    const r = await runCli(['reconcile', '--config', configFile('run')]);
    expect(r.code, r.err).toBe(0);
    const runId = /^started rollout run (run-\d{8}-[0-9a-f]{12}): 2 cluster\(s\) to 1\.34\.1-0 in 2 ring\(s\): canary \(1\), 25% \(1\)$/m.exec(r.out)?.[1];
    expect(runId, r.out).toBeDefined();
    expect(r.out).toContain(`follow it with: sensorfleet rollout status ${runId}`);
    const rollouts = new DynamoDbRolloutStore(table, sandbox.aws.region);
    const run = await rollouts.requireRun(runId!);
    expect(run).toMatchObject({ status: 'running', targetVersion: '1.34.1-0', trigger: { source: 'cli:reconcile', requestedBy: 'oncall-test' } });
    expect(run.executionArn).toMatch(/:execution:/);
    expect(sandbox.front.stepFunctions!.started).toBe(1);
    expect((await Promise.all(run.rings.map((g) => rollouts.listRingClusters(runId!, g.ring)))).flat().sort()).toEqual([...refs].sort());
    // the CLI handed the fleet to the rings: no cluster was reconciled by this process
    expect(await new DynamoDbFleetStore(table, sandbox.aws.region).listClusters()).toEqual([]);

    const status = await runCli(['rollout', 'status', runId!, '--config', configFile('run')]);
    expect(status.code, status.err).toBe(0);
    expect(status.out).toContain(`run ${runId}: running, rolling out 1.34.1-0`);

    // one run at a time: a second reconcile says which run is active and starts nothing
    const again = await runCli(['reconcile', '--config', configFile('run')]);
    expect(again.code).toBe(1);
    expect(again.err).toContain(`rollout run ${runId} is running`);
    expect(again.err).toContain(`sensorfleet rollout status ${runId}`);
    expect(sandbox.front.stepFunctions!.started).toBe(1);
  }, 120_000);

  it('no workflow configured: exit 2 naming the setting, --cluster and --force', async () => {
    const saved = process.env.SENSORFLEET_STATE_MACHINE_ARN;
    delete process.env.SENSORFLEET_STATE_MACHINE_ARN;
    try {
      const r = await runCli(['reconcile', '--config', configFile('no-arn', { rollout: { ...base.rollout, stateMachineArn: undefined } })]);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/no workflow is configured \(rollout\.stateMachineArn or \$SENSORFLEET_STATE_MACHINE_ARN/);
      expect(r.err).toMatch(/--cluster.*--force/);
    } finally {
      if (saved !== undefined) process.env.SENSORFLEET_STATE_MACHINE_ARN = saved;
    }
  }, 60_000);

  it('--force runs the whole fleet here, past the rings: every record and release says it was forced', async () => {
    const r = await runCli(['reconcile', '--force', '--config', configFile('run', { sensor: { version: '1.35.0-0' } })]);
    expect(r.code, `${r.out}\n${r.err}`).toBe(0);
    const fleet = new DynamoDbFleetStore(table, sandbox.aws.region);
    const rollouts = new DynamoDbRolloutStore(table, sandbox.aws.region);
    for (const ref of refs) {
      const [record] = await fleet.listReconciles(ref, 5);
      expect(record!.trigger).toMatchObject({ source: 'cli:reconcile --force', requestedBy: 'oncall-test' });
      expect(record!.trigger.reason).toMatch(/^forced: .*past the rollout rings/);
      expect(await rollouts.getRelease(ref)).toMatchObject({ version: '1.35.0-0', forced: { by: 'oncall-test', reason: 'sensorfleet reconcile --force' } });
    }
    expect(sandbox.front.stepFunctions!.started).toBe(1);
  }, 120_000);
});
