import { describe, expect, it } from 'vitest';
import { renderRunReportHtml, esc } from '../../shared/report/html';
import { fleetMetrics, reconcileMetrics, runMetrics } from '../../shared/report/metrics';
import { buildRunReport, type RunReportInput } from '../../shared/report/model';
import type { ClusterInventoryItem, ReconcileRecord } from '../../shared/state/records';
import type { RunRecord } from '../../shared/state/rollout-records';

const CANARY = 'aws-eks:111122223333:eu-north-1:canary';
const WEB = 'aws-eks:111122223333:eu-north-1:web';
const ECS = 'aws-ecs:111122223333:eu-north-1:batch';
const EVIL = 'azure-aks:00000000-0000-0000-0000-000000000001:rg:<img src=x onerror=alert(1)>';

function run(over: Partial<RunRecord> = {}): RunRecord {
  return {
    runId: 'run-1',
    status: 'halted',
    targetVersion: '1.36.0-0',
    baselineVersion: '1.35.0-0',
    trigger: { source: 'nightly' },
    startedAt: '2026-12-01T10:00:00.000Z',
    updatedAt: '2026-12-01T10:05:00.000Z',
    rings: [
      { ring: 0, name: 'canary', gate: true, size: 1, chunks: 1 },
      { ring: 1, name: '100%', gate: true, size: 3, chunks: 1 },
    ] as unknown as RunRecord['rings'],
    halt: { ring: 0, reason: `ring 0 (canary) failed its gate: ${CANARY}: sensor pod p-1 restarted 4 times (more than 2)`, at: '2026-12-01T10:04:00.000Z', taskToken: 'secret-token' },
    gates: { '0': { verdict: 'fail', reason: `${CANARY}: sensor pod p-1 restarted 4 times (more than 2)`, at: '2026-12-01T10:04:00.000Z' } },
    history: [
      { at: '2026-12-01T10:00:00.000Z', event: 'started: 2 rings' },
      { at: '2026-12-01T10:04:00.000Z', event: 'ring 0 (canary) failed its gate' },
    ],
    ...over,
  } as RunRecord;
}

function item(cluster: string, over: Partial<ClusterInventoryItem> = {}): ClusterInventoryItem {
  return {
    cluster,
    platform: cluster.split(':')[0]!,
    outcome: 'in-sync',
    message: 'every node covered',
    sensorVersion: '1.35.0-0',
    desiredVersion: '1.35.0-0',
    nodes: { covered: 2, total: 2 },
    uncovered: [],
    lastReconcileId: 'r',
    lastReconciledAt: '2026-12-01T10:03:00.000Z',
    ...over,
  };
}

function reconcile(cluster: string, at: string, over: Partial<ReconcileRecord> = {}): ReconcileRecord {
  return {
    id: `${cluster}-${at}`,
    cluster,
    platform: cluster.split(':')[0]!,
    startedAt: at,
    finishedAt: at,
    trigger: { kind: 'reconcile-requested' },
    outcome: 'converged',
    message: 'converged',
    observed: {},
    planned: [],
    changed: { writes: 1, reads: 3 },
    dryRun: false,
    ...over,
  };
}

function input(over: Partial<RunReportInput> = {}): RunReportInput {
  return {
    run: run(),
    members: new Map([
      [0, [CANARY]],
      [1, [WEB, ECS, EVIL]],
    ]),
    results: [{ runId: 'run-1', ring: 0, cluster: CANARY, ok: true, outcome: 'converged', message: 'converged', at: '2026-12-01T10:02:00.000Z' }],
    inventory: [
      item(CANARY, { sensorVersion: '1.36.0-0', desiredVersion: '1.36.0-0', restarts: 4, nodes: { covered: 1, total: 2 }, uncovered: [{ node: 'canary-2', reason: 'sensor pod crash looping (CrashLoopBackOff)' }] }),
      item(WEB, { nodes: { covered: 3, total: 3 } }),
      item(ECS, { outcome: 'degraded', message: '1 of 2 instances without a sensor', nodes: { covered: 1, total: 2 }, uncovered: [{ node: 'i-0abc', reason: 'no room on the instance (RESOURCE:MEMORY)' }] }),
      item(EVIL, { platform: 'azure-aks' }),
    ],
    reconciles: [
      reconcile(CANARY, '2026-12-01T10:01:00.000Z', { run: { id: 'run-1', ring: 0 }, version: { desired: '1.36.0-0', target: '1.36.0-0', source: 'released', reason: 'ring 0 released' } }),
      reconcile(WEB, '2026-12-01T10:01:30.000Z', { trigger: { kind: 'nodes-changed' }, outcome: 'in-sync', changed: { writes: 0, reads: 3 }, version: { desired: '1.35.0-0', target: '1.36.0-0', source: 'baseline', reason: 'ring 1 of run run-1 not released yet: kept at 1.35.0-0' } }),
      reconcile(WEB, '2026-12-01T09:00:00.000Z'), // before the run: not in its timeline
      reconcile(CANARY, '2026-12-01T10:00:30.000Z', { outcome: 'applying' }),
    ],
    maxRestarts: 2,
    generatedAt: '2026-12-01T10:06:00.000Z',
    ...over,
  };
}

describe('buildRunReport', () => {
  const report = buildRunReport(input());

  it('sums coverage by platform and by ring', () => {
    expect(report.coverage.byPlatform).toEqual([
      { key: 'aws-ecs', label: 'aws-ecs', clusters: 1, covered: 1, total: 2, percent: 50 },
      { key: 'aws-eks', label: 'aws-eks', clusters: 2, covered: 4, total: 5, percent: 80 },
      { key: 'azure-aks', label: 'azure-aks', clusters: 1, covered: 2, total: 2, percent: 100 },
    ]);
    expect(report.coverage.byRing.map((b) => [b.key, b.label, b.covered, b.total, b.percent])).toEqual([
      ['0', 'ring 0 (canary)', 1, 2, 50],
      ['1', 'ring 1 (100%)', 6, 7, 85.7],
    ]);
    expect(report.totals).toEqual({ clusters: 4, nodes: { covered: 7, total: 9 }, coveragePercent: 77.8, attention: 2 });
  });

  it('lists the clusters that need attention with their reasons and nodes', () => {
    expect(report.attention.map((a) => a.cluster)).toEqual([ECS, CANARY]);
    const canary = report.attention.find((a) => a.cluster === CANARY)!;
    expect(canary.reasons).toEqual(['ring 0 gate failed: sensor pod p-1 restarted 4 times (more than 2)']);
    expect(canary.nodes).toEqual([{ node: 'canary-2', reason: 'sensor pod crash looping (CrashLoopBackOff)' }]);
    const ecs = report.attention.find((a) => a.cluster === ECS)!;
    expect(ecs.reasons).toEqual(['degraded: 1 of 2 instances without a sensor']);
    expect(ecs.ring).toBe(1);
  });

  it('a gate reason that names no cluster concerns every cluster of the ring', () => {
    const r = buildRunReport(input({ run: run({ gates: { '0': { verdict: 'fail', reason: 'Qualys check-in: 1 of 2 sensors never checked in', at: 'x' } } }), inventory: input().inventory.map((i) => ({ ...i, restarts: 0, uncovered: [], nodes: { covered: 2, total: 2 }, outcome: 'in-sync' })) }));
    expect(r.attention).toEqual([{ cluster: CANARY, platform: 'aws-eks', ring: 0, reasons: ['ring 0 gate failed: Qualys check-in: 1 of 2 sensors never checked in'], nodes: [] }]);
  });

  it('a failed ring answer and a cluster never recorded need attention', () => {
    const r = buildRunReport(
      input({
        results: [{ runId: 'run-1', ring: 0, cluster: CANARY, ok: false, outcome: 'stuck', message: 'rollout did not finish in 600 s', at: 'x' }],
        inventory: input().inventory.filter((i) => i.cluster !== WEB),
      }),
    );
    expect(r.attention.find((a) => a.cluster === CANARY)!.reasons[0]).toBe('ring 0 result stuck: rollout did not finish in 600 s');
    expect(r.attention.find((a) => a.cluster === WEB)!.reasons).toEqual(['never recorded: no reconcile of this cluster is in the fleet table']);
  });

  it('the timeline merges the run history with the reconciles made while it was open', () => {
    expect(report.timeline.map((t) => [t.at, t.kind, t.cluster ?? '-'])).toEqual([
      ['2026-12-01T10:00:00.000Z', 'run', '-'],
      ['2026-12-01T10:01:00.000Z', 'reconcile', CANARY],
      ['2026-12-01T10:01:30.000Z', 'reconcile', WEB],
      ['2026-12-01T10:04:00.000Z', 'run', '-'],
    ]);
    expect(report.timeline[2]!.event).toBe('nodes-changed: in-sync at 1.35.0-0 (ring 1 of run run-1 not released yet: kept at 1.35.0-0): converged');
  });

  it('keeps no task token', () => {
    expect(JSON.stringify(report)).not.toContain('secret-token');
  });
});

describe('renderRunReportHtml', () => {
  const html = renderRunReportHtml(buildRunReport(input()));

  it('escapes every value from the records', () => {
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(esc(`a<b>"c"&'d'`)).toBe('a&lt;b&gt;&quot;c&quot;&amp;&#39;d&#39;');
  });

  it('loads nothing: no script, no link, no external url, a CSP that forbids it', () => {
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\(/i);
    expect(html).not.toMatch(/\s(?:src|href|xlink:href)=["']/);
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'"`);
  });

  it('draws one bar per platform and per ring with its figures', () => {
    const bars = [...html.matchAll(/<g class="bar" data-group="(\w+)" data-key="([^"]+)" data-covered="(\d+)" data-total="(\d+)" data-percent="([\d.]+)">/g)].map((m) => m.slice(1).join(' '));
    expect(bars).toEqual(['platform aws-ecs 1 2 50', 'platform aws-eks 4 5 80', 'platform azure-aks 2 2 100', 'ring 0 1 2 50', 'ring 1 6 7 85.7']);
  });
});

describe('metrics from records', () => {
  const base = reconcile(WEB, '2026-12-01T10:00:00.000Z', { verified: { total: 3, covered: 2, uncovered: [{ node: 'n3', reason: 'pending' }], rollout: { state: 'complete', message: '' }, sensorVersion: '1.35.0-0' } as never });
  const value = (vs: { name: string; value: number }[], name: string) => vs.find((v) => v.name === name)?.value;

  it('a hand edit reverted is drift and its remediation; an install or an upgrade is neither', () => {
    const drift = reconcileMetrics({ ...base, observed: { sensorVersion: '1.35.0-0' }, planned: [{ type: 'apply', target: 'DaemonSet', reason: 'memory differs' }], version: { desired: '1.35.0-0', target: '1.35.0-0', source: 'released', reason: '' } });
    expect([value(drift, 'drifted_clusters'), value(drift, 'remediations'), value(drift, 'uncovered_nodes'), value(drift, 'cluster_coverage_percent')]).toEqual([1, 1, 1, 66.7]);
    const install = reconcileMetrics({ ...base, observed: {}, planned: [{ type: 'apply', target: 'DaemonSet', reason: 'missing' }] });
    expect([value(install, 'drifted_clusters'), value(install, 'remediations')]).toEqual([0, 0]);
    const upgrade = reconcileMetrics({ ...base, observed: { sensorVersion: '1.34.1-0' }, planned: [{ type: 'apply', target: 'DaemonSet', reason: 'image' }], version: { desired: '1.35.0-0', target: '1.35.0-0', source: 'released', reason: '' } });
    expect(value(upgrade, 'drifted_clusters')).toBe(0);
    const held = reconcileMetrics({ ...base, outcome: 'held', changed: { writes: 0, reads: 3 }, observed: { sensorVersion: '1.35.0-0' }, planned: [{ type: 'apply', target: 'DaemonSet', reason: 'memory differs' }] });
    expect([value(held, 'drifted_clusters'), value(held, 'remediations')]).toEqual([1, 0]);
  });

  it('failures and stuck rollouts count; a rollout under way reports no coverage yet; intents and not-ready nothing', () => {
    expect(value(reconcileMetrics({ ...base, outcome: 'failed' }), 'reconcile_failures')).toBe(1);
    expect(value(reconcileMetrics({ ...base, outcome: 'stuck' }), 'stuck_rollouts')).toBe(1);
    expect(value(reconcileMetrics({ ...base, outcome: 'progressing' }), 'uncovered_nodes')).toBeUndefined();
    expect(reconcileMetrics({ ...base, outcome: 'applying' })).toEqual([]);
    expect(reconcileMetrics({ ...base, outcome: 'not-ready' })).toEqual([]);
  });

  it('fleet figures sum the inventory; a run report gives its own', () => {
    const fleet = fleetMetrics(input().inventory);
    expect(fleet).toEqual([
      { name: 'fleet_coverage_percent', unit: 'Percent', value: 77.8 },
      { name: 'fleet_uncovered_nodes', unit: 'Count', value: 2 },
      { name: 'fleet_stuck_rollouts', unit: 'Count', value: 0 },
      { name: 'fleet_failed_clusters', unit: 'Count', value: 0 },
    ]);
    const run = runMetrics(buildRunReport(input()));
    expect(run.map((v) => [v.name, v.value])).toEqual([
      ['run_coverage_percent', 77.8],
      ['run_uncovered_nodes', 2],
      ['run_attention_clusters', 2],
      ['rollout_halted', 1],
      ['stuck_rollouts', 0],
    ]);
  });
});
