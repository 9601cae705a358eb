import { randomInt, randomUUID } from 'node:crypto';
import { StartTaskCommand, StopTaskCommand, type Service } from '@aws-sdk/client-ecs';
import { formatClusterRef } from '../../../shared/domain/cluster-ref';
import type { SensorEvents, SensorInstance } from '../sensor-events';
import { clusterKeyId, EcsObserver, type ClusterObs, type EcsClusterKey, type InstanceObs, type TaskObs } from './ecs-observe';
import type { MotoClients } from './moto-clients';

/**
 * Plays the ECS service scheduler for DAEMON services, which moto lacks (toolchain.md §3: moto never
 * places a task and reports desiredCount 0). Behaviour follows the ECS developer guide:
 * - https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_services.html#service_scheduler_daemon
 *   one task per ACTIVE container instance that has the resources; instances that are DRAINING or
 *   deregistered lose their task; a deleted service's tasks are stopped.
 * - https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-ecs.html
 *   daemon deployments stop an old task before starting its replacement, keeping at least
 *   minimumHealthyPercent of the desired count running (rounded up); default 0 for DAEMON via the API.
 * - https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-event-messages-list.html
 *   the service event messages.
 * Tasks are real moto tasks (StartTask on a container instance, group `service:<name>`, startedBy =
 * deployment id), so ListTasks/DescribeTasks answer from them.
 */
export interface DeploymentConfig {
  maximumPercent: number;
  minimumHealthyPercent: number;
}

export interface SimDeployment {
  id: string;
  taskDefinition: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface ServiceEvent {
  id: string;
  createdAt: Date;
  message: string;
}

export interface UnplacedInstance {
  containerInstanceArn: string;
  ec2InstanceId: string;
  reason: 'RESOURCE:CPU' | 'RESOURCE:MEMORY';
}

/** The numbers real ECS DescribeServices reports for a DAEMON service, from what is actually placed. */
export interface DaemonServiceView {
  taskDefinition: string;
  desiredCount: number;
  runningCount: number;
  pendingCount: number;
  deployments: {
    id: string;
    status: 'PRIMARY' | 'ACTIVE';
    taskDefinition: string;
    desiredCount: number;
    runningCount: number;
    pendingCount: number;
    createdAt: Date;
    updatedAt: Date;
    rolloutState: 'IN_PROGRESS' | 'COMPLETED';
    rolloutStateReason: string;
  }[];
  events: ServiceEvent[];
  deploymentConfiguration: DeploymentConfig;
}

interface ServiceState {
  name: string;
  deployments: SimDeployment[]; // [0] is PRIMARY
  lastKey?: string;
  events: ServiceEvent[];
  everCovered: Set<string>;
  peakUnavailable: number;
  unplaced: Map<string, UnplacedInstance>;
  reportedUnplaced: Set<string>;
  steady: boolean;
}

interface ClusterState {
  key: EcsClusterKey;
  dirty: boolean;
  busy: boolean;
  chain: Promise<unknown>;
  services: Map<string, ServiceState>;
  running: Map<string, SensorInstance>;
  lastError?: string;
}

export class EcsSettleTimeoutError extends Error {
  override name = 'EcsSettleTimeoutError';
}

const DAEMON_DEFAULT_CONFIG: DeploymentConfig = { maximumPercent: 100, minimumHealthyPercent: 0 };
const MAX_EVENTS = 100;

export class EcsSchedulerSimulator {
  private readonly clusters = new Map<string, ClusterState>();
  private readonly configs = new Map<string, DeploymentConfig>();
  private readonly capacity = new Map<string, { cpu: number; memory: number }>();
  private readonly observer: EcsObserver;
  private timer?: NodeJS.Timeout;
  private inFlight = 0;
  private paused = false;
  private readonly intervalMs: number;
  private readonly maxParallel: number;

  constructor(
    private readonly moto: MotoClients,
    private readonly sensors: SensorEvents,
    opts: { intervalMs?: number; maxParallelClusters?: number } = {},
  ) {
    this.observer = new EcsObserver(moto);
    this.intervalMs = opts.intervalMs ?? 75;
    this.maxParallel = opts.maxParallelClusters ?? 4;
  }

  start(): void {
    this.timer ??= setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await Promise.allSettled([...this.clusters.values()].map((c) => c.chain));
  }

  /** A cluster the sandbox or a request through the front touched: (re)consider it now. */
  touch(key: EcsClusterKey): void {
    this.state(key).dirty = true;
    queueMicrotask(() => this.tick());
  }

  /** moto does not store deploymentConfiguration; the front records it from CreateService/UpdateService. */
  recordDeploymentConfiguration(key: EcsClusterKey, service: string, cfg: Partial<DeploymentConfig> | undefined): void {
    const id = `${clusterKeyId(key)}|${service}`;
    const prev = this.configs.get(id) ?? DAEMON_DEFAULT_CONFIG;
    this.configs.set(id, { ...prev, ...Object.fromEntries(Object.entries(cfg ?? {}).filter(([, v]) => typeof v === 'number')) });
  }

  deploymentConfiguration(key: EcsClusterKey, service: string): DeploymentConfig {
    return this.configs.get(`${clusterKeyId(key)}|${service}`) ?? DAEMON_DEFAULT_CONFIG;
  }

  /** moto registers every container instance with 4096 CPU / 7482 MiB; the fleet can declare other sizes. */
  setInstanceCapacity(containerInstanceArn: string, c: { cpuUnits?: number; memoryMiB?: number }): void {
    this.capacity.set(containerInstanceArn, { cpu: c.cpuUnits ?? 4096, memory: c.memoryMiB ?? 7482 });
  }

  /** Largest number of instances that were without a running task of the service at the same time during replacements. */
  peakUnavailable(key: EcsClusterKey, service: string): number {
    return this.clusters.get(clusterKeyId(key))?.services.get(service)?.peakUnavailable ?? 0;
  }

  unplaced(key: EcsClusterKey, service: string): UnplacedInstance[] {
    return [...(this.clusters.get(clusterKeyId(key))?.services.get(service)?.unplaced.values() ?? [])];
  }

  /** Resolves when every DAEMON service of every known cluster is placed as far as it can be. */
  async settle(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    this.tick();
    for (;;) {
      const pending = [...this.clusters.values()].filter((c) => c.dirty || c.busy);
      if (this.paused) throw new EcsSettleTimeoutError('ECS scheduler is paused');
      if (pending.length === 0) return;
      if (Date.now() > deadline) {
        throw new EcsSettleTimeoutError(`ECS scheduler not settled after ${timeoutMs} ms: ${pending.map((c) => `${c.key.cluster}${c.lastError ? ` (${c.lastError})` : ''}`).join(', ')}`);
      }
      await new Promise((r) => setTimeout(r, 20));
      this.tick();
    }
  }

  /** Fresh view of one DAEMON service for the front's DescribeServices rewrite (reads only). */
  async view(key: EcsClusterKey, service: Service): Promise<DaemonServiceView | undefined> {
    const cluster = this.state(key);
    return this.serialize(cluster, async () => {
      const obs = await this.observer.observe(key);
      if (!obs || !service.serviceName) return undefined;
      const state = this.serviceState(cluster, service.serviceName);
      const primary = await this.trackDeployment(key, state, service);
      if (!primary) return undefined;
      return this.render(key, obs, state, service, primary);
    });
  }

  private state(key: EcsClusterKey): ClusterState {
    const id = clusterKeyId(key);
    let c = this.clusters.get(id);
    if (!c) {
      c = { key, dirty: true, busy: false, chain: Promise.resolve(), services: new Map(), running: new Map() };
      this.clusters.set(id, c);
    }
    return c;
  }

  private serviceState(cluster: ClusterState, name: string): ServiceState {
    let s = cluster.services.get(name);
    if (!s) {
      s = { name, deployments: [], events: [], everCovered: new Set(), peakUnavailable: 0, unplaced: new Map(), reportedUnplaced: new Set(), steady: false };
      cluster.services.set(name, s);
    }
    return s;
  }

  private serialize<T>(cluster: ClusterState, fn: () => Promise<T>): Promise<T> {
    const run = cluster.chain.then(fn, fn);
    cluster.chain = run.catch(() => undefined);
    return run;
  }

  /** Freezes the scheduler (as if ECS were slow) so a test can look at a deployment in progress. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.tick();
  }

  private tick(): void {
    if (!this.timer || this.paused) return;
    for (const c of this.clusters.values()) {
      if (this.inFlight >= this.maxParallel) return;
      if (!c.dirty || c.busy) continue;
      c.dirty = false;
      c.busy = true;
      this.inFlight++;
      this.serialize(c, () => this.step(c))
        .then(
          (acted) => {
            c.lastError = undefined;
            if (acted) c.dirty = true;
          },
          (err: Error) => {
            c.lastError = err.message;
            c.dirty = true;
          },
        )
        .finally(() => {
          c.busy = false;
          this.inFlight--;
        });
    }
  }

  /** A new task definition or a new moto deployment id (forceNewDeployment) starts a new PRIMARY deployment. */
  private async trackDeployment(key: EcsClusterKey, state: ServiceState, svc: Service): Promise<SimDeployment | undefined> {
    if (!svc.taskDefinition) return undefined;
    const td = await this.observer.taskDef(key, svc.taskDefinition);
    const motoId = svc.deployments?.find((d) => d.status === 'PRIMARY')?.id ?? '';
    const k = `${motoId}|${td.arn}`;
    if (state.lastKey !== k) {
      const reuse = motoId && !state.deployments.some((d) => d.id === motoId);
      const now = new Date();
      state.deployments.unshift({ id: reuse ? motoId : `ecs-svc/${randomInt(1, 2 ** 47)}`, taskDefinition: td.arn, createdAt: now, updatedAt: now });
      state.lastKey = k;
      state.steady = false;
      state.reportedUnplaced.clear();
    }
    return state.deployments[0];
  }

  /** One pass of the scheduler over a cluster. Returns whether it changed anything (then it runs again). */
  private async step(cluster: ClusterState): Promise<boolean> {
    const key = cluster.key;
    const obs = await this.observer.observe(key);
    if (!obs) {
      for (const s of cluster.running.values()) this.sensors.emit('stopped', s);
      this.clusters.delete(clusterKeyId(key));
      return false;
    }
    const ecs = this.moto.ecs(key.account, key.region);
    const eligible = obs.instances.filter((i) => i.status === 'ACTIVE');
    const eligibleArns = new Set(eligible.map((i) => i.arn));
    const remaining = new Map<string, { cpu: number; memory: number }>();
    for (const i of eligible) remaining.set(i.arn, this.instanceCapacity(i));
    for (const t of obs.tasks) {
      const r = remaining.get(t.containerInstanceArn);
      if (!r || !t.taskDefinitionArn) continue;
      const td = await this.observer.taskDef(key, t.taskDefinitionArn);
      r.cpu -= td.cpu;
      r.memory -= td.memory;
    }
    const stopped = new Set<string>();
    const started: TaskObs[] = [];
    let acted = false;

    const stop = async (t: TaskObs, reason: string) => {
      await ecs.send(new StopTaskCommand({ cluster: key.cluster, task: t.arn, reason }));
      stopped.add(t.arn);
      acted = true;
      const r = remaining.get(t.containerInstanceArn);
      if (r) {
        const td = await this.observer.taskDef(key, t.taskDefinitionArn);
        r.cpu += td.cpu;
        r.memory += td.memory;
      }
    };

    for (const svc of obs.services) {
      const name = svc.serviceName!;
      const group = `service:${name}`;
      const mine = obs.tasks.filter((t) => t.group === group);
      const state = this.serviceState(cluster, name);
      if (svc.status !== 'ACTIVE') {
        for (const t of mine) await stop(t, 'Service was deleted');
        if (mine.length) this.event(state, `(service ${name}) has stopped ${mine.length} running tasks: ${mine.map(taskRef).join(' ')}.`);
        continue;
      }
      const primary = await this.trackDeployment(key, state, svc);
      if (!primary) continue;
      const td = await this.observer.taskDef(key, primary.taskDefinition);
      const stoppedHere: TaskObs[] = [];
      const stopHere = async (t: TaskObs, reason: string) => {
        await stop(t, reason);
        stoppedHere.push(t);
      };

      for (const t of mine) if (!eligibleArns.has(t.containerInstanceArn)) await stopHere(t, 'Container instance is not ACTIVE (draining or deregistered)');
      const empty: InstanceObs[] = [];
      const toReplace: { inst: InstanceObs; old: TaskObs[] }[] = [];
      for (const inst of eligible) {
        const here = mine.filter((t) => t.containerInstanceArn === inst.arn);
        const cur = here.filter((t) => t.startedBy === primary.id);
        const old = here.filter((t) => t.startedBy !== primary.id);
        if (cur.length > 0) {
          for (const t of [...cur.slice(1), ...old]) await stopHere(t, `Scaling activity initiated by (deployment ${primary.id})`);
          state.everCovered.add(inst.arn);
        } else if (old.length > 0) {
          toReplace.push({ inst, old });
          state.everCovered.add(inst.arn);
        } else {
          empty.push(inst);
        }
      }

      const fits = (inst: InstanceObs) => placementFailure(remaining.get(inst.arn)!, td) === undefined;
      const cfg = this.deploymentConfiguration(key, name);
      const desired = eligible.length;
      const minHealthy = Math.ceil((desired * cfg.minimumHealthyPercent) / 100);
      // at least one at a time, otherwise a 100% minimum would never roll
      const maxDown = Math.max(1, desired - minHealthy);
      const budget = Math.max(0, maxDown - empty.filter(fits).length);
      for (const { inst, old } of toReplace.slice(0, budget)) {
        for (const t of old) await stopHere(t, `Scaling activity initiated by (deployment ${primary.id})`);
        empty.push(inst);
      }
      const unavailable = eligible.filter((i) => state.everCovered.has(i.arn) && !mine.some((t) => t.containerInstanceArn === i.arn && !stopped.has(t.arn))).length;
      state.peakUnavailable = Math.max(state.peakUnavailable, unavailable);
      if (stoppedHere.length) this.event(state, `(service ${name}) has stopped ${stoppedHere.length} running tasks: ${stoppedHere.map(taskRef).join(' ')}.`);

      const place: InstanceObs[] = [];
      for (const inst of empty) {
        const r = remaining.get(inst.arn)!;
        const failure = placementFailure(r, td);
        if (failure) {
          state.unplaced.set(inst.arn, { containerInstanceArn: inst.arn, ec2InstanceId: inst.ec2InstanceId, reason: failure });
          const reportKey = `${inst.arn}|${failure}`;
          if (!state.reportedUnplaced.has(reportKey)) {
            state.reportedUnplaced.add(reportKey);
            this.event(
              state,
              `(service ${name}) was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance ${lastSegment(inst.arn)}) has insufficient ${failure === 'RESOURCE:CPU' ? 'CPU units' : 'memory'} available. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.`,
            );
          }
          continue;
        }
        state.unplaced.delete(inst.arn);
        r.cpu -= td.cpu;
        r.memory -= td.memory;
        place.push(inst);
      }
      for (let i = 0; i < place.length; i += 10) {
        const batch = place.slice(i, i + 10);
        const out = await ecs.send(
          new StartTaskCommand({ cluster: key.cluster, taskDefinition: primary.taskDefinition, containerInstances: batch.map((b) => b.arn), startedBy: primary.id, group }),
        );
        for (const t of out.tasks ?? []) {
          started.push({ arn: t.taskArn!, group, startedBy: primary.id, taskDefinitionArn: t.taskDefinitionArn ?? primary.taskDefinition, containerInstanceArn: t.containerInstanceArn ?? '' });
          state.everCovered.add(t.containerInstanceArn ?? '');
        }
        acted = true;
      }
      const startedHere = started.filter((t) => t.group === group);
      if (startedHere.length) this.event(state, `(service ${name}) has started ${startedHere.length} tasks: ${startedHere.map(taskRef).join(' ')}.`);
      for (const arn of state.unplaced.keys()) if (!eligibleArns.has(arn)) state.unplaced.delete(arn);
      // old deployments disappear once none of their tasks runs
      const live = new Set([...mine.filter((t) => !stopped.has(t.arn)), ...startedHere].map((t) => t.startedBy));
      state.deployments = state.deployments.filter((d, i) => i === 0 || live.has(d.id));
      const settled = stoppedHere.length === 0 && startedHere.length === 0;
      if (settled && state.unplaced.size === 0 && !state.steady) {
        state.steady = true;
        this.event(state, `(service ${name}) has reached a steady state.`);
      } else if (!settled) {
        state.steady = false;
      }
    }
    await this.emitSensorChanges(cluster, obs, stopped, started);
    return acted;
  }

  private async emitSensorChanges(cluster: ClusterState, obs: ClusterObs, stopped: Set<string>, started: TaskObs[]): Promise<void> {
    const key = cluster.key;
    const daemonGroups = new Set(obs.services.map((s) => `service:${s.serviceName}`));
    const now = new Map<string, TaskObs>();
    for (const t of [...obs.tasks.filter((t) => daemonGroups.has(t.group) && !stopped.has(t.arn)), ...started]) now.set(t.arn, t);
    for (const [arn, s] of cluster.running) {
      if (!now.has(arn)) {
        cluster.running.delete(arn);
        this.sensors.emit('stopped', s);
      }
    }
    const fresh = [...now].filter(([arn]) => !cluster.running.has(arn)).map(([, t]) => obs.instances.find((i) => i.arn === t.containerInstanceArn)?.ec2InstanceId ?? '');
    if (fresh.length > 1) await this.observer.prefetchHostnames(key, fresh);
    for (const [arn, t] of now) {
      if (cluster.running.has(arn)) continue;
      const inst = obs.instances.find((i) => i.arn === t.containerInstanceArn);
      const ec2Id = inst?.ec2InstanceId ?? lastSegment(t.containerInstanceArn);
      const td = await this.observer.taskDef(key, t.taskDefinitionArn);
      const sensor: SensorInstance = {
        platform: 'aws-ecs',
        cluster: formatClusterRef({ platform: 'aws-ecs', scope: key.account, location: key.region, name: key.cluster }),
        nodeName: ec2Id,
        hostname: await this.observer.hostname(key, ec2Id),
        version: td.imageTag,
        containerId: arn,
      };
      cluster.running.set(arn, sensor);
      this.sensors.emit('started', sensor);
    }
  }

  private render(key: EcsClusterKey, obs: ClusterObs, state: ServiceState, svc: Service, primary: SimDeployment): DaemonServiceView {
    const group = `service:${svc.serviceName}`;
    const active = new Set(obs.instances.filter((i) => i.status === 'ACTIVE').map((i) => i.arn));
    const mine = obs.tasks.filter((t) => t.group === group);
    const desired = svc.status === 'ACTIVE' ? active.size : 0;
    const counts = new Map<string, number>();
    for (const t of mine) counts.set(t.startedBy, (counts.get(t.startedBy) ?? 0) + 1);
    const primaryRunning = counts.get(primary.id) ?? 0;
    const oldRunning = mine.length - primaryRunning;
    const complete = primaryRunning === desired && oldRunning === 0;
    const deployments: DaemonServiceView['deployments'] = [
      {
        id: primary.id,
        status: 'PRIMARY',
        taskDefinition: primary.taskDefinition,
        desiredCount: desired,
        runningCount: primaryRunning,
        pendingCount: 0,
        createdAt: primary.createdAt,
        updatedAt: primary.updatedAt,
        rolloutState: complete ? 'COMPLETED' : 'IN_PROGRESS',
        rolloutStateReason: complete ? `ECS deployment ${primary.id} completed.` : `ECS deployment ${primary.id} in progress.`,
      },
    ];
    // older deployments still running tasks; tasks we did not start (unknown startedBy) count as one
    const known = new Map(state.deployments.map((d) => [d.id, d]));
    for (const [startedBy, n] of counts) {
      if (startedBy === primary.id) continue;
      const d = known.get(startedBy);
      const td = d?.taskDefinition ?? mine.find((t) => t.startedBy === startedBy)!.taskDefinitionArn;
      deployments.push({
        id: startedBy || 'ecs-svc/unknown',
        status: 'ACTIVE',
        taskDefinition: td,
        desiredCount: 0,
        runningCount: n,
        pendingCount: 0,
        createdAt: d?.createdAt ?? primary.createdAt,
        updatedAt: new Date(),
        rolloutState: 'COMPLETED',
        rolloutStateReason: `ECS deployment ${startedBy} completed.`,
      });
    }
    return {
      taskDefinition: primary.taskDefinition,
      desiredCount: desired,
      runningCount: mine.length,
      pendingCount: 0,
      deployments,
      events: [...state.events],
      deploymentConfiguration: this.deploymentConfiguration(key, svc.serviceName!),
    };
  }

  private event(state: ServiceState, message: string): void {
    state.events.unshift({ id: randomUUID(), createdAt: new Date(), message });
    state.events.length = Math.min(state.events.length, MAX_EVENTS);
  }

  private instanceCapacity(i: InstanceObs): { cpu: number; memory: number } {
    const c = this.capacity.get(i.arn);
    return c ? { ...c } : { cpu: i.registeredCpu, memory: i.registeredMemory };
  }
}

function placementFailure(remaining: { cpu: number; memory: number }, td: { cpu: number; memory: number }): UnplacedInstance['reason'] | undefined {
  if (td.memory > remaining.memory) return 'RESOURCE:MEMORY';
  if (td.cpu > remaining.cpu) return 'RESOURCE:CPU';
  return undefined;
}

function lastSegment(arn: string): string {
  return arn.split('/').pop() ?? arn;
}

function taskRef(t: TaskObs): string {
  return `(task ${lastSegment(t.arn)})`;
}
