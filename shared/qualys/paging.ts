import type { z } from 'zod';
import type { QualysClient } from './client';
import { listEnvelope } from './schemas';

/** Non-bulk list endpoints return at most 10,000 records (DOCS-CONT-LIST [C]; assumed for all lists [I]). */
export const MAX_LIST_RECORDS = 10_000;

/** Told after each page of a list (CLI progress). */
export type PageListener = (p: { operation: string; page: number; records: number; total?: number }) => void;

/**
 * Every page of a v1.3 list: pageNumber is 1-based, pageSize as configured (qualys-cs-api.md §1.3).
 * Stops on 204 (empty, [C3]/[I]), on a short page, or once `count` records were read.
 */
export async function listAllPages<S extends z.ZodTypeAny>(
  client: QualysClient,
  opts: { operation: string; path: string; item: S; pageSize: number; query?: Record<string, string | undefined>; onPage?: PageListener },
): Promise<Array<z.infer<S>>> {
  const schema = listEnvelope(opts.item);
  const out: Array<z.infer<S>> = [];
  const maxPages = Math.ceil(MAX_LIST_RECORDS / opts.pageSize);
  for (let pageNumber = 1; pageNumber <= maxPages; pageNumber++) {
    const res = await client.request({
      operation: opts.operation,
      method: 'GET',
      path: opts.path,
      query: { ...opts.query, pageNumber, pageSize: opts.pageSize },
      schema,
    });
    const page = (res.data?.data ?? []) as Array<z.infer<S>>;
    out.push(...page);
    const count = res.data?.count ?? undefined;
    opts.onPage?.({ operation: opts.operation, page: pageNumber, records: out.length, ...(typeof count === 'number' ? { total: count } : {}) });
    if (res.status === 204 || page.length < opts.pageSize || (typeof count === 'number' && out.length >= count)) break;
  }
  return out;
}
