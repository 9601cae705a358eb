/**
 * The small part of QQL the fake understands: `field:value` terms joined by "and", values optionally
 * quoted, `*` as a wildcard (e.g. `status:UNKNOWN`, `registryUri:"https://..."`, `scheduleUuid:*`;
 * token syntax per qualys-cs-api.md §1.5-1.7). Anything else is refused with 400, as a real parser would.
 */
export type Predicate = (item: Record<string, unknown>) => boolean;

export class QqlError extends Error {}

export function parseQql(filter: string | undefined): Predicate {
  if (!filter || !filter.trim()) return () => true;
  const terms = filter.split(/\s+and\s+/i).map((t) => {
    const m = /^\s*([A-Za-z][\w.]*)\s*:\s*("([^"]*)"|(\S+))\s*$/.exec(t);
    if (!m) throw new QqlError(`Invalid filter: ${t}`);
    const field = m[1]!;
    const value = (m[3] ?? m[4] ?? '').toLowerCase();
    const re = new RegExp(`^${value.split('*').map(escape).join('.*')}$`);
    return (item: Record<string, unknown>) => {
      const v = field.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), item);
      return v !== undefined && v !== null && re.test(String(v).toLowerCase());
    };
  });
  return (item) => terms.every((t) => t(item));
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
