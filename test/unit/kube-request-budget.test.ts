import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient } from '../../shared/platforms/kubernetes/client';
import { DEFAULT_KUBE_REQUEST_BUDGET, RequestBudget } from '../../shared/platforms/kubernetes/request-budget';
import { FakeKubeApiServer } from '../sandbox/kube';

/** A clock the test moves by hand; timers run when the clock passes their time. */
function manualClock() {
  let now = 0;
  const timers: Array<{ at: number; fn: () => void }> = [];
  const realSetTimeout = globalThis.setTimeout;
  return {
    now: () => now,
    install() {
      (globalThis as { setTimeout: unknown }).setTimeout = (fn: () => void, ms: number) => {
        const t = { at: now + ms, fn };
        timers.push(t);
        return t as unknown as NodeJS.Timeout;
      };
    },
    uninstall() {
      globalThis.setTimeout = realSetTimeout;
    },
    async advance(ms: number) {
      now += ms;
      for (;;) {
        const due = timers.filter((t) => t.at <= now).sort((a, b) => a.at - b.at)[0];
        if (!due) break;
        timers.splice(timers.indexOf(due), 1);
        due.fn();
      }
      // let resolved waiters run
      for (let i = 0; i < 5; i++) await Promise.resolve();
    },
  };
}

describe('Kubernetes client request budget (token bucket per API server)', () => {
  it('lets the burst go at once and covers one observe (13 requests in parallel) with the default budget', async () => {
    const budget = new RequestBudget(DEFAULT_KUBE_REQUEST_BUDGET, () => 0);
    const granted: number[] = [];
    await Promise.all(Array.from({ length: 13 }, (_, i) => budget.take().then(() => granted.push(i))));
    expect(granted).toHaveLength(13);
    expect(budget.waiting).toBe(0);
    expect(DEFAULT_KUBE_REQUEST_BUDGET.burst).toBeGreaterThanOrEqual(13);
  });

  it('refills at the sustained rate; requests over budget wait in order and none is dropped', async () => {
    const clock = manualClock();
    clock.install();
    try {
      const budget = new RequestBudget({ qps: 10, burst: 3 }, clock.now);
      const order: number[] = [];
      const all = Array.from({ length: 8 }, (_, i) => budget.take().then(() => order.push(i)));
      await clock.advance(0);
      expect(order).toEqual([0, 1, 2]);
      expect(budget.waiting).toBe(5);
      // 10 per second: one token every 100 ms
      await clock.advance(100);
      expect(order).toEqual([0, 1, 2, 3]);
      await clock.advance(250);
      expect(order).toEqual([0, 1, 2, 3, 4, 5]);
      await clock.advance(1_000);
      await Promise.all(all);
      expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      expect(budget.waiting).toBe(0);
      // a long rest refills to the burst, never beyond it
      await clock.advance(60_000);
      const after: number[] = [];
      for (let i = 0; i < 5; i++) void budget.take().then(() => after.push(i));
      await clock.advance(0);
      expect(after).toEqual([0, 1, 2]);
      await clock.advance(200);
      expect(after).toEqual([0, 1, 2, 3, 4]);
    } finally {
      clock.uninstall();
    }
  });

  it('refuses a budget that could never grant a request', () => {
    expect(() => new RequestBudget({ qps: 0, burst: 10 })).toThrow(/qps > 0/);
    expect(() => new RequestBudget({ qps: 5, burst: 0 })).toThrow(/burst >= 1/);
  });
});

const TOKEN = 'budget-test-token';
const admit = async (token: string) => (token === TOKEN ? 'budget-tester' : null);

describe('KubeClient with its request budget against an API server', () => {
  let server: FakeKubeApiServer;
  beforeAll(async () => {
    server = await FakeKubeApiServer.start();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('still absorbs the server\'s 429 + Retry-After through its retry, each attempt spending a token', async () => {
    const cluster = server.addCluster('budget-429', { nodes: [{ name: 'node-a' }], authenticate: admit });
    cluster.faults = { failNext: { status: 429, count: 2, retryAfterSeconds: 1 } };
    const client = new KubeClient({ server: cluster.endpoint, caPem: server.caPem, token: async () => TOKEN, retry: { attempts: 4, baseDelayMs: 1, maxDelayMs: 5 }, requestBudget: { qps: 50, burst: 2 } });
    try {
      const nodes = await client.list('v1', 'Node');
      expect(nodes.map((n) => n.metadata.name)).toEqual(['node-a']);
      expect(cluster.requests.map((r) => r.status)).toEqual([429, 429, 200]);
    } finally {
      client.close();
    }
  });

  it('sends every request of a burst larger than the budget, none refused by the client', async () => {
    const cluster = server.addCluster('budget-burst', { nodes: [{ name: 'node-b' }], authenticate: admit });
    const client = new KubeClient({ server: cluster.endpoint, caPem: server.caPem, token: async () => TOKEN, requestBudget: { qps: 100, burst: 5 } });
    try {
      const results = await Promise.all(Array.from({ length: 12 }, () => client.get({ apiVersion: 'v1', kind: 'Namespace', name: 'default' })));
      expect(results.every((ns) => ns?.metadata.name === 'default')).toBe(true);
      expect(cluster.requests.filter((r) => r.status === 200)).toHaveLength(12);
    } finally {
      client.close();
    }
  });
});
