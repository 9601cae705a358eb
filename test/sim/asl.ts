/**
 * A small Amazon States Language interpreter for the fan-out simulation: it runs the rollout state
 * machine exactly as serverless.yml defines it (read at run time), on the virtual clock, and checks
 * the Standard-workflow limits while it does
 * (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html):
 *   - execution input and every state's input/output at most 256 KB (262,144 bytes, UTF-8);
 *   - at most 25,000 events in an execution's history (a Distributed Map's child executions each
 *     have a history of their own);
 *   - an Inline Map runs at most 40 iterations at once.
 * State types: Task (request-response and .waitForTaskToken, with Retry/Catch/TimeoutSeconds), Map
 * (INLINE and DISTRIBUTED with inline items, ItemSelector/Parameters, ItemBatcher, MaxConcurrency,
 * tolerated failures), Parallel, Choice, Wait, Pass, Succeed, Fail. Task resources are handed to a
 * resolver (the stand-ins); callbacks are answered through the Step Functions API (SendTaskSuccess /
 * SendTaskFailure) that this class also serves.
 * History events are counted as Step Functions writes them: {Type}StateEntered/Exited per state;
 * TaskScheduled, TaskStarted, (TaskSubmitted for callbacks,) TaskSucceeded/Failed/TimedOut per attempt;
 * MapStateStarted/Succeeded and MapIterationStarted/Succeeded per iteration (inline); MapRunStarted/
 * Succeeded for a Distributed Map; ExecutionStarted/Succeeded/Failed.
 */
import { randomUUID } from 'node:crypto';
import { AwsError } from './aws-json';
import type { VirtualClock } from './clock';
import { applyResultPath, fillTemplate, hasPath, readPath, StatesError } from './asl-paths';

export const SFN_LIMITS = { payloadBytes: 262_144, historyEvents: 25_000, inlineMapConcurrency: 40 };

export type TaskResolver = (resource: string, parameters: unknown) => Promise<unknown>;

export interface LimitCheck {
  executionInputBytes: number;
  maxStatePayloadBytes: number;
  /** The largest history of any execution (parent or Distributed Map child). */
  maxHistoryEvents: number;
  historyEventsByExecution: Record<string, number>;
  violations: { limit: string; value: number; max: number; where: string }[];
}

interface Ctx {
  exec: ExecutionRun;
  /** Where this branch's history events go (a Distributed Map child has its own). */
  history: { name: string; events: number };
  abort: AbortScope;
  context: Record<string, any>;
}

class AbortScope {
  aborted = false;
  private readonly listeners = new Set<() => void>();
  constructor(private readonly parent?: AbortScope) {
    parent?.listeners.add(() => this.abort());
  }
  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    for (const l of this.listeners) l();
  }
  onAbort(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
  get isAborted(): boolean {
    return this.aborted || (this.parent?.isAborted ?? false);
  }
}

export interface ExecutionRun {
  arn: string;
  name: string;
  input: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED';
  startedAt: number;
  stoppedAt?: number;
  output?: unknown;
  error?: { error: string; cause: string };
  done: Promise<void>;
}

export class StateMachineSim {
  readonly executions = new Map<string, ExecutionRun>();
  private readonly tokens = new Map<string, { resolve: (v: unknown) => void; reject: (e: StatesError) => void }>();
  readonly limits: LimitCheck = { executionInputBytes: 0, maxStatePayloadBytes: 0, maxHistoryEvents: 0, historyEventsByExecution: {}, violations: [] };
  /** Callbacks answered for a task that no longer waits (TaskDoesNotExist / TaskTimedOut). */
  staleAnswers = 0;

  constructor(
    private readonly definition: any,
    readonly arn: string,
    private readonly o: { clock: VirtualClock; resolveTask: TaskResolver; enforceLimits: boolean },
  ) {
    for (const key of Object.keys(definition)) if (['QueryLanguage'].includes(key) && definition[key] !== 'JSONPath') throw new Error(`QueryLanguage ${definition[key]} is not simulated`);
  }

  /** The Step Functions API (JSON protocol, AWSStepFunctions.*) the product calls. */
  handle(op: string, req: any): unknown {
    switch (op) {
      case 'StartExecution':
        return this.start(req.stateMachineArn, req.name ?? randomUUID(), req.input ?? '{}');
      case 'SendTaskSuccess': {
        this.checkBytes('sendTaskSuccess.output', Buffer.byteLength(req.output ?? ''), 'SendTaskSuccess');
        const t = this.takeToken(req.taskToken);
        t.resolve(JSON.parse(req.output ?? '{}'));
        return {};
      }
      case 'SendTaskFailure': {
        const t = this.takeToken(req.taskToken);
        t.reject(new StatesError(req.error ?? 'States.TaskFailed', req.cause ?? ''));
        return {};
      }
      case 'SendTaskHeartbeat':
        if (!this.tokens.has(req.taskToken)) throw new AwsError('TaskTimedOut', 'Task Timed Out');
        return {};
      case 'DescribeExecution': {
        const e = this.executions.get(req.executionArn);
        if (!e) throw new AwsError('ExecutionDoesNotExist', `Execution Does Not Exist: '${req.executionArn}'`);
        return { executionArn: e.arn, stateMachineArn: this.arn, name: e.name, status: e.status, startDate: e.startedAt / 1000, input: e.input };
      }
      default:
        throw new AwsError('UnknownOperationException', `operation ${op} is not simulated`);
    }
  }

  private takeToken(token: string) {
    const t = this.tokens.get(token);
    if (!t) {
      this.staleAnswers++;
      throw new AwsError('TaskDoesNotExist', 'Task Does Not Exist');
    }
    this.tokens.delete(token);
    return t;
  }

  private checkBytes(limit: string, bytes: number, where: string): void {
    if (limit !== 'executionInputBytes') this.limits.maxStatePayloadBytes = Math.max(this.limits.maxStatePayloadBytes, bytes);
    if (bytes <= SFN_LIMITS.payloadBytes) return;
    this.limits.violations.push({ limit, value: bytes, max: SFN_LIMITS.payloadBytes, where });
    if (this.o.enforceLimits) throw limit === 'executionInputBytes' ? new AwsError('ValidationException', `1 validation error detected: Value at 'input' failed to satisfy constraint: Member must have length less than or equal to ${SFN_LIMITS.payloadBytes}`) : new StatesError('States.DataLimitExceeded', `${where}: ${bytes} bytes, over ${SFN_LIMITS.payloadBytes}`);
  }

  start(stateMachineArn: string, name: string, input: string): { executionArn: string; startDate: number } {
    if (stateMachineArn !== this.arn) throw new AwsError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${stateMachineArn}'`);
    const arn = `${this.arn.replace(':stateMachine:', ':execution:')}:${name}`;
    const existing = this.executions.get(arn);
    if (existing) {
      if (existing.input !== input || existing.status !== 'RUNNING') throw new AwsError('ExecutionAlreadyExists', `Execution Already Exists: '${arn}'`);
      return { executionArn: arn, startDate: existing.startedAt / 1000 };
    }
    const bytes = Buffer.byteLength(input);
    this.limits.executionInputBytes = Math.max(this.limits.executionInputBytes, bytes);
    this.checkBytes('executionInputBytes', bytes, `StartExecution ${name}`);
    const run: ExecutionRun = { arn, name, input, status: 'RUNNING', startedAt: this.o.clock.now(), done: Promise.resolve() };
    this.executions.set(arn, run);
    const history = { name, events: 1 };
    const ctx: Ctx = { exec: run, history, abort: new AbortScope(), context: { Execution: { Id: arn, Name: name, Input: JSON.parse(input), StartTime: new Date(run.startedAt).toISOString() }, StateMachine: { Id: this.arn } } };
    run.done = this.runStates(this.definition, JSON.parse(input), ctx).then(
      (output) => {
        run.status = 'SUCCEEDED';
        run.output = output;
      },
      (err) => {
        run.status = 'FAILED';
        run.error = err instanceof StatesError ? { error: err.error, cause: err.cause } : { error: 'States.Runtime', cause: String(err) };
      },
    ).finally(() => {
      run.stoppedAt = this.o.clock.now();
      this.event(ctx, 1);
    });
    return { executionArn: arn, startDate: run.startedAt / 1000 };
  }

  private event(ctx: Ctx, n: number): void {
    ctx.history.events += n;
    const h = ctx.history;
    this.limits.historyEventsByExecution[h.name] = h.events;
    if (h.events > this.limits.maxHistoryEvents) this.limits.maxHistoryEvents = h.events;
    if (h.events === SFN_LIMITS.historyEvents + 1) {
      this.limits.violations.push({ limit: 'historyEvents', value: h.events, max: SFN_LIMITS.historyEvents, where: h.name });
      if (this.o.enforceLimits) {
        ctx.abort.abort();
        throw new StatesError('States.Runtime', `execution ${h.name} reached the maximum of ${SFN_LIMITS.historyEvents} history events`);
      }
    }
  }

  private async runStates(machine: { StartAt: string; States: Record<string, any> }, input: unknown, ctx: Ctx): Promise<unknown> {
    let name: string | undefined = machine.StartAt;
    let data = input;
    while (name) {
      if (ctx.abort.isAborted) throw new StatesError('States.Aborted', 'the enclosing state ended');
      const state = machine.States[name];
      if (!state) throw new StatesError('States.Runtime', `no state ${name}`);
      const stateCtx: Ctx = { ...ctx, context: { ...ctx.context, State: { Name: name, EnteredTime: new Date(this.o.clock.now()).toISOString(), RetryCount: 0 } } };
      this.event(ctx, 1); // entered
      this.checkBytes('statePayloadBytes', Buffer.byteLength(JSON.stringify(data) ?? ''), `${name} input`);
      const { output, next } = await this.runState(name, state, data, stateCtx);
      this.event(ctx, 1); // exited
      this.checkBytes('statePayloadBytes', Buffer.byteLength(JSON.stringify(output) ?? ''), `${name} output`);
      data = output;
      if (state.Type === 'Succeed' || state.Type === 'Fail') return data;
      name = next;
    }
    return data;
  }

  private async runState(name: string, state: any, raw: unknown, ctx: Ctx): Promise<{ output: unknown; next?: string }> {
    const ctxObj = ctx.context;
    const effective = state.InputPath === null ? {} : state.InputPath ? readPath(state.InputPath, raw, ctxObj) : raw;
    const finish = (result: unknown) => {
      const selected = state.ResultSelector ? fillTemplate(state.ResultSelector, result, ctxObj) : result;
      const withResult = applyResultPath(raw, selected, state.ResultPath);
      const output = state.OutputPath === null ? {} : state.OutputPath ? readPath(state.OutputPath, withResult, ctxObj) : withResult;
      return { output, next: state.End ? undefined : state.Next };
    };
    switch (state.Type) {
      case 'Pass': {
        const result = state.Result !== undefined ? state.Result : state.Parameters ? fillTemplate(state.Parameters, effective, ctxObj) : effective;
        return finish(result);
      }
      case 'Succeed':
        return { output: effective };
      case 'Fail':
        this.event(ctx, 1);
        throw new StatesError(state.ErrorPath ? String(readPath(state.ErrorPath, effective, ctxObj)) : (state.Error ?? 'States.Fail'), state.CausePath ? String(readPath(state.CausePath, effective, ctxObj)) : (state.Cause ?? ''));
      case 'Wait': {
        let ms = 0;
        if (state.Seconds !== undefined) ms = state.Seconds * 1000;
        else if (state.SecondsPath) ms = Number(readPath(state.SecondsPath, effective, ctxObj)) * 1000;
        else if (state.Timestamp || state.TimestampPath) ms = Date.parse(state.Timestamp ?? String(readPath(state.TimestampPath, effective, ctxObj))) - this.o.clock.now();
        await this.o.clock.sleep(Math.max(0, ms));
        return { output: effective, next: state.End ? undefined : state.Next };
      }
      case 'Choice': {
        for (const rule of state.Choices ?? []) if (this.choice(rule, effective, ctxObj)) return { output: effective, next: rule.Next };
        if (!state.Default) throw new StatesError('States.NoChoiceMatched', `no choice of ${name} matched`);
        return { output: effective, next: state.Default };
      }
      case 'Task':
      case 'Map':
      case 'Parallel':
        return this.withRetryAndCatch(state, raw, ctx, async () => finish(await this.runWork(name, state, effective, ctx)));
      default:
        throw new StatesError('States.Runtime', `state type ${state.Type} is not simulated`);
    }
  }

  private async withRetryAndCatch(state: any, raw: unknown, ctx: Ctx, work: () => Promise<{ output: unknown; next?: string }>): Promise<{ output: unknown; next?: string }> {
    const counts = new Map<unknown, number>();
    for (;;) {
      try {
        return await work();
      } catch (err) {
        if (!(err instanceof StatesError) || err.error === 'States.Aborted') throw err;
        const matches = (list: string[]) => list.includes(err.error) || (list.includes('States.ALL') && err.error !== 'States.Runtime') || (list.includes('States.TaskFailed') && state.Type === 'Task' && err.error !== 'States.Timeout');
        const retrier = (state.Retry ?? []).find((r: any) => matches(r.ErrorEquals ?? []));
        if (retrier) {
          const n = counts.get(retrier) ?? 0;
          if (n < (retrier.MaxAttempts ?? 3)) {
            counts.set(retrier, n + 1);
            const delay = Math.min((retrier.IntervalSeconds ?? 1) * (retrier.BackoffRate ?? 2) ** n, retrier.MaxDelaySeconds ?? Infinity);
            await this.o.clock.sleep(delay * 1000);
            continue;
          }
        }
        const catcher = (state.Catch ?? []).find((c: any) => matches(c.ErrorEquals ?? []));
        if (!catcher) throw err;
        return { output: applyResultPath(raw, { Error: err.error, Cause: err.cause }, catcher.ResultPath ?? '$'), next: catcher.Next };
      }
    }
  }

  private async runWork(name: string, state: any, input: unknown, ctx: Ctx): Promise<unknown> {
    if (state.Type === 'Task') return this.task(name, state, input, ctx);
    if (state.Type === 'Parallel') {
      const params = state.Parameters ? fillTemplate(state.Parameters, input, ctx.context) : input;
      this.event(ctx, 2);
      const scope = new AbortScope(ctx.abort);
      try {
        return await Promise.all((state.Branches as any[]).map((b) => this.runStates(b, params, { ...ctx, abort: scope })));
      } catch (err) {
        scope.abort();
        throw err;
      }
    }
    return this.map(name, state, input, ctx);
  }

  private async task(name: string, state: any, input: unknown, ctx: Ctx): Promise<unknown> {
    const resource: string = state.Resource;
    const callback = resource.endsWith('.waitForTaskToken');
    const token = callback ? randomUUID() : undefined;
    const context = token ? { ...ctx.context, Task: { Token: token } } : ctx.context;
    const params = state.Parameters ? fillTemplate(state.Parameters, input, context) : input;
    this.event(ctx, 2); // scheduled, started
    let timer: ReturnType<VirtualClock['schedule']> | undefined;
    let unsubscribe: (() => void) | undefined;
    try {
      const answered = token
        ? new Promise<unknown>((resolve, reject) => {
            this.tokens.set(token, { resolve, reject });
            unsubscribe = ctx.abort.onAbort(() => {
              this.tokens.delete(token);
              reject(new StatesError('States.Aborted', `${name}: the enclosing state ended`));
            });
          })
        : undefined;
      answered?.catch(() => undefined);
      const limitMs = (state.TimeoutSeconds ?? (callback ? 365 * 86_400 : 60)) * 1000;
      const timedOut = new Promise<never>((_, reject) => {
        timer = this.o.clock.schedule(limitMs, () => {
          if (token) this.tokens.delete(token);
          reject(new StatesError('States.Timeout', `${name} timed out after ${limitMs / 1000} s`));
        });
      });
      timedOut.catch(() => undefined);
      const sent = await Promise.race([this.o.resolveTask(resource.replace(/\.waitForTaskToken$/, ''), params), timedOut]);
      if (!answered) {
        this.event(ctx, 1);
        return sent;
      }
      this.event(ctx, 1); // submitted
      const out = await Promise.race([answered, timedOut]);
      this.event(ctx, 1); // succeeded
      return out;
    } catch (err) {
      this.event(ctx, 1); // failed / timed out
      if (token) this.tokens.delete(token);
      throw err;
    } finally {
      this.o.clock.cancel(timer);
      unsubscribe?.();
    }
  }

  private async map(name: string, state: any, input: unknown, ctx: Ctx): Promise<unknown> {
    const processor = state.ItemProcessor ?? state.Iterator;
    const distributed = processor?.ProcessorConfig?.Mode === 'DISTRIBUTED';
    if (state.ItemReader) throw new StatesError('States.Runtime', `${name}: ItemReader (${state.ItemReader.Resource}) is not simulated`);
    let items = (state.ItemsPath ? readPath(state.ItemsPath, input, ctx.context) : input) as unknown[];
    if (!Array.isArray(items)) throw new StatesError('States.Runtime', `${name}: ItemsPath does not select an array`);
    const selector = state.ItemSelector ?? state.Parameters;
    const selected = items.map((value, index) => (selector ? fillTemplate(selector, input, { ...ctx.context, Map: { Item: { Index: index, Value: value } } }) : value));
    let work: unknown[] = selected;
    const batcher = state.ItemBatcher;
    if (batcher) {
      const size = batcher.MaxItemsPerBatch ?? 1;
      const batchInput = batcher.BatchInput ? fillTemplate(batcher.BatchInput, input, ctx.context) : undefined;
      work = [];
      for (let i = 0; i < selected.length; i += size) work.push({ Items: selected.slice(i, i + size), ...(batchInput ? { BatchInput: batchInput } : {}) });
    }
    items = work;
    const configured = state.MaxConcurrency ?? 0;
    const limit = distributed ? configured || 10_000 : Math.min(configured || SFN_LIMITS.inlineMapConcurrency, SFN_LIMITS.inlineMapConcurrency);
    this.event(ctx, 2); // MapStateStarted/MapRunStarted, then Succeeded/Failed at the end
    const scope = new AbortScope(ctx.abort);
    const results: unknown[] = new Array(items.length);
    const toleratedCount = state.ToleratedFailureCount ?? 0;
    const toleratedPercent = state.ToleratedFailurePercentage ?? 0;
    let failures = 0;
    let firstError: StatesError | undefined;
    let next = 0;
    const runOne = async (i: number): Promise<void> => {
      const child: Ctx = distributed
        ? { ...ctx, abort: scope, history: { name: `${ctx.history.name}/${name}:${i}`, events: 1 }, context: { ...ctx.context } }
        : { ...ctx, abort: scope };
      if (!distributed) this.event(ctx, 1); // MapIterationStarted
      try {
        results[i] = await this.runStates(processor, items[i], child);
        this.event(child, 1);
      } catch (err) {
        if (!(err instanceof StatesError)) throw err;
        if (distributed) this.event(child, 1);
        else this.event(ctx, 1);
        failures++;
        const tolerated = distributed && (failures <= toleratedCount || (failures * 100) / items.length <= toleratedPercent);
        if (!tolerated && !firstError && err.error !== 'States.Aborted') {
          firstError = err;
          scope.abort();
        }
      }
    };
    const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length && !scope.isAborted) await runOne(next++);
    });
    await Promise.all(workers);
    if (firstError) throw firstError;
    if (scope.isAborted) throw new StatesError('States.Aborted', `${name}: the enclosing state ended`);
    return results;
  }

  private choice(rule: any, input: unknown, ctx: unknown): boolean {
    if (rule.And) return rule.And.every((r: any) => this.choice(r, input, ctx));
    if (rule.Or) return rule.Or.some((r: any) => this.choice(r, input, ctx));
    if (rule.Not) return !this.choice(rule.Not, input, ctx);
    const path: string = rule.Variable;
    if ('IsPresent' in rule) return hasPath(path, input, ctx) === rule.IsPresent;
    if (!hasPath(path, input, ctx)) return false;
    const v: any = readPath(path, input, ctx);
    for (const [op, expected] of Object.entries(rule)) {
      if (op === 'Variable' || op === 'Next') continue;
      const want: any = op.endsWith('Path') ? readPath(String(expected), input, ctx) : expected;
      const base = op.replace(/Path$/, '');
      switch (base) {
        case 'IsNull':
          return (v === null) === want;
        case 'IsBoolean':
          return (typeof v === 'boolean') === want;
        case 'IsNumeric':
          return (typeof v === 'number') === want;
        case 'IsString':
          return (typeof v === 'string') === want;
        case 'IsTimestamp':
          return (typeof v === 'string' && !Number.isNaN(Date.parse(v))) === want;
        case 'BooleanEquals':
          return v === want;
        case 'StringEquals':
          return v === want;
        case 'StringLessThan':
          return typeof v === 'string' && v < want;
        case 'StringGreaterThan':
          return typeof v === 'string' && v > want;
        case 'StringLessThanEquals':
          return typeof v === 'string' && v <= want;
        case 'StringGreaterThanEquals':
          return typeof v === 'string' && v >= want;
        case 'StringMatches':
          return typeof v === 'string' && new RegExp(`^${String(want).replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`).test(v);
        case 'NumericEquals':
          return v === want;
        case 'NumericLessThan':
          return typeof v === 'number' && v < want;
        case 'NumericGreaterThan':
          return typeof v === 'number' && v > want;
        case 'NumericLessThanEquals':
          return typeof v === 'number' && v <= want;
        case 'NumericGreaterThanEquals':
          return typeof v === 'number' && v >= want;
        case 'TimestampEquals':
          return Date.parse(v) === Date.parse(want);
        case 'TimestampLessThan':
          return Date.parse(v) < Date.parse(want);
        case 'TimestampGreaterThan':
          return Date.parse(v) > Date.parse(want);
        case 'TimestampLessThanEquals':
          return Date.parse(v) <= Date.parse(want);
        case 'TimestampGreaterThanEquals':
          return Date.parse(v) >= Date.parse(want);
        default:
          throw new StatesError('States.Runtime', `choice operator ${op} is not simulated`);
      }
    }
    return false;
  }
}
