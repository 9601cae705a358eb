import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseConfig } from '../../shared/config/load';
import { parseClusterRef } from '../../shared/domain/cluster-ref';
import { buildEngine } from '../../shared/engine/build';
import { reconcileCluster } from '../../shared/engine/reconcile';
import { startWorkerWorld, type WorkerWorld } from '../support/issue7-worker-harness';
import { kubectlEdit } from '../support/kubectl-edit';

/**
 * A hand edit that breaks the sensor (a bad image) stalls its rolling update half way; sensorfleet
 * reverts the template. The reverted template equals the first revision, so the DaemonSet controller
 * reuses that revision: pods never replaced by the bad edit keep their old `pod-template-generation`
 * label and are current by their `controller-revision-hash` (pkg/controller/daemon/util IsPodUpdated:
 * hash OR generation). Coverage must count them as covered, not wait for a replacement that never comes.
 */
let world: WorkerWorld;

beforeAll(async () => {
  world = await startWorkerWorld(inject('motoUrl'), 'ap-east-2');
}, 120_000);

afterAll(async () => {
  await world?.stop();
});

const VERSION = '1.34.1-0';
const config = () =>
  parseConfig({ sensor: { version: VERSION, maxUnavailable: 1, tolerations: [{ operator: 'Exists', effect: 'NoSchedule' }] }, targets: { aws: [{ accountId: world.where.account, regions: [world.where.region] }] }, rollout: { deadlineSeconds: 15, pollSeconds: 0.2 } });

describe('a reverted template that matches an earlier revision', () => {
  it('pods of the reused revision count as covered: the revert converges, it is not stuck', async () => {
    const s = await world.stack();
    const eks = await world.sandbox.fleet.createEksCluster({ name: 'revert-eks', nodes: [{ name: 'r-1' }, { name: 'r-2' }, { name: 'r-3' }, { name: 'r-gpu', taints: [{ key: 'gpu', value: 'only', effect: 'NoExecute' }] }] });
    const ref = parseClusterRef(eks.ref);
    const kube = world.sandbox.kubeClusterFor(eks.ref)!;
    const deps = await buildEngine(config(), [ref], { store: s.store });
    const installed = await reconcileCluster(ref, deps, { trigger: { kind: 'cluster-created', eventId: 'rv-1' } });
    // a node whose taint the sensor does not tolerate: coverage is read per pod (the DaemonSet's counts cannot prove it)
    expect(installed.outcome, installed.message).toBe('degraded');
    expect(installed.verified).toMatchObject({ covered: 3, total: 4 });

    // someone sets an image that crash-loops: the controller replaces one pod (maxUnavailable 1) and stops there
    const sensorPods = () => kube.list('v1', 'Pod', 'qualys-sensor');
    const image = sensorPods()[0]!.spec.containers[0].image as string;
    const bad = `${image.slice(0, image.lastIndexOf(':'))}:broken`;
    kube.options.crashingImages = new Set([bad]);
    await kubectlEdit(world.sandbox, eks.ref, '/apis/apps/v1/namespaces/qualys-sensor/daemonsets/qualys-container-sensor?fieldManager=kubectl-edit', {
      spec: { template: { spec: { containers: [{ name: 'qualys-container-sensor', image: bad }] } } },
    });
    const crashing = () => sensorPods().some((p) => p.status?.containerStatuses?.some((c: any) => c.state?.waiting?.reason === 'CrashLoopBackOff'));
    const deadline = Date.now() + 30_000;
    while (!crashing() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(crashing()).toBe(true);
    const firstRevisionPods = sensorPods().filter((p) => p.metadata.labels['pod-template-generation'] === '1');
    expect(firstRevisionPods).toHaveLength(2);

    const reverted = await reconcileCluster(ref, await buildEngine(config(), [ref], { store: s.store }), { trigger: { kind: 'reconcile-requested', eventId: 'rv-2' } });
    expect(reverted.outcome, reverted.message).toBe('degraded');
    expect(reverted.message).toMatch(/^3\/4 nodes covered; r-gpu: taint gpu=only:NoExecute/);
    expect(reverted.changed.writes).toBe(1);
    expect(reverted.verified).toMatchObject({ covered: 3, total: 4 });
    // the two pods the bad edit never reached were kept (the controller found them current), not replaced
    const after = sensorPods();
    for (const p of firstRevisionPods) expect(after.map((a) => a.metadata.uid)).toContain(p.metadata.uid);
  }, 120_000);
});
