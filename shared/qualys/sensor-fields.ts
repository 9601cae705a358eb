import type { Sensor } from './schemas';

/** Id used for deletion: the docs call them "sensor UUIDs" (DOCS-SENSOR-DEL [C]); sensorId as a fallback [I]. */
export function sensorDeleteId(s: Sensor): string | undefined {
  return s.uuid ?? s.sensorId ?? undefined;
}

export function isUnknown(s: Sensor): boolean {
  return String(s.status ?? '').toUpperCase() === 'UNKNOWN';
}

/** Epoch-ms strings on the wire [C]; numbers and ISO dates accepted defensively. */
export function parseTimestamp(v: string | number | null | undefined): number | undefined {
  if (v === null || v === undefined || v === '') return undefined;
  const n = typeof v === 'number' ? v : /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  return Number.isFinite(n) ? n : undefined;
}

/** Names a sensor may be known by on the fleet side: host name (full and short) and Kubernetes node name. */
export function sensorHostNames(s: Sensor): string[] {
  const names = [s.hostname, s.cluster?.k8s?.node?.name].filter((x): x is string => typeof x === 'string' && x.length > 0);
  return [...new Set(names.flatMap(hostVariants))];
}

export function hostVariants(name: string): string[] {
  const n = name.trim().toLowerCase();
  const short = n.split('.')[0] ?? n;
  return short && short !== n ? [n, short] : [n];
}
