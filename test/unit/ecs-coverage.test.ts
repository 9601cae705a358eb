import type { ContainerInstance, Service, Task } from '@aws-sdk/client-ecs';
import { describe, expect, it } from 'vitest';
import { coveredByServiceCounts, instanceCoverage, rolloutOf } from '../../shared/platforms/ecs/coverage';

const base = 'arn:aws:ecs:eu-west-1:123456789012';
const td = (rev: number) => `${base}:task-definition/qualys-container-sensor:${rev}`;
const ciArn = (id: string) => `${base}:container-instance/c1/${id}`;
const needs = { cpu: 256, memory: 512 };

function instance(id: string, free: { cpu: number; memory: number } = { cpu: 3840, memory: 6970 }, extra: Partial<ContainerInstance> = {}): ContainerInstance {
  return {
    containerInstanceArn: ciArn(id),
    ec2InstanceId: `i-${id}`,
    status: 'ACTIVE',
    agentConnected: true,
    remainingResources: [
      { name: 'CPU', type: 'INTEGER', integerValue: free.cpu },
      { name: 'MEMORY', type: 'INTEGER', integerValue: free.memory },
    ],
    ...extra,
  };
}

function task(on: string, rev: number, lastStatus: string, extra: Partial<Task> = {}): Task {
  return { taskArn: `${base}:task/c1/${on}-${rev}-${lastStatus}`, containerInstanceArn: ciArn(on), taskDefinitionArn: td(rev), lastStatus, group: 'service:qualys-container-sensor', ...extra };
}

const service = (rev: number, extra: Partial<Service> = {}): Service => ({ serviceName: 'qualys-container-sensor', status: 'ACTIVE', taskDefinition: td(rev), ...extra });

describe('ECS coverage per container instance', () => {
  it('every ACTIVE instance running a RUNNING task of the current revision is covered', () => {
    const c = instanceCoverage({ service: service(4), instances: [instance('a'), instance('b')], tasks: [task('a', 4, 'RUNNING'), task('b', 4, 'RUNNING')], needs });
    expect(c).toMatchObject({ total: 2, covered: 2, uncovered: [], blocked: 0, nodeNames: ['i-a', 'i-b'] });
    expect(rolloutOf(c, false, 60_000)).toEqual({ state: 'complete', message: '2 of 2 instances run the current sensor' });
  });

  it('lists every uncovered instance with the reason that can be seen', () => {
    const c = instanceCoverage({
      service: service(4, { events: [{ id: '1', createdAt: new Date(), message: '(service qualys-container-sensor) was unable to place a task because no container instance met all of its requirements.' }] }),
      instances: [
        instance('pending'),
        instance('old'),
        instance('crashed'),
        instance('small', { cpu: 128, memory: 4000 }),
        instance('lost', undefined, { agentConnected: false }),
        instance('empty'),
        instance('ok'),
      ],
      tasks: [
        task('pending', 4, 'PENDING'),
        task('old', 3, 'RUNNING'),
        task('crashed', 4, 'STOPPED', { stoppedReason: 'CannotPullContainerError: pull access denied', stoppedAt: new Date() }),
        task('ok', 4, 'RUNNING'),
      ],
      needs,
    });
    expect(c.covered).toBe(1);
    expect(c.blocked).toBe(2);
    expect(Object.fromEntries(c.uncovered.map((u) => [u.node, u.reason]))).toEqual({
      'i-pending': 'pending (task PENDING)',
      'i-old': 'old revision (runs qualys-container-sensor:3, current is qualys-container-sensor:4)',
      'i-crashed': 'stopped: CannotPullContainerError: pull access denied',
      'i-small': 'no room on the instance (the sensor needs cpu 256 / memory 512 MiB, free cpu 128 / memory 4000 MiB)',
      'i-lost': 'ECS agent disconnected',
      'i-empty': 'no task; service event: (service qualys-container-sensor) was unable to place a task because no container instance met all of its requirements.',
    });
    expect(rolloutOf(c, false, 60_000)).toEqual({ state: 'progressing', message: '1 of 7 instances run the current sensor' });
    expect(rolloutOf(c, true, 60_000)).toEqual({ state: 'stuck', message: 'not finished after 60 s: 1 of 7 instances run the current sensor' });
  });

  it('a running sensor is not "no room" even though it uses the room itself', () => {
    const c = instanceCoverage({ service: service(4), instances: [instance('a', { cpu: 0, memory: 0 })], tasks: [task('a', 4, 'RUNNING')], needs });
    expect(c.covered).toBe(1);
  });

  it('when only instances without room are left, the rollout is done and says why the rest cannot run it', () => {
    const c = instanceCoverage({ service: service(4), instances: [instance('a'), instance('tiny', { cpu: 4096, memory: 128 })], tasks: [task('a', 4, 'RUNNING')], needs });
    expect(c.uncovered).toEqual([{ node: 'i-tiny', reason: expect.stringMatching(/^no room on the instance/) }]);
    expect(rolloutOf(c, false, 60_000)).toEqual({ state: 'complete', message: '1 of 2 instances run the current sensor; 1 cannot run it (no room on the instance)' });
  });

  it("the scheduler's placement event naming the instance counts as no room", () => {
    const deployedAt = new Date('2026-11-23T10:00:00Z');
    const c = instanceCoverage({
      service: service(4, {
        deployments: [{ id: 'd1', status: 'PRIMARY', taskDefinition: td(4), createdAt: deployedAt }],
        events: [
          { id: 'e2', createdAt: new Date('2026-11-23T10:00:05Z'), message: '(service qualys-container-sensor) was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance small) has insufficient memory available.' },
          { id: 'e1', createdAt: new Date('2026-11-23T09:00:00Z'), message: '(service qualys-container-sensor) was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance stale) has insufficient memory available.' },
        ],
      }),
      instances: [instance('small'), instance('stale')],
      tasks: [],
      needs,
    });
    expect(c.uncovered[0]).toEqual({ node: 'i-small', reason: expect.stringMatching(/^no room on the instance \(service event: .*container-instance small\) has insufficient memory/) });
    expect(c.uncovered[1]!.reason).toMatch(/^no task; service event/); // an event older than the deployment is not trusted for this instance
    expect(c.blocked).toBe(1);
  });

  it('a restart (new deployment, same revision): a task of the old deployment is not coverage, only one the PRIMARY deployment started', () => {
    // ECS sets a service task's startedBy to the id of the deployment that started it (Task.startedBy, ECS API reference)
    const restarted = service(4, {
      deployments: [
        { id: 'ecs-svc/2222', status: 'PRIMARY', taskDefinition: td(4), rolloutState: 'IN_PROGRESS' },
        { id: 'ecs-svc/1111', status: 'ACTIVE', taskDefinition: td(4), rolloutState: 'COMPLETED' },
      ],
    });
    const c = instanceCoverage({
      service: restarted,
      instances: [instance('a'), instance('b'), instance('c')],
      tasks: [
        task('a', 4, 'RUNNING', { startedBy: 'ecs-svc/1111' }),
        task('b', 4, 'RUNNING', { startedBy: 'ecs-svc/2222' }),
        task('c', 4, 'PENDING', { startedBy: 'ecs-svc/2222', taskArn: `${base}:task/c1/c-new` }),
        task('c', 4, 'STOPPED', { startedBy: 'ecs-svc/1111', stoppedReason: 'Scaling activity initiated by (deployment ecs-svc/2222)', stoppedAt: new Date() }),
      ],
      needs,
    });
    expect(c.covered).toBe(1);
    expect(Object.fromEntries(c.uncovered.map((u) => [u.node, u.reason]))).toEqual({
      'i-a': 'old deployment (runs a task of deployment ecs-svc/1111, current is ecs-svc/2222): being replaced',
      'i-c': 'pending (task PENDING)',
    });
    expect(rolloutOf(c, false, 60_000).state).toBe('progressing');
    // the old deployment's last task gone, every instance runs one of the current deployment: covered
    const done = instanceCoverage({
      service: restarted,
      instances: [instance('a'), instance('b')],
      tasks: [task('a', 4, 'RUNNING', { startedBy: 'ecs-svc/2222' }), task('b', 4, 'RUNNING', { startedBy: 'ecs-svc/2222' })],
      needs,
    });
    expect(done).toMatchObject({ covered: 2, uncovered: [] });
  });

  it('without a sensor service every instance is uncovered', () => {
    const c = instanceCoverage({ service: undefined, instances: [instance('a')], tasks: [], needs });
    expect(c.uncovered).toEqual([{ node: 'i-a', reason: 'no sensor service' }]);
  });
});

describe('ECS coverage fast path (service counts, no listing)', () => {
  const steady = (extra: Partial<Service> = {}) =>
    service(4, {
      desiredCount: 3,
      runningCount: 3,
      pendingCount: 0,
      deployments: [{ id: 'd1', status: 'PRIMARY', taskDefinition: td(4), desiredCount: 3, runningCount: 3, pendingCount: 0, rolloutState: 'COMPLETED' }],
      ...extra,
    });

  it('one finished deployment of the current revision and desired = running = registered instances', () => {
    expect(coveredByServiceCounts(steady(), 3)).toBe(true);
  });

  it('anything else goes down the slow path', () => {
    expect(coveredByServiceCounts(steady(), 4)).toBe(false); // an instance more than the service counts (or one DRAINING)
    expect(coveredByServiceCounts(steady({ runningCount: 2 }), 3)).toBe(false);
    expect(coveredByServiceCounts(steady({ pendingCount: 1 }), 3)).toBe(false);
    expect(coveredByServiceCounts(steady({ taskDefinition: td(5) }), 3)).toBe(false);
    expect(
      coveredByServiceCounts(
        steady({ deployments: [...steady().deployments!, { id: 'd0', status: 'ACTIVE', taskDefinition: td(3), runningCount: 1 }] }),
        3,
      ),
    ).toBe(false);
    expect(coveredByServiceCounts(steady({ deployments: [{ ...steady().deployments![0]!, rolloutState: 'IN_PROGRESS' }] }), 3)).toBe(false);
    expect(coveredByServiceCounts(steady({ status: 'DRAINING' }), 3)).toBe(false);
    expect(coveredByServiceCounts(undefined, 3)).toBe(false);
    expect(coveredByServiceCounts(steady(), undefined)).toBe(false);
  });
});
