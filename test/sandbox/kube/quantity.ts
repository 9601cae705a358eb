/**
 * Kubernetes resource quantities (https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/quantity/):
 * decimal SI (m, k, M, G, T), binary SI (Ki, Mi, Gi, Ti) and plain/exponent numbers. CPU in cores, memory in bytes.
 */
const SUFFIX: Record<string, number> = {
  '': 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15,
  Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4, Pi: 1024 ** 5,
};

export function parseQuantity(q: string | number | undefined): number {
  if (q === undefined) return 0;
  if (typeof q === 'number') return q;
  const m = /^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(m|k|M|G|T|P|Ki|Mi|Gi|Ti|Pi)?$/.exec(q.trim());
  if (!m) throw new Error(`quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': ${q}`);
  return Number(m[1]) * SUFFIX[m[2] ?? '']!;
}

export function isQuantity(q: unknown): boolean {
  if (typeof q === 'number') return true;
  if (typeof q !== 'string') return false;
  try {
    parseQuantity(q);
    return true;
  } catch {
    return false;
  }
}
