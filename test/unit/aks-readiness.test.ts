import { describe, expect, it } from 'vitest';
import { aksReadiness, type AksState } from '../../shared/platforms/aks/readiness';

const state = (provisioningState?: string, power?: string, extra: Partial<AksState> = {}): AksState => ({
  ...(provisioningState ? { provisioningState } : {}),
  ...(power ? { powerState: { code: power } } : {}),
  ...extra,
});

describe('AKS readiness (provisioningState + powerState)', () => {
  it.each([
    [state('Succeeded', 'Running'), 'ready', 'Succeeded/Running'],
    [state('Creating', 'Running'), 'not-ready', 'Creating/Running'],
    [state('Updating', 'Running'), 'not-ready', 'Updating/Running'],
    [state('Upgrading', 'Running'), 'not-ready', 'Upgrading/Running'],
    [state('Scaling', 'Running'), 'not-ready', 'Scaling/Running'],
    [state('Starting', 'Stopped'), 'not-ready', 'Starting/Stopped'],
    [state('Canceled', 'Running'), 'not-ready', 'Canceled/Running'],
    [state('Succeeded'), 'not-ready', 'Succeeded/Unknown'],
    [state(), 'not-ready', 'Unknown/Unknown'],
    [state('Succeeded', 'Stopped'), 'stopped', 'Succeeded/Stopped'],
    [state('Stopping', 'Running'), 'stopped', 'Stopping/Running'],
    [state('Failed', 'Running'), 'failed', 'Failed/Running'],
    [state('Failed', 'Stopped'), 'failed', 'Failed/Stopped'],
    [state('Deleting', 'Running'), 'deleting', 'Deleting/Running'],
  ])('%o -> %s (%s)', (s, kind, status) => {
    expect(aksReadiness(s)).toMatchObject({ kind, status });
  });

  it('a stopped cluster says why and what to do', () => {
    const r = aksReadiness(state('Succeeded', 'Stopped'));
    expect(r.kind === 'stopped' && r.reason).toMatch(/powerState Stopped.*az aks start/);
  });

  it('Failed carries the provisioning error code and message when AKS reports one', () => {
    expect(aksReadiness(state('Failed', 'Running', { status: { provisioningError: { code: 'QuotaExceeded', message: 'Operation could not be completed as it results in exceeding approved standardDSv5Family Cores quota' } } }))).toEqual({
      kind: 'failed',
      status: 'Failed/Running',
      detail: 'QuotaExceeded: Operation could not be completed as it results in exceeding approved standardDSv5Family Cores quota',
    });
    expect(aksReadiness(state('Failed', 'Running'))).toEqual({ kind: 'failed', status: 'Failed/Running', detail: '' });
  });
});
