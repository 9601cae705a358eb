import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { publishMetricValues } from '../../shared/lambda/powertools';
import { fleetFigures } from '../../shared/report/fleet-figures';
import { clusterEvent, captureLogs, startWorkerWorld, type WorkerStack, type WorkerWorld } from '../support/issue7-worker-harness';
import { kubectlEdit, SENSOR_MEMORY_EDIT } from '../support/kubectl-edit';
import type { SqsHandler } from '../sandbox/lambda-runner';

/**
 * Metrics through Powertools, as CloudWatch reads them: the EMF documents the worker prints after real
 * reconciles (coverage, uncovered nodes, drift, remediation), and the nightly's fleet figures (fleet
 * coverage, DLQ depth) from the inventory those reconciles wrote.
 */
let world: WorkerWorld;
let stack: WorkerStack;
let ref: string;

interface Emf {
  _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] };
  [k: string]: unknown;
}

const emfOf = (lines: Record<string, any>[]): Emf[] => lines.filter((l) => l._aws?.CloudWatchMetrics) as Emf[];
/** A metric's values across the documents (Powertools writes one value, or an array when added more than once). */
function values(docs: Emf[], name: string): number[] {
  return docs.flatMap((d) => (d._aws.CloudWatchMetrics[0]!.Metrics.some((m) => m.Name === name) ? [d[name] as number | number[]].flat() : []));
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

async function worker(): Promise<SqsHandler> {
  const config = {
    sensor: { version: '1.34.1-0', tolerations: [{ operator: 'Exists', effect: 'NoSchedule' }] },
    targets: { aws: [{ accountId: world.where.account, regions: [world.where.region] }] },
    rollout: { deadlineSeconds: 20, pollSeconds: 0.2, readinessPollSeconds: 1, maxAttempts: 3 },
  };
  return stack.worker(config);
}

beforeAll(async () => {
  world = await startWorkerWorld(inject('motoUrl'), 'eu-south-2');
  stack = await world.stack();
  ref = (await world.sandbox.fleet.createEksCluster({ name: 'metrics-eks', region: 'eu-south-2', nodes: [{ name: 'm-1' }, { name: 'm-2' }, { name: 'm-3', taints: [{ key: 'gpu', value: 'only', effect: 'NoExecute' }] }] })).ref;
}, 180_000);

afterAll(async () => {
  vi.unstubAllEnvs();
  await world?.stop();
});

describe('metrics (EMF on stdout, Powertools)', () => {
  it('after a reconcile the worker emits the cluster coverage and uncovered nodes; after a hand edit, drift and its remediation', async () => {
    vi.stubEnv('POWERTOOLS_METRICS_NAMESPACE', 'sensorfleet-test');
    const logs = captureLogs();
    try {
      // the harness loads the worker with metrics off; the module reads the switch when it is imported: on, then import afresh
      await worker();
      process.env.POWERTOOLS_METRICS_DISABLED = 'false';
      vi.resetModules();
      const handler = ((await import('../../functions/reconcile-worker')) as { handler: SqsHandler }).handler;
      const mapping = stack.mapping(handler);
      await stack.send([clusterEvent('cluster-created', ref)]);
      await mapping.drain(120_000);
      const first = emfOf(logs.lines);
      const installed = (await stack.records(ref)).find((r) => r.outcome !== 'applying')!;
      expect(installed.verified).toMatchObject({ covered: 2, total: 3 });
      expect(first.length).toBeGreaterThan(0);
      expect(first[0]!._aws.CloudWatchMetrics[0]!.Namespace).toBe('sensorfleet-test');
      expect(values(first, 'uncovered_nodes')).toEqual([1]);
      expect(values(first, 'cluster_coverage_percent')).toEqual([66.7]);
      const units = first.flatMap((d) => d._aws.CloudWatchMetrics[0]!.Metrics).filter((m) => m.Name === 'cluster_coverage_percent');
      expect(units.map((m) => m.Unit)).toEqual(['Percent']);
      // the install (applied, then the item came back for its rollout: one document per invocation) is not drift
      expect(sum(values(first, 'drifted_clusters'))).toBe(0);
      expect(sum(values(first, 'remediations'))).toBe(0);
      expect(sum(values(first, 'reconcile_failures'))).toBe(0);

      logs.lines.length = 0;
      await kubectlEdit(world.sandbox, ref, SENSOR_MEMORY_EDIT.path, SENSOR_MEMORY_EDIT.patch);
      await stack.send([clusterEvent('reconcile-requested', ref)]);
      await mapping.drain(120_000);
      const second = emfOf(logs.lines);
      // the remediation finished (the tainted node stays uncovered by design), it did not run out of time
      const [remediated] = await stack.records(ref);
      expect(remediated!.outcome, remediated!.message).toBe('degraded');
      expect(sum(values(second, 'drifted_clusters'))).toBe(1);
      expect(sum(values(second, 'remediations'))).toBe(1);
      expect(values(second, 'uncovered_nodes')).toEqual([1]);
      expect(values(second, 'cluster_coverage_percent')).toEqual([66.7]);
    } finally {
      logs.restore();
    }
  }, 180_000);

  it("the nightly's fleet figures: coverage of the whole inventory and each DLQ's depth, fleet_coverage_percent with the service dimension only", async () => {
    process.env.POWERTOOLS_METRICS_DISABLED = 'false';
    const logs = captureLogs();
    try {
      const figures = await fleetFigures(stack.store, { work: stack.dlqUrl });
      expect(figures.errors).toEqual([]);
      publishMetricValues(figures.values);
      for (const d of figures.dlq) publishMetricValues([{ name: 'dlq_depth', unit: 'Count', value: d.depth }], { queue: d.queue });
      const docs = emfOf(logs.lines);
      expect(values(docs, 'fleet_coverage_percent')).toEqual([66.7]);
      expect(values(docs, 'fleet_uncovered_nodes')).toEqual([1]);
      expect(values(docs, 'dlq_depth')).toEqual([0]);
      const coverage = docs.find((d) => 'fleet_coverage_percent' in d)!;
      // what the FleetCoverageAlarm in serverless.yml selects: namespace + {service}
      expect(coverage._aws.CloudWatchMetrics[0]!.Dimensions).toEqual([['service']]);
      expect(coverage.service).toBe(process.env.POWERTOOLS_SERVICE_NAME ?? 'sensorfleet');
      expect(docs.find((d) => 'dlq_depth' in d)!.queue).toBe('work');
    } finally {
      logs.restore();
    }
  }, 60_000);
});
