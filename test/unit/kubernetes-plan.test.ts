import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../shared/config/schema';
import { describeDifference, diffObject, foreignAdditions } from '../../shared/platforms/kubernetes/diff';
import { buildSensorObjects } from '../../shared/platforms/kubernetes/manifests';
import { planKubernetes, type KubeObserved } from '../../shared/platforms/kubernetes/plan';
import { sameQuantity } from '../../shared/platforms/kubernetes/quantity';
import { refOf, RESTARTED_AT_ANNOTATION, type KubeObject } from '../../shared/platforms/kubernetes/types';
import type { DesiredSensor } from '../../shared/platforms/types';
import { applyDefaults } from '../sandbox/kube/defaults';

const FIXTURES = join(import.meta.dirname, '../fixtures/kubernetes');
const read = (dir: string, file: string) => JSON.parse(readFileSync(join(FIXTURES, dir, file), 'utf8'));
const CREDS = { activationId: 'unit-activation-4c1d', customerId: 'unit-customer-9a55' };

function desiredWith(sensor: Record<string, unknown> = {}): DesiredSensor {
  return { config: configSchema.parse({ sensor }), credentials: CREDS, podUrl: 'https://cmsqagpublic.qg2.apps.qualys.com/ContainerSensor' };
}

/** Live copies the way an API server keeps them: server defaults (sandbox defaulting code), metadata, status. */
function asLive(obj: KubeObject): KubeObject {
  const live = structuredClone(obj);
  applyDefaults(live.kind, live);
  live.metadata = { ...live.metadata, uid: `uid-${live.metadata.name}`, resourceVersion: '101', generation: 1 };
  if (live.kind === 'DaemonSet') {
    delete live.spec.template.spec.hostPID;
    delete live.spec.template.spec.hostIPC;
    delete live.spec.template.spec.hostNetwork;
    live.status = { observedGeneration: 1, desiredNumberScheduled: 2, currentNumberScheduled: 2, updatedNumberScheduled: 2, numberAvailable: 2, numberReady: 2, numberMisscheduled: 0 };
  }
  return live;
}

function observedOf(desired: DesiredSensor, edit: (live: Map<string, KubeObject>) => void = () => {}): KubeObserved {
  const live = new Map(buildSensorObjects(desired).map((o) => [o.kind, asLive(o)]));
  edit(live);
  return {
    cluster: 'aws-eks:111122223333:us-east-1:unit',
    observedAt: '2026-11-23T10:00:00.000Z',
    objects: buildSensorObjects(desired).map((o) => ({ ref: refOf(o), ...(live.has(o.kind) ? { live: live.get(o.kind)! } : {}) })),
    nodes: [],
  };
}

describe('diff: live/desired fixture pairs (test/fixtures/kubernetes)', () => {
  const cases = readdirSync(FIXTURES).filter((d) => !d.includes('.'));
  it('has the fixture pairs', () => expect(cases.length).toBeGreaterThanOrEqual(8));
  it.each(cases)('%s', (name) => {
    const desired = read(name, 'desired.json');
    const live = read(name, 'live.json');
    const expected = read(name, 'expected.json');
    expect(diffObject(desired, live).map((d) => describeDifference(desired, d))).toEqual(expected.differences);
    expect(desired.kind === 'DaemonSet' ? foreignAdditions(desired, live) : []).toEqual(expected.foreign);
  });

  it('the fixtures describe today\'s manifests (desired.json of the in-sync pair is what manifests.ts builds)', () => {
    const fresh = buildSensorObjects({ ...desiredWith(), credentials: { activationId: 'fixture-activation-id', customerId: 'fixture-customer-id' } });
    expect(read('daemonset-defaulted-in-sync', 'desired.json')).toEqual(fresh.find((o) => o.kind === 'DaemonSet'));
    expect(read('secret-data-edited', 'desired.json')).toEqual(fresh.find((o) => o.kind === 'Secret'));
  });

  it('never prints Secret values', () => {
    const desired = read('secret-data-edited', 'desired.json');
    const live = read('secret-data-edited', 'live.json');
    const text = diffObject(desired, live).map((d) => describeDifference(desired, d)).join('\n');
    for (const v of [...Object.values<string>(desired.data), ...Object.values<string>(live.data)]) {
      expect(text).not.toContain(v);
      expect(text).not.toContain(Buffer.from(v, 'base64').toString());
    }
  });

  it('compares quantities by value', () => {
    expect(sameQuantity('0.5', '500m')).toBe(true);
    expect(sameQuantity('1Gi', '1024Mi')).toBe(true);
    expect(sameQuantity('1G', '1Gi')).toBe(false);
    expect(sameQuantity('2', 2)).toBe(true);
    expect(sameQuantity('1e3', '1k')).toBe(true);
  });
});

describe('planKubernetes', () => {
  const desired = desiredWith();

  it('in sync (live objects carry server defaults and status) -> zero actions', () => {
    const plan = planKubernetes(desired, observedOf(desired));
    expect(plan.actions).toEqual([]);
    expect(plan.sensorVersion).toEqual({ current: '1.34.1-0', desired: '1.34.1-0' });
  });

  it('empty cluster -> one create per object, namespace first, DaemonSet last, no force on creates', () => {
    const plan = planKubernetes(desired, observedOf(desired, (l) => l.clear()));
    expect(plan.actions.map((a) => a.type)).toEqual(Array(12).fill('apply'));
    expect(plan.actions[0]!.target).toBe('Namespace qualys-sensor');
    expect(plan.actions.at(-1)!.target).toBe('DaemonSet qualys-sensor/qualys-container-sensor');
    expect(plan.actions.every((a) => a.type === 'apply' && a.create)).toBe(true);
    expect(plan.actions[0]!.reason).toBe('Namespace qualys-sensor: missing; create');
    expect(plan.sensorVersion.current).toBeUndefined();
  });

  it('new version -> one DaemonSet apply naming field and both values, marked as a rollout', () => {
    const plan = planKubernetes(desiredWith({ version: '1.35.0-0' }), observedOf(desired));
    expect(plan.actions).toHaveLength(1);
    const a = plan.actions[0]!;
    expect(a.type).toBe('apply');
    expect(a.reason).toContain(
      'DaemonSet qualys-sensor/qualys-container-sensor: spec.template.spec.containers[qualys-container-sensor].image differs (want qualys/qcs-sensor:1.35.0-0, have qualys/qcs-sensor:1.34.1-0)',
    );
    expect(a.type === 'apply' && a.rollout).toBe(true);
    expect(plan.sensorVersion).toEqual({ current: '1.34.1-0', desired: '1.35.0-0' });
  });

  it('an object without our managed-by label is never changed: a finding', () => {
    const plan = planKubernetes(
      desiredWith({ version: '1.35.0-0' }),
      observedOf(desired, (l) => {
        const ds = l.get('DaemonSet')!;
        ds.metadata.labels = { app: 'qualys' };
        const cr = l.get('ClusterRole')!;
        delete cr.metadata.labels;
      }),
    );
    expect(plan.actions.map((a) => [a.type, a.reason])).toEqual([
      ['finding', 'ClusterRole sensorfleet-qualys-cluster-reader: exists, not managed by sensorfleet; left alone'],
      ['finding', 'DaemonSet qualys-sensor/qualys-container-sensor: exists, not managed by sensorfleet; left alone'],
    ]);
    expect(planKubernetes(desired, observedOf(desired, (l) => delete l.get('DaemonSet')!.metadata.labels), { force: 'restart' }).actions.map((a) => a.type)).toEqual(['finding']);
  });

  it('secret drift -> apply whose reason shows no value', () => {
    const plan = planKubernetes(desiredWith(), observedOf(desiredWith(), (l) => (l.get('Secret')!.data['customer-id'] = Buffer.from('rotated').toString('base64'))));
    expect(plan.actions.map((a) => a.reason)).toEqual(['Secret qualys-sensor/qualys-credentials: data differs']);
    expect(JSON.stringify(plan.actions.map(({ reason, target, type }) => ({ reason, target, type })))).not.toContain(CREDS.customerId);
  });

  it('foreign security-relevant additions are findings next to the fix of our own fields', () => {
    const plan = planKubernetes(
      desired,
      observedOf(desired, (l) => {
        const pod = l.get('DaemonSet')!.spec.template.spec;
        pod.containers.push({ name: 'sidecar', image: 'evil/miner:1' });
        pod.containers[0].securityContext.privileged = true;
      }),
    );
    expect(plan.actions.map((a) => a.type)).toEqual(['finding', 'apply']);
    expect(plan.actions[0]!.reason).toContain('extra container "sidecar" (image evil/miner:1)');
    expect(plan.actions[1]!.reason).toContain('securityContext.privileged differs (want false, have true)');
  });

  it("force 'restart' -> restart action stamping the observe time into the pod template", () => {
    const plan = planKubernetes(desired, observedOf(desired), { force: 'restart', reason: 'INC-42' });
    expect(plan.actions).toHaveLength(1);
    const a = plan.actions[0]!;
    expect(a.type).toBe('restart');
    expect(a.reason).toBe('DaemonSet qualys-sensor/qualys-container-sensor: restart requested (INC-42); pods are replaced');
    expect(a.type === 'restart' && a.object.spec.template.metadata.annotations[RESTARTED_AT_ANNOTATION]).toBe('2026-11-23T10:00:00.000Z');
    // the full desired object is applied (a partial apply would drop every other field we own)
    expect(a.type === 'restart' && a.object.spec.template.spec.containers[0].image).toBe('qualys/qcs-sensor:1.34.1-0');
  });

  it("force 'redeploy' -> every managed object re-applied, DaemonSet as the restart", () => {
    const plan = planKubernetes(desired, observedOf(desired), { force: 'redeploy' });
    expect(plan.actions.map((a) => a.type)).toEqual([...Array(11).fill('apply'), 'restart']);
    expect(plan.actions[0]!.reason).toBe('Namespace qualys-sensor: redeploy requested; re-applied');
  });

  it('keeps an earlier restart stamp when applying other drift, so the apply does not roll pods', () => {
    const plan = planKubernetes(
      desired,
      observedOf(desired, (l) => {
        const ds = l.get('DaemonSet')!;
        ds.spec.template.metadata.annotations = { [RESTARTED_AT_ANNOTATION]: '2026-11-01T00:00:00.000Z' };
        ds.spec.updateStrategy.rollingUpdate.maxUnavailable = 5;
      }),
    );
    expect(plan.actions).toHaveLength(1);
    const a = plan.actions[0]!;
    expect(a.reason).toBe('DaemonSet qualys-sensor/qualys-container-sensor: spec.updateStrategy.rollingUpdate.maxUnavailable differs (want 10%, have 5)');
    expect(a.type === 'apply' && a.rollout).toBe(false);
    expect(a.type === 'apply' && a.object.spec.template.metadata.annotations[RESTARTED_AT_ANNOTATION]).toBe('2026-11-01T00:00:00.000Z');
  });

  it('a serialised plan (run records, logs, CLI JSON) carries no Secret payload, while apply still gets it', () => {
    const plan = planKubernetes(desired, observedOf(desired, (l) => l.clear()), { force: 'redeploy' });
    const json = JSON.stringify(plan);
    for (const v of [CREDS.activationId, CREDS.customerId]) {
      expect(json).not.toContain(v);
      expect(json).not.toContain(Buffer.from(v).toString('base64'));
    }
    expect(JSON.parse(json).actions[2]).toEqual({ type: 'apply', target: 'Secret qualys-sensor/qualys-credentials', reason: 'Secret qualys-sensor/qualys-credentials: missing; create', create: true, rollout: false });
    const secret = plan.actions[2]!;
    expect(secret.type === 'apply' && Buffer.from(secret.object.data['activation-id'], 'base64').toString()).toBe(CREDS.activationId);
  });

  it('is pure: the same input gives the same plan and the input is not modified', () => {
    const observed = observedOf(desired, (l) => l.delete('Role'));
    const before = JSON.stringify(observed);
    expect(planKubernetes(desired, observed)).toEqual(planKubernetes(desired, observed));
    expect(JSON.stringify(observed)).toBe(before);
  });
});
