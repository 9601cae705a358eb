import type { ContainerInstance, Service, Task } from '@aws-sdk/client-ecs';
import type { Coverage, RolloutState, UncoveredNode } from '../types';

/**
 * Coverage per container instance (pure): every ACTIVE instance must run a RUNNING sensor task of
 * the service's current deployment: its task definition, and started by its PRIMARY deployment (a
 * service task's startedBy is the id of the deployment that started it, ECS API reference Task). A
 * restart is a new deployment of the same revision, so the revision alone cannot tell a replaced task
 * from its replacement. Instances without one get the reason that can be seen
 * from the ECS API, in this order: pending, old revision or deployment, stopped (stoppedReason), no room
 * (remainingResources below the task's needs), agent disconnected, no task (plus the service's
 * latest event when it explains a placement failure).
 */
export interface TaskNeeds {
  cpu: number;
  memory: number;
}

export interface CoverageSnapshot {
  service?: Service;
  /** ACTIVE container instances of the cluster. */
  instances: ContainerInstance[];
  /** Tasks of the sensor service (running, pending and recently stopped). */
  tasks: Task[];
  needs: TaskNeeds;
}

export interface InstanceCoverage {
  total: number;
  covered: number;
  uncovered: UncoveredNode[];
  /** Uncovered instances that no amount of waiting fixes (no room, agent disconnected). */
  blocked: number;
  nodeNames: string[];
}

const STARTING = new Set(['PROVISIONING', 'PENDING', 'ACTIVATING']);
export const NO_ROOM = 'no room on the instance';

export function instanceCoverage(s: CoverageSnapshot): InstanceCoverage {
  const current = s.service?.taskDefinition;
  const deployment = s.service?.deployments?.find((d) => d.status === 'PRIMARY' && d.taskDefinition === current)?.id;
  const byInstance = new Map<string, Task[]>();
  for (const t of s.tasks) {
    if (!t.containerInstanceArn) continue;
    byInstance.set(t.containerInstanceArn, [...(byInstance.get(t.containerInstanceArn) ?? []), t]);
  }
  const placementEvent = latestPlacementEvent(s.service);
  const recentEvents = eventsOfPrimaryDeployment(s.service);
  const uncovered: UncoveredNode[] = [];
  let covered = 0;
  let blocked = 0;
  for (const instance of s.instances) {
    const tasks = byInstance.get(instance.containerInstanceArn ?? '') ?? [];
    const node = nodeName(instance);
    if (!current) {
      uncovered.push({ node, reason: 'no sensor service' });
      continue;
    }
    const verdict = classify(instance, tasks, { taskDefinition: current, deployment }, s.needs, placementEvent, recentEvents);
    if (verdict === 'covered') covered++;
    else {
      uncovered.push({ node, reason: verdict.reason });
      if (verdict.blocked) blocked++;
    }
  }
  return { total: s.instances.length, covered, uncovered, blocked, nodeNames: s.instances.map(nodeName) };
}

/** The service's current task definition and (when ECS names it) the id of its PRIMARY deployment. */
interface CurrentDeployment {
  taskDefinition: string;
  deployment?: string;
}

function classify(
  instance: ContainerInstance,
  tasks: Task[],
  current: CurrentDeployment,
  needs: TaskNeeds,
  placementEvent: string | undefined,
  recentEvents: string[],
): 'covered' | { reason: string; blocked?: boolean } {
  const isCurrent = (t: Task) => t.taskDefinitionArn === current.taskDefinition && (!current.deployment || !t.startedBy || t.startedBy === current.deployment);
  const ofCurrent = tasks.filter(isCurrent);
  if (ofCurrent.some((t) => t.lastStatus === 'RUNNING')) return 'covered';
  const starting = ofCurrent.find((t) => STARTING.has(t.lastStatus ?? ''));
  if (starting) return { reason: `pending (task ${starting.lastStatus})` };
  const old = tasks.find((t) => t.lastStatus === 'RUNNING' && !isCurrent(t));
  if (old && old.taskDefinitionArn !== current.taskDefinition) return { reason: `old revision (runs ${revisionOf(old.taskDefinitionArn)}, current is ${revisionOf(current.taskDefinition)})` };
  if (old) return { reason: `old deployment (runs a task of deployment ${old.startedBy}, current is ${current.deployment}): being replaced` };
  const stopped = latestStopped(ofCurrent);
  if (stopped) return { reason: `stopped: ${stopped.stoppedReason || stopped.stopCode || 'no reason given'}` };
  const free = remaining(instance);
  if (free.cpu < needs.cpu || free.memory < needs.memory) {
    return {
      reason: `${NO_ROOM} (the sensor needs cpu ${needs.cpu} / memory ${needs.memory} MiB, free cpu ${free.cpu} / memory ${free.memory} MiB)`,
      blocked: true,
    };
  }
  const id = instance.containerInstanceArn?.split('/').pop();
  const insufficient = id ? recentEvents.find((m) => m.includes(id) && /insufficient/i.test(m)) : undefined;
  if (insufficient) return { reason: `${NO_ROOM} (service event: ${insufficient})`, blocked: true };
  if (instance.agentConnected === false) return { reason: 'ECS agent disconnected', blocked: true };
  return { reason: placementEvent ? `no task; service event: ${placementEvent}` : 'no task' };
}

function latestStopped(tasks: Task[]): Task | undefined {
  return tasks
    .filter((t) => t.lastStatus === 'STOPPED' || t.lastStatus === 'DEPROVISIONING' || t.lastStatus === 'STOPPING')
    .sort((a, b) => time(b.stoppedAt ?? b.stoppingAt) - time(a.stoppedAt ?? a.stoppingAt))[0];
}

function time(d: Date | undefined): number {
  return d ? new Date(d).getTime() : 0;
}

function remaining(instance: ContainerInstance): TaskNeeds {
  const value = (name: string) => instance.remainingResources?.find((r) => r.name === name)?.integerValue ?? 0;
  return { cpu: value('CPU'), memory: value('MEMORY') };
}

/** ECS reports placement failures as service events, e.g. "(service x) was unable to place a task because …". */
function latestPlacementEvent(service: Service | undefined): string | undefined {
  const events = [...(service?.events ?? [])].sort((a, b) => time(b.createdAt) - time(a.createdAt));
  const latest = events[0]?.message;
  return latest && /unable to place|insufficient|no container instance/i.test(latest) ? latest : undefined;
}

/**
 * Messages of the service's events since its PRIMARY deployment started, newest first. ECS names the
 * closest matching container instance when it cannot place a task for lack of resources: that is the
 * scheduler's own verdict. Events older than the deployment may describe a state that has since changed.
 */
function eventsOfPrimaryDeployment(service: Service | undefined): string[] {
  const primary = service?.deployments?.find((d) => d.status === 'PRIMARY');
  const since = time(primary?.createdAt);
  return [...(service?.events ?? [])]
    .filter((e) => time(e.createdAt) >= since)
    .sort((a, b) => time(b.createdAt) - time(a.createdAt))
    .map((e) => e.message ?? '');
}

export function nodeName(instance: ContainerInstance): string {
  return instance.ec2InstanceId ?? instance.containerInstanceArn?.split('/').pop() ?? 'unknown';
}

function revisionOf(arn: string | undefined): string {
  return arn?.split('/').pop() ?? '(unknown)';
}

/**
 * Fast path (no listing): the service's own counts say every instance runs the current task
 * definition. True only when there is one deployment, of the service's task definition, finished,
 * and desired = running = registered instances (registered counts ACTIVE and DRAINING instances, so
 * a draining instance sends us down the slow path).
 */
export function coveredByServiceCounts(service: Service | undefined, registeredInstances: number | undefined): boolean {
  if (!service || service.status !== 'ACTIVE' || registeredInstances === undefined) return false;
  const deployments = service.deployments ?? [];
  if (deployments.length !== 1) return false;
  const [d] = deployments;
  if (d!.taskDefinition !== service.taskDefinition) return false;
  if (d!.rolloutState && d!.rolloutState !== 'COMPLETED') return false;
  return (
    service.desiredCount === registeredInstances &&
    service.runningCount === registeredInstances &&
    (service.pendingCount ?? 0) === 0 &&
    (d!.runningCount ?? registeredInstances) === registeredInstances
  );
}

/** The rollout state with a sentence (after gitops-engine's health: status plus a human message). */
export function rolloutOf(c: Pick<InstanceCoverage, 'total' | 'covered' | 'uncovered' | 'blocked'>, deadlinePassed: boolean, deadlineMs: number): Coverage['rollout'] {
  const sentence = `${c.covered} of ${c.total} instances run the current sensor`;
  if (c.covered === c.total) return { state: 'complete', message: sentence };
  const waiting = c.uncovered.length - c.blocked;
  if (waiting === 0) {
    return { state: 'complete', message: `${sentence}; ${c.blocked} cannot run it (${blockedSummary(c.uncovered)})` };
  }
  const state: RolloutState = deadlinePassed ? 'stuck' : 'progressing';
  const prefix = deadlinePassed ? `not finished after ${Math.round(deadlineMs / 1000)} s: ` : '';
  return { state, message: `${prefix}${sentence}` };
}

function blockedSummary(uncovered: UncoveredNode[]): string {
  const reasons = new Set(uncovered.map((u) => (u.reason.startsWith(NO_ROOM) ? NO_ROOM : u.reason)));
  return [...reasons].join(', ');
}
