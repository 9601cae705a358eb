import { AsyncLocalStorage } from 'node:async_hooks';

/** One request made to an external API (AWS, a Kubernetes API server, Qualys, Azure, GCP). */
export interface ApiCall {
  service: string;
  operation: string;
  mutating: boolean;
}

/**
 * Counts the API calls made while it is active. Scopes nest: a call is counted by every active
 * scope, so a run can count its total while each cluster counts its own. Adapters record every
 * call through `recordApiCall`; nothing needs to be passed down the call chain.
 */
export class CallCounter {
  readonly calls: ApiCall[] = [];

  get reads(): number {
    return this.calls.filter((c) => !c.mutating).length;
  }

  get writes(): number {
    return this.calls.filter((c) => c.mutating).length;
  }

  byOperation(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const c of this.calls) {
      const key = `${c.service}:${c.operation}`;
      out[key] = (out[key] ?? 0) + 1;
    }
    return out;
  }
}

const active = new AsyncLocalStorage<CallCounter[]>();

export function countCalls<T>(counter: CallCounter, fn: () => Promise<T>): Promise<T> {
  const outer = active.getStore() ?? [];
  return active.run([...outer, counter], fn);
}

export function recordApiCall(call: ApiCall): void {
  for (const counter of active.getStore() ?? []) counter.calls.push(call);
}

const READ_PREFIXES = ['Describe', 'List', 'Get', 'Receive', 'Query', 'Scan', 'BatchGet', 'Head'];

/** AWS operation names follow a verb convention; reads start with one of these verbs. */
export function isMutatingAwsOperation(operation: string): boolean {
  return !READ_PREFIXES.some((p) => operation.startsWith(p));
}
