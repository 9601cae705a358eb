import type { TaskDefinition } from '@aws-sdk/client-ecs';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { colourEnabled, palette } from '../../shared/cli/colour';
import { renderFleet, rowFromRecord } from '../../shared/cli/fleet-view';
import { ClusterSkippedError } from '../../shared/runtime/errors';
import { planFailed, planView, renderPlan, summaryLine } from '../../shared/cli/plan-view';
import { configSchema } from '../../shared/config/schema';
import type { ClusterRef } from '../../shared/domain/cluster-ref';
import { planEcs } from '../../shared/platforms/ecs/plan';
import { desiredTaskDefinition, MANAGED_BY_KEY } from '../../shared/platforms/ecs/task-definition';
import { buildSensorObjects } from '../../shared/platforms/kubernetes/manifests';
import { planKubernetes, type KubeObserved } from '../../shared/platforms/kubernetes/plan';
import { refOf, type KubeObject } from '../../shared/platforms/kubernetes/types';
import type { ClusterPlan, DesiredSensor, PlannedAction } from '../../shared/platforms/types';
import type { ReconcileRecord } from '../../shared/state/records';
import { applyDefaults } from '../sandbox/kube/defaults';

/**
 * `plan` as a diff (issue 10): built from the planner's own actions. Before, the CLI printed
 * "missing; create" or the field changes joined on one line, and no summary.
 */
const LIVE_CREDS = { activationId: 'live-activation-7f3e91', customerId: 'live-customer-22b8c4' };
const WANT_CREDS = { activationId: 'rotated-activation-0d4a55', customerId: 'live-customer-22b8c4' };
const POD_URL = 'https://cmsqagpublic.qg2.apps.qualys.com/ContainerSensor';
const plain = palette(false);

function desired(version: string, credentials = WANT_CREDS): DesiredSensor {
  return {
    config: configSchema.parse({ sensor: { version } }),
    credentials,
    podUrl: POD_URL,
    credentialsSecretArn: (r) => `arn:aws:secretsmanager:${r.location}:${r.scope}:secret:sensorfleet/qualys-activation-AbCdEf`,
  };
}

/** What an API server holds after our earlier apply: defaults filled in (the sandbox's defaulting code). */
function live(obj: KubeObject): KubeObject {
  const copy = structuredClone(obj);
  applyDefaults(copy.kind, copy);
  copy.metadata = { ...copy.metadata, uid: `uid-${copy.metadata.name}`, resourceVersion: '7' };
  return copy;
}

function record(cluster: string, plan: ClusterPlan | undefined, outcome: ReconcileRecord['outcome'], extra: Partial<ReconcileRecord> = {}): ReconcileRecord {
  return {
    id: cluster,
    cluster,
    platform: cluster.split(':')[0]!,
    startedAt: '2026-12-01T00:00:00.000Z',
    finishedAt: '2026-12-01T00:00:01.000Z',
    trigger: { kind: 'reconcile-requested' },
    outcome,
    message: outcome === 'planned' ? 'would make changes' : 'in sync: nothing to change',
    observed: { status: 'ACTIVE', ...(plan?.sensorVersion.current ? { sensorVersion: plan.sensorVersion.current } : {}) },
    planned: plan?.actions ?? [],
    changed: { writes: 0, reads: 9 },
    dryRun: true,
    ...extra,
  };
}

/** A cluster running 1.34.1-0 with the old activation id, and its Namespace deleted by hand. */
function kubernetesPlan(): ClusterPlan {
  const old = buildSensorObjects(desired('1.34.1-0', LIVE_CREDS));
  const want = desired('1.35.0-0');
  const observed: KubeObserved = {
    cluster: 'aws-eks:111122223333:eu-west-1:payments',
    observedAt: '2026-12-01T00:00:00.000Z',
    objects: buildSensorObjects(want).map((o) => {
      const had = old.find((x) => x.kind === o.kind && x.metadata.name === o.metadata.name);
      return { ref: refOf(o), ...(had && o.kind !== 'Namespace' ? { live: live(had) } : {}) };
    }),
    nodes: [],
  };
  return planKubernetes(want, observed);
}

describe('plan as a diff', () => {
  it('Kubernetes: + for a missing object, ~ with each field path and old → new value, a Secret only as changed', () => {
    const plan = kubernetesPlan();
    const view = planView([record(plan.cluster, plan, 'planned')], '1.35.0-0');
    const text = renderPlan(view, plain);
    const lines = text.split('\n');
    expect(lines[0]).toBe('aws-eks:111122223333:eu-west-1:payments  (sensor 1.34.1-0 → 1.35.0-0)');
    expect(lines).toContain('  + Namespace qualys-sensor  missing; create');
    expect(lines).toContain('  ~ DaemonSet qualys-sensor/qualys-container-sensor');
    expect(lines).toContain('      spec.template.spec.containers[qualys-container-sensor].image: qualys/qcs-sensor:1.34.1-0 → qualys/qcs-sensor:1.35.0-0');
    const secret = lines.findIndex((l) => /^ {2}~ Secret qualys-sensor\//.test(l));
    expect(secret).toBeGreaterThan(0);
    expect(lines[secret + 1]).toMatch(/^ {6}(data|stringData): \(secret value changed\)$/);
    expect(lines.at(-1)).toBe(summaryLine(view.summary));
    expect(view.summary).toMatchObject({ clustersToChange: 1, create: 1, inSync: 0 });
    expect(view.summary.update).toBe(plan.actions.filter((a) => a.type === 'apply' && !(a as unknown as { create: boolean }).create).length);
    // neither activation id appears anywhere, in any encoding, in the text or the JSON/YAML document
    const json = JSON.stringify(view);
    for (const id of [LIVE_CREDS.activationId, WANT_CREDS.activationId]) {
      for (const form of [id, Buffer.from(id).toString('base64')]) {
        expect(text).not.toContain(form);
        expect(json).not.toContain(form);
      }
    }
  });

  it('ECS: a new task definition revision is ~ with its fields, the service ~ with the revision it moves from', () => {
    const ref: ClusterRef = { platform: 'aws-ecs', scope: '111122223333', location: 'eu-west-1', name: 'batch' };
    const arn = 'arn:aws:ecs:eu-west-1:111122223333:task-definition/qualys-container-sensor:4';
    const running = { ...desiredTaskDefinition(ref, desired('1.34.1-0')), taskDefinitionArn: arn, revision: 4 } as TaskDefinition;
    running.containerDefinitions![0]!.environment = [...(running.containerDefinitions![0]!.environment ?? []), { name: 'HTTPS_PROXY', value: 'http://user:hunter2@proxy:3128' }];
    const plan = planEcs(desired('1.35.0-0'), {
      ref,
      clusterArn: 'arn:aws:ecs:eu-west-1:111122223333:cluster/batch',
      service: { serviceName: 'qualys-container-sensor', status: 'ACTIVE', schedulingStrategy: 'DAEMON', taskDefinition: arn, deploymentConfiguration: { maximumPercent: 100, minimumHealthyPercent: 0 }, tags: [{ key: MANAGED_BY_KEY, value: 'sensorfleet' }] },
      serviceTaskDefinition: running,
    });
    const view = planView([record('aws-ecs:111122223333:eu-west-1:batch', plan, 'planned')], '1.35.0-0');
    const lines = renderPlan(view, plain).split('\n');
    expect(lines).toContain('  ~ ECS task definition qualys-container-sensor');
    expect(lines).toContain('      containerDefinitions[qualys-container-sensor].image: qualys/qcs-sensor:1.34.1-0 → qualys/qcs-sensor:1.35.0-0');
    expect(lines).toContain('      containerDefinitions[qualys-container-sensor].environment[HTTPS_PROXY]: (secret value changed)');
    expect(lines).toContain('  ~ ECS service qualys-container-sensor');
    expect(lines).toContain(`      taskDefinition: ${arn} → qualys-container-sensor:(new revision)`);
    expect(lines).toContain('      deploymentConfiguration.minimumHealthyPercent: 0 → 50');
    expect(lines.at(-1)).toBe('1 cluster to change: 2 objects to update; 0 in sync');
    expect(JSON.stringify(view)).not.toContain('hunter2');
  });

  it('a first install on ECS is two creates', () => {
    const ref: ClusterRef = { platform: 'aws-ecs', scope: '111122223333', location: 'eu-west-1', name: 'fresh' };
    const plan = planEcs(desired('1.35.0-0'), { ref, clusterArn: 'arn:aws:ecs:eu-west-1:111122223333:cluster/fresh' });
    const view = planView([record('aws-ecs:111122223333:eu-west-1:fresh', plan, 'planned')], '1.35.0-0');
    expect(view.clusters[0]!.objects.map((o) => `${o.op} ${o.target}`)).toEqual(['create ECS task definition qualys-container-sensor', 'create ECS service qualys-container-sensor']);
  });

  it('summary: "2 clusters to change: 1 object to create, 3 to update; 14 in sync", in-sync clusters counted, not listed', () => {
    const action = (target: string, create: boolean): PlannedAction => ({ type: 'apply', target, reason: `${target}: differs`, ...(create ? { create: true } : { changes: [{ path: 'spec.x', from: 1, to: 2 }] }) }) as PlannedAction;
    const a = { cluster: 'aws-eks:111122223333:eu-west-1:a', actions: [action('Namespace n', true), action('DaemonSet n/d', false)], sensorVersion: { desired: '1.35.0-0' } };
    const b = { cluster: 'aws-eks:111122223333:eu-west-1:b', actions: [action('DaemonSet n/d', false), action('Role n/r', false)], sensorVersion: { desired: '1.35.0-0' } };
    const inSync = Array.from({ length: 14 }, (_, i) => record(`aws-eks:111122223333:eu-west-1:s${i}`, undefined, 'in-sync'));
    const view = planView([record(a.cluster, a, 'planned'), record(b.cluster, b, 'planned'), ...inSync], '1.35.0-0');
    expect(summaryLine(view.summary)).toBe('2 clusters to change: 1 object to create, 3 to update; 14 in sync');
    const text = renderPlan(view, plain);
    expect(text).not.toContain(':s0');
    expect(text.split('\n').filter((l) => l.startsWith('aws-eks:'))).toEqual([a.cluster, b.cluster]);
    expect(planFailed(view)).toBe(false);
  });

  it('a cluster that does not exist, a failed one and an unlisted scope are failures, named as such', () => {
    const view = planView(
      [
        record('aws-eks:111122223333:eu-west-1:typo', undefined, 'skipped', { observed: { status: 'NOT_FOUND' }, message: 'cluster aws-eks:111122223333:eu-west-1:typo was not found; it may have been deleted' }),
        record('aws-eks:111122223333:eu-west-1:boom', undefined, 'failed', { message: 'GET /api/v1/nodes: 403 Forbidden' }),
      ],
      '1.35.0-0',
      [{ scope: 'aws-ecs:111122223333:eu-west-2', message: 'Could not load credentials from any providers' }],
    );
    const text = renderPlan(view, plain);
    expect(text).toContain('aws-eks:111122223333:eu-west-1:typo  not found in AWS account 111122223333, region eu-west-1');
    expect(text).toContain('aws-eks:111122223333:eu-west-1:boom  failed: GET /api/v1/nodes: 403 Forbidden');
    expect(text).toContain('could not list aws-ecs:111122223333:eu-west-2: Could not load credentials from any providers');
    expect(text.split('\n').at(-1)).toBe('no changes: 0 clusters in sync; 1 not found; 1 failed');
    expect(planFailed(view)).toBe(true);
    expect(planFailed(planView([], '1.35.0-0'))).toBe(true);
  });

  it('colour only on a terminal, and never with NO_COLOR', () => {
    const plan = kubernetesPlan();
    const view = planView([record(plan.cluster, plan, 'planned')], '1.35.0-0');
    const tty = Object.assign(new PassThrough(), { isTTY: true });
    expect(colourEnabled(tty, {})).toBe(true);
    expect(colourEnabled(tty, { NO_COLOR: '1' })).toBe(false);
    expect(colourEnabled(tty, { NO_COLOR: '' })).toBe(true); // no-color.org: set and not empty
    expect(colourEnabled(new PassThrough(), {})).toBe(false);
    expect(renderPlan(view, palette(true))).toContain('\x1b[32m  + Namespace qualys-sensor');
    expect(renderPlan(view, palette(false))).not.toContain('\x1b[');
  });

  it('a skipped cluster is named once: its line and its table row show the reason, not the error text that repeats the reference', () => {
    const ref = 'gcp-gke:sensorfleet-sandbox:us-central1:batch-autopilot';
    const skipped = new ClusterSkippedError(ref, 'GKE Autopilot: the Qualys sensor needs the Autopilot partner allowlist');
    const rec = record(ref, undefined, 'skipped', { message: skipped.message });
    const text = renderPlan(planView([rec], '1.35.0-0'), plain);
    expect(text.split('\n')[0]).toBe(`${ref}  skipped: GKE Autopilot: the Qualys sensor needs the Autopilot partner allowlist`);
    const table = renderFleet([rowFromRecord(rec)]);
    expect(table.split(ref)).toHaveLength(2);
    expect(table).toMatch(/skipped\s+GKE Autopilot: the Qualys sensor needs/);
  });
});
