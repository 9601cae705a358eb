/**
 * Which nodes the sensor can run on at all: the operating systems and CPU architectures its image
 * supports (config sensor.nodeSelection), read from the well-known node labels the kubelet sets
 * (https://kubernetes.io/docs/reference/labels-annotations-taints/#kubernetes-io-os, #kubernetes-io-arch).
 * The DaemonSet requires them through node affinity; nodes outside are out of scope, not uncovered.
 * Also a small evaluator of a pod spec's required node placement (nodeSelector + required node affinity,
 * as component-helpers/scheduling/corev1/nodeaffinity matches them), so coverage can tell whether the
 * live DaemonSet selects the same nodes as we do. Pure.
 */
import type { SensorConfig } from '../../config/schema';
import type { OutOfScopeNode } from '../types';
import type { KubeObject } from './types';

export const OS_LABEL = 'kubernetes.io/os';
export const ARCH_LABEL = 'kubernetes.io/arch';

export type NodeSelection = SensorConfig['nodeSelection'];

/** The DaemonSet's required node affinity for the selection. */
export function selectionAffinity(selection: NodeSelection): Record<string, unknown> {
  return {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [
          {
            matchExpressions: [
              { key: OS_LABEL, operator: 'In', values: [...selection.operatingSystems] },
              { key: ARCH_LABEL, operator: 'In', values: [...selection.architectures] },
            ],
          },
        ],
      },
    },
  };
}

/** Why the node is outside the selection, or undefined when the sensor image runs there. */
export function outOfScopeReason(node: KubeObject, selection: NodeSelection): string | undefined {
  const labels = node.metadata.labels ?? {};
  const check = (label: string, supported: readonly string[]): string | undefined => {
    const value = labels[label];
    if (value !== undefined && supported.includes(value)) return undefined;
    const have = value === undefined ? `no ${label} label` : `${label}=${value}`;
    return `${have}: the sensor image supports ${supported.join(', ')} only`;
  };
  return check(OS_LABEL, selection.operatingSystems) ?? check(ARCH_LABEL, selection.architectures);
}

/** Nodes the sensor can run on, and the others with their reason. */
export function splitByScope(nodes: KubeObject[], selection: NodeSelection): { inScope: KubeObject[]; outOfScope: OutOfScopeNode[] } {
  const inScope: KubeObject[] = [];
  const outOfScope: OutOfScopeNode[] = [];
  for (const node of nodes) {
    const reason = outOfScopeReason(node, selection);
    if (reason) outOfScope.push({ node: node.metadata.name, reason });
    else inScope.push(node);
  }
  return { inScope, outOfScope };
}

interface Requirement {
  key: string;
  operator: string;
  values?: string[];
}

function matchesRequirement(r: Requirement, value: string | undefined): boolean {
  switch (r.operator) {
    case 'In': return value !== undefined && (r.values ?? []).includes(value);
    case 'NotIn': return value === undefined || !(r.values ?? []).includes(value);
    case 'Exists': return value !== undefined;
    case 'DoesNotExist': return value === undefined;
    case 'Gt': return value !== undefined && Number.parseInt(value, 10) > Number.parseInt(r.values?.[0] ?? '', 10);
    case 'Lt': return value !== undefined && Number.parseInt(value, 10) < Number.parseInt(r.values?.[0] ?? '', 10);
    default: return false;
  }
}

/**
 * Whether a pod template's required placement admits the node: every nodeSelector label, and one of
 * the required node affinity terms (terms ORed, requirements ANDed; an empty term matches nothing).
 */
export function templateSelectsNode(podSpec: any, node: KubeObject): boolean {
  const labels: Record<string, string> = node.metadata.labels ?? {};
  for (const [k, v] of Object.entries<string>(podSpec?.nodeSelector ?? {})) if (labels[k] !== v) return false;
  const required = podSpec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (!required) return true;
  const terms: any[] = required.nodeSelectorTerms ?? [];
  return terms.some((term) => {
    const exprs: Requirement[] = term?.matchExpressions ?? [];
    const fields: Requirement[] = term?.matchFields ?? [];
    if (exprs.length === 0 && fields.length === 0) return false;
    return exprs.every((e) => matchesRequirement(e, labels[e.key])) && fields.every((f) => matchesRequirement(f, f.key === 'metadata.name' ? node.metadata.name : undefined));
  });
}
