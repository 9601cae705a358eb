import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { configSchema, type SensorfleetConfig } from '../../shared/config/schema';
import { parseClusterRef } from '../../shared/domain/cluster-ref';
import { buildEngine } from '../../shared/engine/build';
import { reconcileCluster, type ReconcileDeps } from '../../shared/engine/reconcile';
import { CallCounter, countCalls } from '../../shared/runtime/call-log';
import type { EntraApp } from '../sandbox/azure';
import type { SensorInstance } from '../sandbox/sensor-events';
import { startAzureWorld, type AzureWorld } from '../sandbox/azure/world';

/**
 * AKS through the engine, as the worker runs it: buildEngine (adapters from config, the activation
 * secret from Secrets Manager) and reconcileCluster, against an Entra-integrated cluster with a system
 * pool, a tainted pool, a spot pool and a Windows pool, and a cluster with local accounts.
 */
const TRIGGER = { trigger: { kind: 'reconcile-requested' as const, source: 'aks-test' } };
let world: AzureWorld;
let app: EntraApp;
let config: SensorfleetConfig;

beforeAll(async () => {
  world = await startAzureWorld(inject('motoUrl'));
  await world.sandbox.fleet.putActivationSecret();
  app = world.azure.registerApp({ awsAccount: world.sandbox.aws.accountId, subject: world.roleArn });
  config = configSchema.parse({
    targets: { azure: [world.azure.targetConfig(app)] },
    rollout: { deadlineSeconds: 15, pollSeconds: 0.1 },
  });
}, 60_000);

afterAll(async () => {
  await world?.stop();
});

async function engine(refs: string[]): Promise<ReconcileDeps> {
  return buildEngine(config, refs.map(parseClusterRef), { store: false });
}

describe('AKS through the engine', () => {
  it('an Entra cluster with system, tainted, spot and Windows pools converges; Windows nodes are out of scope; the next reconcile writes nothing', async () => {
    const { ref } = await world.azure.fleet.createAksCluster({
      resourceGroup: 'rg-engine',
      name: 'aks-mixed',
      mode: 'entra',
      tags: { env: 'prod' },
      nodePools: [
        { name: 'system', count: 2 },
        { name: 'gpu', count: 1, taints: ['sku=gpu:NoSchedule'], labels: { workload: 'gpu' } },
        { name: 'spot', count: 1, spot: true },
        { name: 'win', count: 1, osType: 'Windows' },
      ],
    });
    const deps = await engine([ref]);
    const first = await reconcileCluster(parseClusterRef(ref), deps, TRIGGER);
    expect(first.outcome, first.message).toBe('converged');
    expect(first.observed.status).toBe('Succeeded/Running');
    expect(first.verified).toMatchObject({ total: 4, covered: 4, uncovered: [], sensorVersion: config.sensor.version });
    expect(first.verified!.outOfScope).toEqual([{ node: 'akswin000000', reason: expect.stringContaining('kubernetes.io/os=windows') }]);
    expect(first.verified!.nodeNames).toEqual(expect.arrayContaining([expect.stringMatching(/^aks-spot-\d{8}-vmss000000$/), expect.stringMatching(/^aks-gpu-\d{8}-vmss000000$/)]));

    // the second reconcile in the same (warm) process: cached token and kubeconfig
    const kube = world.azure.fleet.kubeCluster(ref)!;
    const kubeBefore = kube.requests.length;
    const entraBefore = world.azure.requests.entra.length;
    const counter = new CallCounter();
    const again = await countCalls(counter, () => reconcileCluster(parseClusterRef(ref), deps, TRIGGER));
    const ops = counter.byOperation();
    const kubeRequests = kube.requests.slice(kubeBefore);
    const arm = Object.entries(ops).filter(([k]) => k.startsWith('ARM:'));
    console.log(`in-sync AKS cluster (warm): ${counter.calls.length} calls: ARM ${JSON.stringify(Object.fromEntries(arm))}, Entra token ${ops['Entra:token'] ?? 0}, Kubernetes ${kubeRequests.length} (${kubeRequests.filter((r) => r.method !== 'GET').length} writes)`);
    expect(again.outcome, again.message).toBe('in-sync');
    expect(again.changed.writes).toBe(0);
    expect(Object.fromEntries(arm)).toEqual({ 'ARM:managedClusters.get': 1 });
    expect(ops['Entra:token'] ?? 0).toBe(0);
    expect(world.azure.requests.entra.length).toBe(entraBefore);
    expect(kubeRequests.every((r) => r.method === 'GET' && r.status === 200)).toBe(true);
    expect(kubeRequests.length).toBeLessThanOrEqual(13);
    expect(again.verified).toMatchObject({ total: 4, covered: 4 });

    // a new engine in the same process (new adapters, same credential): the kubeconfig is read again, the tokens are not
    const fresh = await engine([ref]);
    const counter2 = new CallCounter();
    const third = await countCalls(counter2, () => reconcileCluster(parseClusterRef(ref), fresh, TRIGGER));
    expect(third.outcome).toBe('in-sync');
    expect(counter2.byOperation()).toMatchObject({ 'ARM:managedClusters.get': 1, 'ARM:managedClusters.listClusterUserCredential': 1 });
    expect(counter2.byOperation()['Entra:token']).toBeUndefined();
  });

  it('a cluster with local accounts converges through its kubeconfig client certificate', async () => {
    const { ref } = await world.azure.fleet.createAksCluster({ resourceGroup: 'rg-engine', name: 'aks-local', mode: 'local', nodePools: [{ name: 'nodepool1', count: 2 }] });
    const started: SensorInstance[] = [];
    const onStart = (s: SensorInstance) => s.cluster === ref && started.push(s);
    world.sandbox.sensors.on('started', onStart);
    try {
      const record = await reconcileCluster(parseClusterRef(ref), await engine([ref]), TRIGGER);
      expect(record.outcome, record.message).toBe('converged');
      expect(record.verified).toMatchObject({ total: 2, covered: 2 });
    } finally {
      world.sandbox.sensors.off('started', onStart);
    }
    // each node's sensor started and would check in with Qualys as an AKS sensor
    expect(started.map((s) => [s.platform, s.nodeName]).sort()).toEqual([
      ['azure-aks', expect.stringMatching(/^aks-nodepool1-\d{8}-vmss000000$/)],
      ['azure-aks', expect.stringMatching(/^aks-nodepool1-\d{8}-vmss000001$/)],
    ]);
  });

  it('recorded outcomes: Creating is not-ready, Stopped is skipped with the reason, qualys-sensor=disabled is skipped', async () => {
    const creating = await world.azure.fleet.createAksCluster({ resourceGroup: 'rg-engine', name: 'aks-new', mode: 'entra', nodePools: [{ name: 'system', count: 1 }], creatingForMs: 60_000 });
    const stopped = await world.azure.fleet.createAksCluster({ resourceGroup: 'rg-engine', name: 'aks-stopped', mode: 'entra', nodePools: [{ name: 'system', count: 1 }] });
    world.azure.fleet.stopAksCluster(stopped.ref);
    const optedOut = await world.azure.fleet.createAksCluster({ resourceGroup: 'rg-engine', name: 'aks-optout', mode: 'entra', nodePools: [{ name: 'system', count: 1 }], tags: { 'qualys-sensor': 'disabled' } });
    const deps = await engine([creating.ref, stopped.ref, optedOut.ref]);
    const [a, b, c] = await Promise.all([creating, stopped, optedOut].map((x) => reconcileCluster(parseClusterRef(x.ref), deps, TRIGGER)));
    expect([a!.outcome, a!.observed.status]).toEqual(['not-ready', 'Creating/Running']);
    expect([b!.outcome, b!.observed.status]).toEqual(['skipped', 'Succeeded/Stopped']);
    expect(b!.message).toMatch(/powerState Stopped/);
    expect(c!.outcome).toBe('skipped');
    expect(c!.message).toContain('qualys-sensor=disabled');
    expect(c!.changed.writes).toBe(0);
  });

  it('nothing left 127.0.0.1', () => {
    expect(world.loopback.offLoopback()).toEqual([]);
  });
});
