/**
 * Placement rules the DaemonSet controller and scheduler apply
 * (https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/,
 * https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/).
 */
import { parseQuantity } from './quantity';
import type { Taint } from './types';

/** Tolerations the DaemonSet controller adds to every daemon pod (pkg/controller/daemon/util). */
export const DAEMON_TOLERATIONS = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
];

/** v1.Toleration.ToleratesTaint: empty key with Exists matches every key; empty effect matches every effect. */
export function tolerates(t: any, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  const op = t.operator ?? 'Equal';
  if (!t.key) return op === 'Exists';
  if (t.key !== taint.key) return false;
  if (op === 'Exists') return true;
  return (t.value ?? '') === (taint.value ?? '');
}

export function untoleratedTaint(tolerations: any[], taints: Taint[]): Taint | undefined {
  return taints
    .filter((tn) => tn.effect === 'NoSchedule' || tn.effect === 'NoExecute')
    .find((tn) => !tolerations.some((t) => tolerates(t, tn)));
}

const isInt = (v: unknown): v is string => typeof v === 'string' && /^[+-]?\d+$/.test(v);

function matchExpr(e: any, value: string | undefined): boolean {
  switch (e.operator) {
    case 'In': return value !== undefined && (e.values ?? []).includes(value);
    case 'NotIn': return value === undefined || !(e.values ?? []).includes(value);
    case 'Exists': return value !== undefined;
    case 'DoesNotExist': return value === undefined;
    // strconv.ParseInt on both sides; a value that is not an integer does not match
    case 'Gt': return isInt(value) && isInt(e.values?.[0]) && Number(value) > Number(e.values[0]);
    case 'Lt': return isInt(value) && isInt(e.values?.[0]) && Number(value) < Number(e.values[0]);
    default: return false;
  }
}

/**
 * nodeSelector plus requiredDuringScheduling node affinity, as component-helpers/scheduling/corev1
 * (GetRequiredNodeAffinity(pod).Match(node)) evaluates them: every nodeSelector label must match; of the
 * node selector terms one must match (terms ORed, requirements ANDed), and a term with no requirements
 * matches no node ("A null or empty node selector term matches no objects", core/v1 NodeSelectorTerm).
 */
export function nodeMatches(podSpec: any, node: any): boolean {
  const labels: Record<string, string> = node.metadata?.labels ?? {};
  for (const [k, v] of Object.entries(podSpec?.nodeSelector ?? {})) if (labels[k] !== v) return false;
  const required = podSpec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (!required) return true;
  const terms: any[] = required.nodeSelectorTerms ?? [];
  return terms.some((term) => {
    const exprs: any[] = term?.matchExpressions ?? [];
    const fields: any[] = term?.matchFields ?? [];
    if (exprs.length === 0 && fields.length === 0) return false;
    return exprs.every((e) => matchExpr(e, labels[e.key])) && fields.every((e) => matchExpr(e, e.key === 'metadata.name' ? node.metadata?.name : undefined));
  });
}

export interface Requests {
  cpu: number;
  memory: number;
}

/** Effective pod requests: sum over containers, max with each init container (limits stand in when no request). */
export function podRequests(podSpec: any): Requests {
  const of = (c: any, r: 'cpu' | 'memory') => parseQuantity(c.resources?.requests?.[r] ?? c.resources?.limits?.[r] ?? 0);
  const sum = { cpu: 0, memory: 0 };
  for (const c of podSpec?.containers ?? []) {
    sum.cpu += of(c, 'cpu');
    sum.memory += of(c, 'memory');
  }
  for (const c of podSpec?.initContainers ?? []) {
    sum.cpu = Math.max(sum.cpu, of(c, 'cpu'));
    sum.memory = Math.max(sum.memory, of(c, 'memory'));
  }
  return sum;
}
