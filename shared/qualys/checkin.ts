import type { QualysApi } from './api';
import type { Sensor } from './schemas';
import { hostVariants, isUnknown, parseTimestamp } from './sensor-fields';
import { sameSensorVersion } from './versions';

export interface ClusterNodes {
  /** Canonical cluster reference (DESIGN §4). */
  cluster: string;
  nodes: Array<{ name: string; hostname?: string }>;
  desiredVersion: string;
}

/** A cluster's known nodes (inventory item or verified coverage) as the matcher's input. */
export function clusterNodesOf(cluster: string, known: { nodeNames?: string[]; hostnames?: Record<string, string> } | undefined, desiredVersion: string): ClusterNodes {
  return {
    cluster,
    nodes: (known?.nodeNames ?? []).map((name) => ({ name, ...(known?.hostnames?.[name] ? { hostname: known.hostnames[name] } : {}) })),
    desiredVersion,
  };
}

export interface ClusterCheckIn {
  cluster: string;
  desiredVersion: string;
  nodes: number;
  checkedIn: number;
  /** Nodes with no sensor record, or one that never checked in. */
  neverCheckedIn: string[];
  /** Nodes whose sensor stopped checking in (status UNKNOWN). */
  silent: string[];
  versionMismatch: Array<{ node: string; sensorVersion: string }>;
}

/**
 * Pure: matches each node to its sensor. A sensor reports the Kubernetes node name in
 * cluster.k8s.node.name (v1.3 [C3]) and its host name; the cluster info decides between a
 * Kubernetes sensor and a host (ECS) one. When several records match a node (a re-registered
 * sensor), the one that checked in last counts.
 */
export function matchCheckIns(sensors: Sensor[], input: ClusterNodes): ClusterCheckIn {
  const kubernetes = !input.cluster.startsWith('aws-ecs:');
  const byNode = new Map<string, Sensor[]>();
  const byHost = new Map<string, Sensor[]>();
  const add = (m: Map<string, Sensor[]>, k: string, s: Sensor) => m.set(k, [...(m.get(k) ?? []), s]);
  for (const s of sensors) {
    const isK8s = Boolean(s.cluster?.k8s?.node?.name) || String(s.cluster?.type ?? '').toLowerCase() === 'kubernetes';
    if (isK8s !== kubernetes) continue;
    if (s.cluster?.k8s?.node?.name) add(byNode, s.cluster.k8s.node.name.toLowerCase(), s);
    if (s.hostname) for (const v of hostVariants(s.hostname)) add(byHost, v, s);
  }
  const out: ClusterCheckIn = { cluster: input.cluster, desiredVersion: input.desiredVersion, nodes: input.nodes.length, checkedIn: 0, neverCheckedIn: [], silent: [], versionMismatch: [] };
  for (const node of input.nodes) {
    const found = byNode.get(node.name.toLowerCase()) ?? [node.hostname, node.name].flatMap((h) => (h ? hostVariants(h).flatMap((v) => byHost.get(v) ?? []) : []));
    const sensor = latest(found);
    if (!sensor || parseTimestamp(sensor.lastCheckedIn) === undefined) {
      out.neverCheckedIn.push(node.name);
      continue;
    }
    if (isUnknown(sensor)) {
      out.silent.push(node.name);
      continue;
    }
    out.checkedIn++;
    if (sensor.sensorVersion && !sameSensorVersion(sensor.sensorVersion, input.desiredVersion)) out.versionMismatch.push({ node: node.name, sensorVersion: sensor.sensorVersion });
  }
  return out;
}

function latest(list: Sensor[]): Sensor | undefined {
  return [...list].sort((a, b) => (parseTimestamp(b.lastCheckedIn) ?? -1) - (parseTimestamp(a.lastCheckedIn) ?? -1))[0];
}

/** One sensor listing for every cluster. */
export async function sensorCheckIn(api: QualysApi, clusters: ClusterNodes[]): Promise<ClusterCheckIn[]> {
  const sensors = await api.listSensors();
  return clusters.map((c) => matchCheckIns(sensors, c));
}

/** Health gate for a version ring: every node's sensor checked in, is alive, and runs the desired version. */
export function checkInGate(report: ClusterCheckIn | ClusterCheckIn[]): { pass: boolean; reason: string } {
  const list = Array.isArray(report) ? report : [report];
  const problems: string[] = [];
  for (const r of list) {
    const parts: string[] = [];
    if (r.neverCheckedIn.length) parts.push(`${r.neverCheckedIn.length} of ${r.nodes} node(s) never checked in (${r.neverCheckedIn.slice(0, 3).join(', ')}${r.neverCheckedIn.length > 3 ? ', ...' : ''})`);
    if (r.silent.length) parts.push(`${r.silent.length} sensor(s) stopped checking in`);
    if (r.versionMismatch.length) parts.push(`${r.versionMismatch.length} sensor(s) not on ${r.desiredVersion} (${r.versionMismatch.slice(0, 3).map((v) => `${v.node}: ${v.sensorVersion}`).join(', ')})`);
    if (parts.length) problems.push(`${r.cluster}: ${parts.join('; ')}`);
  }
  if (problems.length) return { pass: false, reason: problems.join(' | ') };
  const nodes = list.reduce((n, r) => n + r.nodes, 0);
  return { pass: true, reason: `${nodes} node(s) in ${list.length} cluster(s): every sensor checked in on the desired version` };
}
