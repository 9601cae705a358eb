import { describe, expect, it } from 'vitest';
import { renderRun } from '../../shared/cli/commands/rollout';
import type { RunRecord } from '../../shared/state/rollout-records';

const at = '2026-12-01T10:00:00.000Z';
const halted: RunRecord = {
  runId: 'run-20261201-0123456789ab',
  status: 'halted',
  targetVersion: '1.36.0-0',
  trigger: { source: 'nightly' },
  startedAt: at,
  updatedAt: at,
  rings: [{ ring: 0, name: 'canary', gate: true, size: 1, chunks: 1 }],
  gates: {},
  halt: { ring: 0, reason: 'ring 0 (canary): canary stuck', at, taskToken: 'token' },
  history: [{ at, event: 'halted in ring 0: ring 0 (canary): canary stuck' }],
};

describe('rollout status of a run', () => {
  it('a halted run says so and how to answer it', () => {
    const text = renderRun(halted, []);
    expect(text).toContain('HALTED in ring 0: ring 0 (canary): canary stuck');
    expect(text).toContain('answer with: sensorfleet rollout resume run-20261201-0123456789ab');
  });

  it('a run that was resumed and finished is not shown as halted (the halt stays in its history)', () => {
    const text = renderRun({ ...halted, status: 'succeeded', history: [...halted.history, { at, event: 'resumed by on-call' }] }, []);
    expect(text).not.toContain('HALTED');
    expect(text).not.toContain('answer with');
    expect(text).toContain('halted in ring 0: ring 0 (canary): canary stuck');
  });
});
