import { describe, expect, it } from 'vitest';
import { nodeCoverage, untoleratedTaint } from '../../shared/platforms/kubernetes/coverage';
import { daemonSetRollout } from '../../shared/platforms/kubernetes/health';
import { currentRevisionHash } from '../../shared/platforms/kubernetes/revision';
import type { KubeObject } from '../../shared/platforms/kubernetes/types';

const ready = (v: string) => [{ type: 'Ready', status: v }];
function node(name: string, o: { taints?: any[]; unschedulable?: boolean; ready?: boolean } = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name }, spec: { ...(o.taints ? { taints: o.taints } : {}), ...(o.unschedulable ? { unschedulable: true } : {}) }, status: { conditions: ready(o.ready === false ? 'False' : 'True') } };
}
function ds(generation: number, status: Record<string, number> = {}): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'qualys-container-sensor', namespace: 'qualys-sensor', generation },
    spec: { updateStrategy: { type: 'RollingUpdate' }, template: { spec: { tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'sec', effect: 'NoSchedule' }], containers: [{ name: 'qualys-container-sensor', image: 'qualys/qcs-sensor:1.34.1-0' }] } } },
    status: { observedGeneration: generation, ...status },
  };
}
function pod(name: string, nodeName: string, gen: number, status: any): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: { 'pod-template-generation': String(gen) } }, spec: { nodeName, containers: [{ name: 'qualys-container-sensor', image: 'qualys/qcs-sensor:1.34.1-0' }] }, status };
}
const running = { phase: 'Running', conditions: ready('True'), containerStatuses: [{ ready: true, restartCount: 0, state: { running: {} } }] };

describe('DaemonSet rollout health (kubectl rollout status rule)', () => {
  it.each([
    [{ observedGeneration: 1 }, 2, 'progressing', 'waiting for the spec update (generation 2) to be observed'],
    [{ desiredNumberScheduled: 5, updatedNumberScheduled: 3, numberAvailable: 5 }, 2, 'progressing', '3 out of 5 new pods have been updated'],
    [{ desiredNumberScheduled: 5, updatedNumberScheduled: 5, numberAvailable: 3 }, 2, 'progressing', '3 of 5 updated pods are available'],
    [{ desiredNumberScheduled: 5, updatedNumberScheduled: 5, numberAvailable: 5 }, 2, 'complete', 'successfully rolled out, 5 of 5 updated pods are available'],
  ])('%j at generation %i -> %s', (status, generation, state, sentence) => {
    const d = ds(generation, status);
    if ('observedGeneration' in status) d.status = status;
    const h = daemonSetRollout(d);
    expect(h.state).toBe(state);
    expect(h.message).toContain(sentence);
  });
});

describe('node coverage', () => {
  it('lists every uncovered schedulable node with the reason a person can see', () => {
    const nodes = [
      node('ok'),
      node('tainted', { taints: [{ key: 'gpu', value: 'true', effect: 'NoSchedule' }] }),
      node('tolerated', { taints: [{ key: 'dedicated', value: 'sec', effect: 'NoSchedule' }] }),
      node('soft', { taints: [{ key: 'x', effect: 'PreferNoSchedule' }] }),
      node('crash'),
      node('pending'),
      node('unschedulable-pod'),
      node('old'),
      node('notready-pod'),
      node('cordoned', { unschedulable: true }),
      node('down', { ready: false }),
    ];
    const pods = [
      pod('p-ok', 'ok', 2, running),
      pod('p-tol', 'tolerated', 2, running),
      pod('p-soft', 'soft', 2, running),
      pod('p-crash', 'crash', 2, { phase: 'Running', conditions: ready('False'), containerStatuses: [{ ready: false, restartCount: 7, state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 5m0s' } }, lastState: { terminated: { exitCode: 1, reason: 'Error' } } }] }),
      pod('p-pending', 'pending', 2, { phase: 'Pending', containerStatuses: [{ ready: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } }] }),
      { ...pod('p-unsched', '', 2, { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/11 nodes are available: 1 Insufficient cpu.' }] }), spec: { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['unschedulable-pod'] }] }] } } } } },
      pod('p-old', 'old', 1, running),
      pod('p-notready', 'notready-pod', 2, { phase: 'Running', conditions: ready('False'), containerStatuses: [{ ready: false, restartCount: 0, state: { running: {} } }] }),
    ];
    const events: KubeObject[] = [
      { apiVersion: 'v1', kind: 'Event', metadata: { name: 'e1' }, type: 'Warning', reason: 'FailedMount', message: 'MountVolume.SetUp failed for volume "runtime-socket" : hostPath type check failed: /var/run/docker.sock is not a socket file', involvedObject: { kind: 'Pod', name: 'p-pending' }, lastTimestamp: '2026-11-23T10:00:00Z' },
    ];
    const c = nodeCoverage(ds(2), nodes, pods, events);
    expect(c.total).toBe(9); // cordoned and NotReady nodes are not schedulable
    expect(c.covered).toBe(3);
    expect(c.sensorVersion).toBe('1.34.1-0');
    expect(Object.fromEntries(c.uncovered.map((u) => [u.node, u.reason]))).toEqual({
      tainted: 'taint gpu=true:NoSchedule not tolerated by the sensor DaemonSet',
      crash: 'crash looping (CrashLoopBackOff, 7 restarts), last exit 1 Error',
      pending: 'pending: ContainerCreating (FailedMount: MountVolume.SetUp failed for volume "runtime-socket" : hostPath type check failed: /var/run/docker.sock is not a socket file)',
      'unschedulable-pod': 'pending: Unschedulable: 0/11 nodes are available: 1 Insufficient cpu.',
      old: 'old revision (pod of template generation 1, DaemonSet at 2): rolling update in progress',
      'notready-pod': 'not ready',
    });
  });

  it('a node the DaemonSet tolerates but has no pod on yet is reported as such', () => {
    const c = nodeCoverage(ds(1), [node('new')], []);
    expect(c.uncovered).toEqual([{ node: 'new', reason: 'no sensor pod on this node (the DaemonSet controller has not created one yet)' }]);
  });

  it('names the schedulable nodes and their host names where different (Qualys knows sensors by host)', () => {
    const eksNode = { ...node('ip-10-0-1-11.ec2.internal'), metadata: { name: 'ip-10-0-1-11.ec2.internal', labels: { 'kubernetes.io/hostname': 'ip-10-0-1-11' } } };
    const c = nodeCoverage(ds(1), [eksNode, node('plain'), node('cordoned', { unschedulable: true })], [pod('p1', 'plain', 1, running)]);
    expect(c.nodeNames).toEqual(['ip-10-0-1-11.ec2.internal', 'ip-10-0-1-11', 'plain']);
    expect(c.total).toBe(2);
  });

  it('daemon pods tolerate node-condition taints automatically', () => {
    expect(untoleratedTaint(node('n', { taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }] }), [])).toBeUndefined();
    expect(untoleratedTaint(node('n', { taints: [{ key: 'a', effect: 'NoExecute' }] }), [{ operator: 'Exists', effect: 'NoExecute' }])).toBeUndefined();
    expect(untoleratedTaint(node('n', { taints: [{ key: 'a', effect: 'NoExecute' }] }), [{ operator: 'Exists', effect: 'NoSchedule' }])).toEqual({ key: 'a', effect: 'NoExecute' });
  });
});

describe('which pods run the current template (the DaemonSet controller’s IsPodUpdated: generation label OR revision hash)', () => {
  it('a spec change outside the template (maxUnavailable) bumps generation, not the template generation: pods stay current', () => {
    const d = ds(3);
    d.metadata.annotations = { 'deprecated.daemonset.template.generation': '1' };
    expect(nodeCoverage(d, [node('a')], [pod('p-a', 'a', 1, running)]).uncovered).toEqual([]);
  });

  it('a template reverted to an earlier one: pods of the reused revision are current by their hash, others are old', () => {
    const d = ds(3);
    const withHash = (p: KubeObject, hash: string) => ({ ...p, metadata: { ...p.metadata, labels: { ...p.metadata.labels, 'controller-revision-hash': hash } } });
    const pods = [withHash(pod('p-a', 'a', 1, running), 'h1'), withHash(pod('p-b', 'b', 2, running), 'h2')];
    const c = nodeCoverage(d, [node('a'), node('b')], pods, [], 'h1');
    expect(c.uncovered).toEqual([{ node: 'b', reason: 'old revision (pod of template generation 2, DaemonSet at 3): rolling update in progress' }]);
    // without the revision's hash, the generation label decides
    expect(nodeCoverage(d, [node('a'), node('b')], pods).covered).toBe(0);
  });
});

describe('the current revision', () => {
  it('is the highest revision the DaemonSet owns', () => {
    const d = { ...ds(3), metadata: { ...ds(3).metadata, uid: 'ds-1' } };
    const rev = (hash: string, revision: number, uid = 'ds-1') => ({ apiVersion: 'apps/v1', kind: 'ControllerRevision', metadata: { name: `s-${hash}`, labels: { 'controller-revision-hash': hash }, ownerReferences: [{ controller: true, uid }] }, revision });
    expect(currentRevisionHash(d, [rev('h1', 3), rev('h2', 2), rev('hx', 9, 'other')])).toBe('h1');
    expect(currentRevisionHash(d, [])).toBeUndefined();
    // the controller has not seen generation 4 yet: its newest revision is the old template's
    expect(currentRevisionHash({ ...d, metadata: { ...d.metadata, generation: 4 } }, [rev('h1', 3)])).toBeUndefined();
  });
});
