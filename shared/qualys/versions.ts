/**
 * Sensor versions: image tags look like 1.34.1-0; whether the API's sensorVersion carries the
 * "-BUILD" suffix is [I] (qualys-cs-api.md §3). Compare X.Y.Z; the build only when both have one.
 */
export function sameSensorVersion(a: string, b: string): boolean {
  const x = parseVersion(a);
  const y = parseVersion(b);
  if (!x || !y) return a.trim() === b.trim();
  if (x.core !== y.core) return false;
  return x.build === undefined || y.build === undefined || x.build === y.build;
}

function parseVersion(v: string): { core: string; build?: string } | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)(?:-(\d+))?$/.exec(v.trim());
  if (!m) return undefined;
  return { core: `${Number(m[1])}.${Number(m[2])}.${Number(m[3])}`, ...(m[4] !== undefined ? { build: String(Number(m[4])) } : {}) };
}
