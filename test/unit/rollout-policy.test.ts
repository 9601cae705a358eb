import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../shared/config/load';
import { chooseSensorVersion, decideVersion } from '../../shared/engine/desired-version';
import { decideAfterAttempt } from '../../shared/engine/work-decision';
import { gateVerdict, type ClusterHealth, type GateInput } from '../../shared/rollout/gate';
import { ringAnswerOf } from '../../shared/rollout/ring-answer';
import { planRings } from '../../shared/rollout/rings';
import { isRunMessageBody } from '../../shared/rollout/run-message-body';
import { runIdFor } from '../../shared/rollout/start-run';
import type { Coverage } from '../../shared/platforms/types';
import type { ReconcileRecord } from '../../shared/state/records';

/** Issue 7, Orchestration: the pure decisions behind rings, released versions, gates and requeues. */
const rings = (o: Record<string, unknown> = {}) => parseConfig({ rollout: { rings: o } }).rollout.rings;
const refs = (n: number, prefix = 'web') => Array.from({ length: n }, (_, i) => `aws-eks:111122223333:eu-west-1:${prefix}-${i}`);

describe('planRings: canary selector, then cumulative shares of the rest', () => {
  it.each([
    { n: 1, shares: [25, 100], want: [1] },
    { n: 2, shares: [25, 100], want: [1, 1] },
    { n: 9, shares: [25, 100], want: [1, 2, 6] },
    { n: 101, shares: [10, 50, 100], want: [1, 10, 40, 50] },
  ])('$n clusters, shares $shares -> ring sizes $want', ({ n, shares, want }) => {
    const plan = planRings(refs(n), () => undefined, '2.0.0-0', rings({ shares }));
    expect(plan.map((r) => r.clusters.length)).toEqual(want);
    expect(plan.map((r) => r.ring)).toEqual(want.map((_, i) => i));
    expect(plan.every((r) => r.gate)).toBe(true);
    expect(new Set(plan.flatMap((r) => r.clusters)).size).toBe(n);
  });

  it('the canary ring is every cluster the selector matches; clusters already released at the target form an ungated ring 0', () => {
    const all = [...refs(4), 'aws-ecs:111122223333:eu-west-1:canary-a', 'aws-ecs:111122223333:eu-west-1:canary-b'];
    const plan = planRings(all, (c) => (c.endsWith('web-0') ? '2.0.0-0' : '1.0.0-0'), '2.0.0-0', rings({ canary: ['*:canary-*'], shares: [100] }));
    expect(plan.map((r) => [r.name, r.gate, r.clusters.length])).toEqual([
      ['released', false, 1],
      ['canary', true, 2],
      ['100%', true, 3],
    ]);
    expect(plan[1]!.clusters.every((c) => c.includes(':canary-'))).toBe(true);
  });

  it('is stable: the same clusters in another order give the same rings', () => {
    const a = planRings(refs(20), () => undefined, 'v', rings());
    const b = planRings([...refs(20)].reverse(), () => undefined, 'v', rings());
    expect(b).toEqual(a);
  });

  it('shares must be increasing percentages ending at 100', () => {
    expect(() => parseConfig({ rollout: { rings: { shares: [50, 25] } } })).toThrow(/cumulative shares/);
    expect(() => parseConfig({ rollout: { rings: { shares: [50] } } })).toThrow(/the last one 100/);
  });
});

describe('the desired version of a cluster comes from its ring’s release', () => {
  const target = '1.35.0-0';
  it.each([
    { name: 'released at the target', facts: { release: { cluster: 'c', version: target, releasedAt: 't', runId: 'r1', ring: 2 } }, running: '1.34.1-0', want: { desired: target, source: 'released' }, reason: /released in ring 2 of run r1/ },
    { name: 'ring not released yet (an older release)', facts: { release: { cluster: 'c', version: '1.34.1-0', releasedAt: 't', runId: 'r0', ring: 1 } }, running: '1.34.1-0', want: { desired: '1.34.1-0', source: 'released' }, reason: /has not released this cluster's ring yet: kept at 1\.34\.1-0/ },
    { name: 'no release, the fleet baseline', facts: { baseline: { version: '1.34.1-0', runId: 'r0', at: 't' } }, running: '1.33.0-0', want: { desired: '1.34.1-0', source: 'baseline' }, reason: /kept at the fleet baseline 1\.34\.1-0/ },
    { name: 'nothing released ever: the running version stays', facts: {}, running: '1.34.1-0', want: { desired: '1.34.1-0', source: 'running' }, reason: /the running 1\.34\.1-0 is kept/ },
    { name: 'nothing released ever, no sensor yet: first install at the target', facts: {}, running: undefined, want: { desired: target, source: 'first-install' }, reason: /first install/ },
    { name: 'an explicit forced action', facts: { forced: { by: 'alice', reason: 'INC-5' }, release: { cluster: 'c', version: '1.34.1-0', releasedAt: 't' } }, running: '1.34.1-0', want: { desired: target, source: 'forced' }, reason: /forced by alice \(INC-5\)/ },
  ])('$name', ({ facts, running, want, reason }) => {
    const decision = decideVersion(chooseSensorVersion({ target, ...facts }), running);
    expect(decision).toMatchObject({ ...want, target });
    expect(decision.reason).toMatch(reason);
  });
});

describe('ring answers: a cluster passes its ring only at the released version on every node', () => {
  const record = (o: Partial<ReconcileRecord>): ReconcileRecord => ({
    id: 'x', cluster: 'c', platform: 'aws-eks', startedAt: 't', finishedAt: 't', trigger: { kind: 'reconcile-requested' }, outcome: 'converged', message: 'm',
    observed: {}, planned: [], changed: { writes: 1, reads: 1 }, dryRun: false, version: { desired: 'v2', target: 'v2', source: 'released', reason: '' },
    verified: { total: 2, covered: 2, uncovered: [], rollout: { state: 'complete', message: '' }, sensorVersion: 'v2' }, ...o,
  });
  it.each([
    ['converged at v2', record({}), true],
    ['in sync at v2', record({ outcome: 'in-sync' }), true],
    ['skipped (opted out)', record({ outcome: 'skipped', verified: undefined }), true],
    ['converged but at v1', record({ verified: { total: 2, covered: 2, uncovered: [], rollout: { state: 'complete', message: '' }, sensorVersion: 'v1' } }), false],
    ['degraded', record({ outcome: 'degraded' }), false],
    ['stuck', record({ outcome: 'stuck' }), false],
    ['held by a window', record({ outcome: 'held' }), false],
    ['failed', record({ outcome: 'failed' }), false],
  ] as const)('%s -> ok %s', (_n, r, ok) => {
    expect(ringAnswerOf(r).ok).toBe(ok);
  });
});

describe('the ring gate (pure): restarts and versions fail at once, coverage and check-in wait until the deadline', () => {
  const cov = (o: Partial<Coverage> = {}): Coverage => ({ total: 2, covered: 2, uncovered: [], rollout: { state: 'complete', message: 'done' }, sensorVersion: 'v2', nodeNames: ['n1', 'n2'], ...o });
  const input = (health: ClusterHealth[], o: Partial<GateInput> = {}): GateInput => ({ target: 'v2', maxRestarts: 3, health, startedAt: 0, now: 10_000, deadlineSeconds: 60, pollSeconds: 5, ...o });
  const pass = { report: [{ cluster: 'a', desiredVersion: 'v2', nodes: 2, checkedIn: 2, neverCheckedIn: [], silent: [], versionMismatch: [] }] };
  const notYet = { report: [{ cluster: 'a', desiredVersion: 'v2', nodes: 2, checkedIn: 1, neverCheckedIn: ['n2'], silent: [], versionMismatch: [] }] };
  it.each([
    { name: 'healthy, checked in', health: [{ cluster: 'a', coverage: cov() }], o: { checkIn: pass }, verdict: 'pass', reason: /every node runs v2, no sensor restarted more than 3 times, every sensor checked in/ },
    { name: 'a pod restarted 4 times', health: [{ cluster: 'a', coverage: cov({ restarts: { max: 4, pod: 'p-1' } }) }], o: { checkIn: pass }, verdict: 'fail', reason: /a: sensor pod p-1 restarted 4 times \(more than 3\)/ },
    { name: 'another version runs', health: [{ cluster: 'a', coverage: cov({ sensorVersion: 'v1' }) }], o: {}, verdict: 'fail', reason: /runs v1, not v2/ },
    { name: 'nodes still being covered', health: [{ cluster: 'a', coverage: cov({ covered: 1, uncovered: [{ node: 'n2', reason: 'pending' }], rollout: { state: 'progressing', message: '' } }) }], o: {}, verdict: 'wait', reason: /a: 1\/2 nodes covered/ },
    { name: 'not checked in yet', health: [{ cluster: 'a', coverage: cov() }], o: { checkIn: notYet }, verdict: 'wait', reason: /never checked in \(n2\)/ },
    { name: 'not checked in by the deadline', health: [{ cluster: 'a', coverage: cov() }], o: { checkIn: notYet, now: 61_000 }, verdict: 'fail', reason: /not healthy after 61 s \(gate deadline 60 s\)/ },
    { name: 'Qualys unreachable: wait', health: [{ cluster: 'a', coverage: cov() }], o: { checkIn: { error: 'ECONNRESET' } }, verdict: 'wait', reason: /Qualys check-in could not be read: ECONNRESET/ },
    { name: 'a cluster could not be looked at: wait', health: [{ cluster: 'a', error: 'throttled' }], o: {}, verdict: 'wait', reason: /a: not observed \(throttled\)/ },
    { name: 'a skipped cluster is not held against the ring', health: [{ cluster: 'a', skipped: 'tagged' }, { cluster: 'b', coverage: cov() }], o: {}, verdict: 'pass', reason: /1 cluster\(s\), 2 node\(s\)/ },
  ])('$name -> $verdict', ({ health, o, verdict, reason }) => {
    const g = gateVerdict(input(health as ClusterHealth[], o as Partial<GateInput>));
    expect(g.verdict).toBe(verdict);
    expect(g.reason).toMatch(reason);
    if (verdict === 'wait') expect(g.waitSeconds).toBe(5);
  });
});

describe('the worker never waits on a rollout: progressing comes back after pollSeconds, costing no attempt', () => {
  const rollout = parseConfig({ rollout: { pollSeconds: 0.2 } }).rollout;
  const event = { id: 'e', time: new Date().toISOString(), kind: 'nodes-changed' as const, cluster: 'aws-eks:1:r:c', source: 't', detail: {} };
  it('progressing -> retry in 1 s (pollSeconds rounded up), attempts unchanged', () => {
    expect(decideAfterAttempt(event, { outcome: 'progressing', message: 'rolling out: 3/5 nodes updated' }, 4, rollout, new Date())).toEqual({ kind: 'retry', delaySeconds: 1, reason: 'rolling out: 3/5 nodes updated' });
  });
  it('stuck (past the deadline) -> done', () => {
    expect(decideAfterAttempt(event, { outcome: 'stuck', message: 'rollout stuck' }, 1, rollout, new Date())).toEqual({ kind: 'done' });
  });
});

describe('run messages and run ids', () => {
  it('tells the workflow’s messages from cluster work items', () => {
    expect(isRunMessageBody(JSON.stringify({ type: 'rollout-gate', runId: 'r', ring: 0, taskToken: 't' }))).toBe(true);
    expect(isRunMessageBody(JSON.stringify({ id: 'x', kind: 'reconcile-requested', cluster: 'c', type: 'rollout-gate' }))).toBe(false);
    expect(isRunMessageBody('{"not":"json"')).toBe(false);
    expect(isRunMessageBody('null')).toBe(false);
  });
  it('a retried trigger gets the same run id; a valid execution name', () => {
    const now = new Date('2026-12-01T02:00:00Z');
    const a = runIdFor({ source: 'nightly', eventId: 'evt-1' }, now);
    expect(runIdFor({ source: 'nightly', eventId: 'evt-1' }, new Date('2026-12-01T02:00:05Z'))).toBe(a);
    expect(a).toMatch(/^run-20261201-[0-9a-f]{12}$/);
    expect(runIdFor({ source: 'nightly', eventId: 'evt-2' }, now)).not.toBe(a);
  });
});

describe('sensorfleet rollout: usage', () => {
  const run = async (...args: string[]) => {
    const { PassThrough } = await import('node:stream');
    const { main } = await import('../../shared/cli/main');
    const out = new PassThrough();
    const err = new PassThrough();
    let o = '';
    let e = '';
    out.on('data', (d) => (o += d));
    err.on('data', (d) => (e += d));
    const code = await main(args, { stdin: new PassThrough(), stdout: out, stderr: err });
    return { code, out: o, err: e };
  };
  it.each([
    [['rollout'], /missing ACTION/],
    [['rollout', 'pause', 'run-1'], /ACTION must be one of status, resume, abort \(got "pause"\)/],
    [['rollout', 'resume'], /rollout resume needs the RUN to resume/],
  ])('%j exits 2: %s', async (args, message) => {
    const r = await run(...args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
  });
  it('is in the help, with its actions', async () => {
    const r = await run('help', 'rollout');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/sensorfleet rollout ACTION \[RUN\]/);
    expect(r.out).toMatch(/status, resume or abort/);
  });
});
