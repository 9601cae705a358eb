/**
 * A client-side request budget for one Kubernetes API server: a token bucket that every attempt of the
 * KubeClient takes a token from before it is sent. A request over budget waits (in order, never dropped)
 * until a token is there, as client-go's flowcontrol.TokenBucketRateLimiter does
 * (https://pkg.go.dev/k8s.io/client-go/util/flowcontrol).
 *
 * The numbers are controller-runtime's defaults for a controller's client, QPS 20 and burst 30
 * (sigs.k8s.io/controller-runtime/pkg/client/config GetConfigWithContext: "if cfg.QPS == 0.0 { cfg.QPS = 20.0;
 * cfg.Burst = 30.0 }"), rather than client-go's bare QPS 5 / burst 10: the burst covers one reconcile's
 * observe (one GET per managed object plus the node list: 13 requests in parallel), so `sensorfleet plan`
 * never waits, and a drifted reconcile's applies right after it wait at most about a second.
 * The API server itself enforces API Priority and Fairness (concurrency shares per priority level, 429 +
 * Retry-After when its queues are full, https://kubernetes.io/docs/concepts/cluster-administration/flow-control/);
 * those 429s stay the retry policy's business: each retry takes a token again.
 */
export interface RequestBudgetSpec {
  /** Tokens added per second (sustained requests per second). */
  qps: number;
  /** Bucket size: requests that may go out at once after a quiet spell. */
  burst: number;
}

export const DEFAULT_KUBE_REQUEST_BUDGET: RequestBudgetSpec = { qps: 20, burst: 30 };

export class RequestBudget {
  private tokens: number;
  private at: number;
  /** Waiters in arrival order; each holds the token it was promised. */
  private queue: Array<() => void> = [];
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly spec: RequestBudgetSpec = DEFAULT_KUBE_REQUEST_BUDGET,
    private readonly now: () => number = () => Date.now(),
  ) {
    if (!(spec.qps > 0) || !(spec.burst >= 1)) throw new Error(`request budget needs qps > 0 and burst >= 1 (got qps ${spec.qps}, burst ${spec.burst})`);
    this.tokens = spec.burst;
    this.at = now();
  }

  /** Resolves when this request may be sent: at once while tokens remain, else when its token has been refilled. */
  take(): Promise<void> {
    this.refill();
    if (this.queue.length === 0 && this.tokens >= 1) {
      this.tokens -= 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.queue.push(resolve);
      this.schedule();
    });
  }

  /** Requests waiting for a token now. */
  get waiting(): number {
    return this.queue.length;
  }

  private refill(): void {
    const now = this.now();
    if (now > this.at) {
      this.tokens = Math.min(this.spec.burst, this.tokens + ((now - this.at) / 1000) * this.spec.qps);
      this.at = now;
    }
  }

  private schedule(): void {
    if (this.timer !== undefined) return;
    const missing = Math.max(0, 1 - this.tokens);
    const waitMs = Math.max(1, Math.ceil((missing / this.spec.qps) * 1000));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.refill();
      while (this.queue.length > 0 && this.tokens >= 1) {
        this.tokens -= 1;
        this.queue.shift()!();
      }
      if (this.queue.length > 0) this.schedule();
    }, waitMs);
  }
}
