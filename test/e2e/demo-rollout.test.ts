import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { resetAwsClients } from '../../shared/platforms/aws/clients';
import { rolloutDemoStep } from '../sandbox/demo-rollout';
import { startSandbox, type Sandbox } from '../sandbox/index';
import { startQualysSandbox, type QualysSandbox } from '../sandbox/qualys/fixture';
import { deployStackResources, type StackOutputs } from '../sandbox/stack';

/** The demo's rollout step (test/sandbox/demo-rollout.ts) as the demo calls it: it must show what it claims. */
let sandbox: Sandbox;
let qualys: QualysSandbox;
let stack: StackOutputs;
let restore: () => void;
let detach: () => void;

beforeAll(async () => {
  sandbox = await startSandbox({ motoUrl: inject('motoUrl'), region: 'ap-southeast-4', stepFunctions: true });
  restore = sandbox.useAwsEnv();
  resetAwsClients();
  await sandbox.fleet.putActivationSecret();
  stack = await deployStackResources({ stage: `demo${Date.now().toString(36)}`, ...sandbox.aws });
  qualys = await startQualysSandbox(sandbox.aws.endpoint, { region: sandbox.aws.region, checkInIntervalMs: 300 });
  detach = qualys.fake.attachSensorEvents(sandbox.sensors);
}, 180_000);

afterAll(async () => {
  detach?.();
  await qualys?.stop();
  restore?.();
  await sandbox?.stop();
});

describe('rolloutDemoStep', () => {
  it('two rings with the gate (a node event does not jump the ring), a ring that fails its gate and halts, a resume', async () => {
    const lines: string[] = [];
    const report = await rolloutDemoStep({ sandbox, stack, qualys, log: (l) => lines.push(l), region: 'ap-south-2' });
    console.log(lines.filter((l) => /^\s*(ok|FAIL) /.test(l)).join('\n'));
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.runs.map((r) => r.status)).toEqual(['succeeded', 'halted', 'succeeded']);
    expect(lines.join('\n')).toMatch(/HALTED in ring 0: ring 0 \(canary\)/);
  }, 300_000);
});
