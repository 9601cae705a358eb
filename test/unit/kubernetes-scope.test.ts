import { describe, expect, it } from 'vitest';
import { outOfScopeReason, splitByScope, templateSelectsNode } from '../../shared/platforms/kubernetes/scope';
import type { KubeObject } from '../../shared/platforms/kubernetes/types';

const SELECTION = { operatingSystems: ['linux' as const], architectures: ['amd64' as const, 'arm64' as const] };

function node(name: string, labels: Record<string, string>): KubeObject {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } } };
}
const linux = node('linux-1', { 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64' });
const graviton = node('arm-1', { 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'arm64' });
const windows = node('akswin000000', { 'kubernetes.io/os': 'windows', 'kubernetes.io/arch': 'amd64' });
const s390x = node('z-1', { 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 's390x' });
const unlabelled = node('bare-1', {});

describe('node scope (sensor.nodeSelection)', () => {
  it('Linux amd64 and arm64 nodes are in scope; Windows and other architectures are out, with the reason', () => {
    expect(outOfScopeReason(linux, SELECTION)).toBeUndefined();
    expect(outOfScopeReason(graviton, SELECTION)).toBeUndefined();
    expect(outOfScopeReason(windows, SELECTION)).toBe('kubernetes.io/os=windows: the sensor image supports linux only');
    expect(outOfScopeReason(s390x, SELECTION)).toBe('kubernetes.io/arch=s390x: the sensor image supports amd64, arm64 only');
    expect(outOfScopeReason(unlabelled, SELECTION)).toBe('no kubernetes.io/os label: the sensor image supports linux only');
  });

  it('splits a mixed cluster', () => {
    const { inScope, outOfScope } = splitByScope([linux, windows, graviton, s390x], SELECTION);
    expect(inScope.map((n) => n.metadata.name)).toEqual(['linux-1', 'arm-1']);
    expect(outOfScope.map((o) => o.node)).toEqual(['akswin000000', 'z-1']);
  });
});

describe('templateSelectsNode (nodeSelector + required node affinity)', () => {
  const terms = (...t: unknown[]) => ({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: t } } } });
  it('no placement rules select every node', () => {
    expect(templateSelectsNode({}, windows)).toBe(true);
  });
  it('requirements are ANDed within a term, terms ORed; an empty term selects nothing', () => {
    const linuxAmd = terms({ matchExpressions: [{ key: 'kubernetes.io/os', operator: 'In', values: ['linux'] }, { key: 'kubernetes.io/arch', operator: 'NotIn', values: ['arm64'] }] });
    expect([linux, graviton, windows].map((n) => templateSelectsNode(linuxAmd, n))).toEqual([true, false, false]);
    const either = terms({ matchExpressions: [{ key: 'kubernetes.io/arch', operator: 'In', values: ['s390x'] }] }, { matchExpressions: [{ key: 'kubernetes.io/os', operator: 'In', values: ['windows'] }] });
    expect([linux, windows, s390x].map((n) => templateSelectsNode(either, n))).toEqual([false, true, true]);
    expect(templateSelectsNode(terms({}), linux)).toBe(false);
    expect(templateSelectsNode(terms({ matchExpressions: [{ key: 'kubernetes.io/os', operator: 'Exists' }] }), unlabelled)).toBe(false);
    expect(templateSelectsNode(terms({ matchExpressions: [{ key: 'kubernetes.io/os', operator: 'DoesNotExist' }] }), unlabelled)).toBe(true);
    expect(templateSelectsNode(terms({ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['arm-1'] }] }), graviton)).toBe(true);
  });
  it('a nodeSelector must match as well', () => {
    expect(templateSelectsNode({ nodeSelector: { 'kubernetes.io/os': 'linux' } }, windows)).toBe(false);
    expect(templateSelectsNode({ nodeSelector: { 'kubernetes.io/os': 'linux' }, ...terms({ matchExpressions: [{ key: 'kubernetes.io/arch', operator: 'In', values: ['arm64'] }] }) }, graviton)).toBe(true);
  });
});
