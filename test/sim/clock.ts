/**
 * A virtual clock for the fan-out simulation: time moves only when every piece of in-process work has
 * run as far as it can, then jumps to the next timer. Latencies, backoffs, Wait states and visibility
 * timeouts cost no real time, so a night of 10,000 clusters runs in minutes; CPU time the handlers
 * spend is NOT virtual time (it is measured and reported separately).
 *
 * install() replaces the timers and Date the product sees (globalThis.setTimeout & co., Date,
 * node:timers/promises) with the clock's; the simulation's own driver keeps the real ones (realTimers).
 */
import { syncBuiltinESMExports } from 'node:module';
import timersPromises from 'node:timers/promises';

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

export class VirtualClock {
  private nowMs: number;
  private seq = 0;
  /** Binary min-heap by (at, seq). */
  private heap: Timer[] = [];
  /** Work outside the clock's control (real I/O) in flight: the clock waits for it before it jumps. */
  private external = 0;
  /** Active I/O handles that are long-lived (see activeIo). */
  private ioBaseline = 0;
  /** For diagnostics: loop iterations of run() and where it is. */
  loops = 0;
  phase = 'idle';

  constructor(startMs: number) {
    this.nowMs = startMs;
  }

  now(): number {
    return this.nowMs;
  }

  /** Runs fn when the clock reaches now + ms (timers at the same time run in the order they were set). */
  schedule(ms: number, fn: () => void): Timer {
    const t: Timer = { at: this.nowMs + Math.max(0, Number.isFinite(ms) ? ms : 0), seq: this.seq++, fn, cancelled: false };
    this.push(t);
    return t;
  }

  cancel(t: Timer | undefined): void {
    if (t) t.cancelled = true;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.schedule(ms, resolve));
  }

  pending(): number {
    return this.heap.filter((t) => !t.cancelled).length;
  }

  /** Real work (I/O) the clock must not jump past; call the returned function when it is done. */
  hold(): () => void {
    this.external++;
    let done = false;
    return () => {
      if (!done) (done = true), this.external--;
    };
  }

  /**
   * Fires the earliest timer (and every other timer due at the same instant); false when none is left.
   * The caller lets in-process work settle between steps (see run()).
   */
  step(): boolean {
    let t = this.pop();
    while (t?.cancelled) t = this.pop();
    if (!t) return false;
    this.nowMs = Math.max(this.nowMs, t.at);
    t.fn();
    while (this.heap[0] && (this.heap[0].cancelled || this.heap[0].at <= this.nowMs)) {
      const next = this.pop()!;
      if (!next.cancelled) next.fn();
    }
    return true;
  }

  /**
   * Drives the clock until done() is true: let every microtask and immediate run (nothing in the
   * simulation does real I/O except what hold() announces), then jump to the next timer.
   */
  async run(done: () => boolean, o: { maxVirtualMs?: number; settle?: () => Promise<void> } = {}): Promise<void> {
    const settle = o.settle ?? settleRealLoop;
    const limit = o.maxVirtualMs === undefined ? Infinity : this.nowMs + o.maxVirtualMs;
    let waitedSince: number | undefined;
    let idleSince: number | undefined;
    for (;;) {
      this.phase = 'settle';
      await settle();
      this.loops++;
      this.phase = 'check';
      const active = activeIo();
      if (active < this.ioBaseline) this.ioBaseline = active;
      if (this.external > 0 || active > this.ioBaseline) {
        // what stays active past the limit is long-lived (a port some library keeps open): the new baseline
        if ((waitedSince ??= performance.now()) < performance.now() - IO_WAIT_LIMIT_MS && this.external === 0) this.ioBaseline = active;
        else {
          await new Promise((r) => realTimers.setTimeout(r, 1));
          continue;
        }
      }
      waitedSince = undefined;
      if (done()) return void (this.phase = 'done');
      if (this.peekAt() > limit) return void (this.phase = 'limit');
      if (this.heap.length === 0) {
        // nothing scheduled and nothing known in flight, yet not done: give real work a moment before giving up
        if ((idleSince ??= performance.now()) < performance.now() - IDLE_LIMIT_MS) return;
        await new Promise((r) => realTimers.setTimeout(r, 1));
        continue;
      }
      idleSince = undefined;
      this.step();
    }
  }

  private peekAt(): number {
    return this.heap[0]?.at ?? Infinity;
  }

  private less(a: Timer, b: Timer): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(t: Timer): void {
    const h = this.heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): Timer | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

/** The real timers, kept before install() replaces them. */
/** Runs work (SDK calls against the stand-ins) on the virtual clock until it settles; its result, or its error. */
export async function runSettled<T>(clock: VirtualClock, work: () => Promise<T>): Promise<T> {
  let out: { ok: true; value: T } | { ok: false; err: unknown } | undefined;
  void work().then(
    (value) => (out = { ok: true, value }),
    (err) => (out = { ok: false, err }),
  );
  await clock.run(() => out !== undefined);
  if (!out) throw new Error('the work never finished');
  if (!out.ok) throw out.err;
  return out.value;
}

export const realTimers = {
  setTimeout: globalThis.setTimeout.bind(globalThis),
  setImmediate: globalThis.setImmediate.bind(globalThis),
  clearTimeout: globalThis.clearTimeout.bind(globalThis),
  Date: globalThis.Date,
};

/**
 * Long-lived handles (timers, stdio, servers) do not count; anything else active is real I/O in flight
 * (a file read by the SDK's config loader, a thread-pool job, an import() answered by the module-hooks
 * thread: a MessagePort while it is pending) that the clock must not jump past.
 */
const LONG_LIVED = new Set(['Timeout', 'Immediate', 'TTYWrap', 'PipeWrap', 'TCPWrap', 'TCPServerWrap', 'ProcessWrap', 'SignalWrap', 'FSEventWrap', 'StatWatcher', 'UDPWRAP', 'Pipe', 'PipeServerWrap']);
/** With no timer left and the caller not done, run() waits this long (real) for work to reappear. */
const IDLE_LIMIT_MS = 10_000;
/** A handle still active after this long is taken for long-lived too (the clock goes on). */
const IO_WAIT_LIMIT_MS = 500;

export function activeIo(): number {
  return process.getActiveResourcesInfo().filter((r) => !LONG_LIVED.has(r)).length;
}

/** Every pending microtask, nextTick and immediate of in-process work has run. */
async function settleRealLoop(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((r) => realTimers.setImmediate(r));
}

/** A handle that looks enough like Node's Timeout for code that calls unref()/ref()/hasRef(). */
class VirtualTimeout {
  cleared = false;
  constructor(public timer: ReturnType<VirtualClock['schedule']>) {}
  unref(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  hasRef(): boolean {
    return true;
  }
  refresh(): this {
    return this;
  }
  [Symbol.toPrimitive](): number {
    return this.timer.seq;
  }
}

/**
 * Makes the clock the process's time: setTimeout/setInterval/clear*, Date (now and new Date()) and
 * node:timers/promises setTimeout. Returns the function that puts the real ones back.
 */
export function installVirtualClock(clock: VirtualClock): () => void {
  const g = globalThis as any;
  const saved = { setTimeout: g.setTimeout, clearTimeout: g.clearTimeout, setInterval: g.setInterval, clearInterval: g.clearInterval, Date: g.Date, tp: timersPromises.setTimeout };
  const RealDate = realTimers.Date;
  g.setTimeout = (fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => new VirtualTimeout(clock.schedule(ms ?? 0, () => fn(...args)));
  g.clearTimeout = (t: unknown) => {
    if (t instanceof VirtualTimeout) {
      t.cleared = true;
      clock.cancel(t.timer);
    }
    else if (t !== undefined) realTimers.clearTimeout(t as NodeJS.Timeout);
  };
  g.setInterval = (fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const period = Math.max(1, ms ?? 0);
    const handle = new VirtualTimeout(
      clock.schedule(period, function tick() {
        fn(...args);
        if (!handle.cleared) handle.timer = clock.schedule(period, tick);
      }),
    );
    return handle;
  };
  g.clearInterval = g.clearTimeout;
  class VirtualDate extends RealDate {
    constructor(...args: unknown[]) {
      if (args.length === 0) super(clock.now());
      else super(...(args as [number]));
    }
    static override now(): number {
      return clock.now();
    }
  }
  g.Date = VirtualDate;
  (timersPromises as { setTimeout: unknown }).setTimeout = <T>(ms?: number, value?: T) => clock.sleep(ms ?? 0).then(() => value as T);
  syncBuiltinESMExports();
  return () => {
    Object.assign(g, { setTimeout: saved.setTimeout, clearTimeout: saved.clearTimeout, setInterval: saved.setInterval, clearInterval: saved.clearInterval, Date: saved.Date });
    (timersPromises as { setTimeout: unknown }).setTimeout = saved.tp;
    syncBuiltinESMExports();
  };
}
