/**
 * A share of requests failing at random, for the fault suite: one switch object each fake (the AWS
 * front, a Kubernetes cluster, the Qualys CS API) consults per request; each fake answers the fault in
 * its own wire format (throttling with its retry hint, a 5xx, a dropped connection, or — for a write —
 * the write done and then a 5xx, the ambiguous failure). Seeded, so a run can be repeated; it counts
 * what it injected, per kind and per service.
 */
export type FaultKind = 'throttle' | 'server-error' | 'drop' | 'after-commit';

export const ALL_FAULTS: readonly FaultKind[] = ['throttle', 'server-error', 'drop', 'after-commit'];

export class RandomFaults {
  readonly injected: Record<FaultKind, number> = { throttle: 0, 'server-error': 0, drop: 0, 'after-commit': 0 };
  readonly byService = new Map<string, number>();
  /** Requests the switch was asked about (the denominator of the rate). */
  seen = 0;
  /** Writes that were made and then answered with an error (what a fake committed without saying so). */
  readonly afterCommit: { service: string; operation: string }[] = [];
  private state: number;
  private suspended = 0;

  constructor(
    readonly rate: number,
    private readonly o: { seed?: number; kinds?: readonly FaultKind[]; only?: (service: string, operation: string) => boolean } = {},
  ) {
    this.state = (o.seed ?? 1) >>> 0;
  }

  /** The fault this request gets, if any. `mutating`: only writes can fail after committing. */
  pick(service: string, operation: string, mutating: boolean): FaultKind | undefined {
    if (this.suspended > 0 || (this.o.only && !this.o.only(service, operation))) return undefined;
    this.seen++;
    if (this.next() >= this.rate) return undefined;
    const kinds = (this.o.kinds ?? ALL_FAULTS).filter((k) => k !== 'after-commit' || mutating);
    const kind = kinds[Math.floor(this.next() * kinds.length)]!;
    this.injected[kind]++;
    this.byService.set(service, (this.byService.get(service) ?? 0) + 1);
    if (kind === 'after-commit') this.afterCommit.push({ service, operation });
    return kind;
  }

  /** Runs `fn` with no fault injected (a test's own reads of the fleet table, say). */
  async quiet<T>(fn: () => Promise<T>): Promise<T> {
    this.suspended++;
    try {
      return await fn();
    } finally {
      this.suspended--;
    }
  }

  get total(): number {
    return Object.values(this.injected).reduce((a, b) => a + b, 0);
  }

  /** mulberry32 */
  private next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}
