import type { SensorfleetConfig } from '../config/schema';
import { formatClusterRef, type ClusterRef } from '../domain/cluster-ref';
import type { ClusterPlan, ConnectedCluster, DesiredSensor, PlanOptions, PlatformAdapter } from '../platforms/types';
import { adapterFor, type AdapterRegistry } from './adapters';
import { decideVersion, withSensorVersion, type VersionChoice } from './desired-version';
import type { VersionDecision } from '../state/records';

/** The first half of a reconcile: connect, observe, plan. Kept in memory so a run observes each cluster once. */
export type Assessment =
  | {
      kind: 'planned';
      ref: ClusterRef;
      adapter: PlatformAdapter<any, any, any>;
      connected: ConnectedCluster;
      plan: ClusterPlan;
      /** With a version choice: the desired sensor at the version decided for this cluster, and why. */
      desired?: DesiredSensor;
      version?: VersionDecision;
    }
  | { kind: 'skipped'; ref: ClusterRef; message: string; status?: string };

export async function assessCluster(
  ref: ClusterRef,
  registry: AdapterRegistry,
  desired: DesiredSensor,
  options: PlanOptions & { version?: VersionChoice },
): Promise<Assessment> {
  const adapter = adapterFor(registry, ref.platform);
  const connected = await adapter.connect(ref);
  const skip = skipReason(connected.tags, desired.config);
  if (skip) return { kind: 'skipped', ref, message: skip, status: connected.status };
  const choice = options.version;
  const first = choice?.kind === 'fixed' ? withSensorVersion(desired, choice.decision.desired) : desired;
  const observed = await adapter.observe(connected, first);
  let plan = adapter.plan(first, observed, options);
  if (!choice) return { kind: 'planned', ref, adapter, connected, plan: { ...plan, cluster: formatClusterRef(ref) } };
  // keep-running: the plan is pure, so planning again at the running version costs nothing
  const version = decideVersion(choice, plan.sensorVersion.current);
  const chosen = withSensorVersion(desired, version.desired);
  if (chosen !== first) plan = adapter.plan(chosen, observed, options);
  return { kind: 'planned', ref, adapter, connected, plan: { ...plan, cluster: formatClusterRef(ref) }, desired: chosen, version };
}

function skipReason(tags: Record<string, string>, config: SensorfleetConfig): string | undefined {
  const { key, value } = config.skipTag;
  return tags[key] === value ? `skipped: cluster is tagged ${key}=${value}` : undefined;
}

/** Actions that change something (findings are informational). */
export function changesOf(plan: ClusterPlan): ClusterPlan['actions'] {
  return plan.actions.filter((a) => a.type !== 'finding');
}
