import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { resetAwsClients } from '../../shared/platforms/aws/clients';
import { checkInGate } from '../../shared/qualys/checkin';
import { liveHostsFrom } from '../../shared/qualys/stale-sensors';
import { runQualysCheckIn, runQualysSync } from '../../shared/qualys/sync';
import { startQualysSandbox, type QualysSandbox } from '../sandbox/qualys/fixture';
import { SensorEvents, type SensorInstance } from '../sandbox/sensor-events';

/** Sandbox sensors start → register and check in; stop → go silent → UNKNOWN; read back through the real client. */
const saved = { ...process.env };
let s: QualysSandbox;
const events = new SensorEvents();

beforeAll(async () => {
  Object.assign(process.env, { AWS_ENDPOINT_URL: inject('motoUrl'), AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'eu-west-1' });
  resetAwsClients();
  s = await startQualysSandbox(inject('motoUrl'), { checkInIntervalMs: 50, unknownAfterMs: 300 });
  s.fake.attachSensorEvents(events);
});

afterAll(async () => {
  await s.stop();
  process.env = saved;
  resetAwsClients();
});

const EKS = 'aws-eks:111122223333:eu-west-1:prod';
const ECS = 'aws-ecs:111122223333:eu-west-1:batch';
const pod = (node: string, version: string): SensorInstance => ({ platform: 'aws-eks', cluster: EKS, nodeName: node, hostname: `${node}.eu-west-1.compute.internal`, version, containerId: `uid-${node}`, pod: { name: `qualys-container-sensor-${node}`, namespace: 'qualys-sensor' } });
const task = (instance: string): SensorInstance => ({ platform: 'aws-ecs', cluster: ECS, nodeName: instance, hostname: `ip-10-1-0-${instance.slice(-1)}.eu-west-1.compute.internal`, version: '1.34.1-0', containerId: `arn:task/${instance}` });

describe('sensor check-in end to end', () => {
  it('reports nodes that never checked in, silent sensors and version drift, and gates on them', async () => {
    events.emit('started', pod('node-a', '1.34.1-0'));
    events.emit('started', pod('node-b', '1.33.2-0'));
    events.emit('started', pod('node-c', '1.34.1-0'));
    events.emit('started', task('i-01'));
    events.emit('stopped', pod('node-c', '1.34.1-0'));
    await new Promise((r) => setTimeout(r, 700)); // node-c's sensor goes silent and becomes UNKNOWN
    const clusters = [
      { cluster: EKS, desiredVersion: '1.34.1-0', nodes: ['node-a', 'node-b', 'node-c', 'node-d'].map((name) => ({ name })) },
      { cluster: ECS, desiredVersion: '1.34.1-0', nodes: [{ name: 'i-01', hostname: 'ip-10-1-0-1.eu-west-1.compute.internal' }] },
    ];
    const [eks, ecs] = await runQualysCheckIn(s.config(), clusters);
    expect(eks).toMatchObject({ checkedIn: 2, neverCheckedIn: ['node-d'], silent: ['node-c'], versionMismatch: [{ node: 'node-b', sensorVersion: '1.33.2' }] });
    expect(ecs).toMatchObject({ checkedIn: 1, neverCheckedIn: [], silent: [], versionMismatch: [] });
    expect(checkInGate(eks!).pass).toBe(false);
    expect(checkInGate(ecs!)).toMatchObject({ pass: true });

    // node-c's pod comes back: the same sensor record is re-activated, not duplicated.
    events.emit('started', pod('node-c', '1.34.1-0'));
    events.emit('started', pod('node-d', '1.34.1-0'));
    events.emit('stopped', pod('node-b', '1.33.2-0'));
    events.emit('started', { ...pod('node-b', '1.34.1-0'), containerId: 'uid-node-b-2' });
    const [again] = await runQualysCheckIn(s.config(), clusters.slice(0, 1));
    expect(checkInGate(again!)).toMatchObject({ pass: true });
    expect([...s.fake.sensors.values()].filter((x) => x.cluster?.k8s.node.name === 'node-c')).toHaveLength(1);
  });

  it('a sensor whose node is gone is purged once stale; a live node keeps its UNKNOWN record', async () => {
    events.emit('started', pod('node-gone', '1.34.1-0'));
    events.emit('started', pod('node-paused', '1.34.1-0'));
    events.emit('stopped', pod('node-gone', '1.34.1-0'));
    events.emit('stopped', pod('node-paused', '1.34.1-0'));
    await new Promise((r) => setTimeout(r, 700));
    // Age them past the threshold as 40 days of silence would.
    for (const x of s.fake.sensors.values()) if (x.status === 'UNKNOWN') x.lastCheckedIn = String(Date.now() - 40 * 86_400_000);
    const r = await runQualysSync({ config: s.config(), liveHosts: liveHostsFrom(['node-a', 'node-b', 'node-c', 'node-d', 'node-paused']) });
    expect(r).toMatchObject({ staleDeleted: 1, nonUnknownDeleteAttempts: 0, errors: [] });
    const names = [...s.fake.sensors.values()].map((x) => x.cluster?.k8s.node.name);
    expect(names).not.toContain('node-gone');
    expect(names).toContain('node-paused');
    expect(s.fake.refusedSensorDeletes).toEqual([]);
  });
});
