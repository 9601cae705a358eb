/**
 * core/v1 Events as the cluster's components record them (`kubectl get events`, `kubectl describe`,
 * https://kubernetes.io/docs/reference/kubernetes-api/cluster-resources/event-v1/):
 * - the kubelet and kube-controller-manager use the legacy recorder (client-go tools/record): source
 *   {component, host}, firstTimestamp/lastTimestamp, count; its correlator folds a repeat of the same event
 *   (same object, type, reason, message, source) into the existing one, count + 1 and a new lastTimestamp;
 * - the scheduler uses the events.k8s.io recorder: eventTime, action, reportingComponent/Instance and no
 *   legacy timestamps (which is what the API server shows on the core/v1 view).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { controllerWrite, timestamp } from './registry';
import { RESOURCE_TYPES } from './resources';
import type { ObjectStore } from './store';

const EVENT = RESOURCE_TYPES.find((t) => t.kind === 'Event')!;

export interface EventSource {
  component: string;
  host?: string;
  /** e.g. spec.containers{sensor} */
  fieldPath?: string;
  /** events.k8s.io recorder only (the scheduler): the action taken, e.g. Binding, Scheduling. */
  action?: string;
}

/** MicroTime: RFC 3339 with microseconds. */
const microTime = () => new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export class EventRecorder {
  constructor(private readonly store: ObjectStore) {}

  record(involved: any, type: 'Normal' | 'Warning', reason: string, message: string, src: EventSource): void {
    const ns = involved.metadata.namespace ?? 'default';
    const involvedObject = {
      kind: involved.kind, namespace: ns, name: involved.metadata.name, uid: involved.metadata.uid, apiVersion: involved.apiVersion,
      ...(involved.metadata.resourceVersion ? { resourceVersion: involved.metadata.resourceVersion } : {}),
      ...(src.fieldPath ? { fieldPath: src.fieldPath } : {}),
    };
    if (src.action) return this.recordNew(involvedObject, ns, type, reason, message, src);
    const ts = timestamp();
    const same = this.store.list(EVENT, ns).find((r) => {
      const e = r.obj;
      return e.involvedObject?.uid === involvedObject.uid && e.involvedObject?.fieldPath === involvedObject.fieldPath && e.type === type && e.reason === reason && e.message === message && e.source?.component === src.component && (e.source?.host ?? '') === (src.host ?? '');
    });
    if (same) {
      const next = { ...structuredClone(same.obj), count: (same.obj.count ?? 1) + 1, lastTimestamp: ts };
      controllerWrite(this.store, EVENT, { obj: next, managers: [] }, same.obj);
      return;
    }
    const ev = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: eventName(involved), namespace: ns, uid: randomUUID(), creationTimestamp: ts },
      involvedObject,
      reason, message, type, count: 1, firstTimestamp: ts, lastTimestamp: ts, eventTime: null,
      source: { component: src.component, ...(src.host ? { host: src.host } : {}) },
      reportingComponent: src.component, reportingInstance: src.host ?? '',
    };
    controllerWrite(this.store, EVENT, { obj: ev, managers: [] });
  }

  private recordNew(involvedObject: any, ns: string, type: string, reason: string, message: string, src: EventSource): void {
    const ev = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: eventName({ metadata: { name: involvedObject.name } }), namespace: ns, uid: randomUUID(), creationTimestamp: timestamp() },
      involvedObject,
      reason, message, type, action: src.action,
      eventTime: microTime(), firstTimestamp: null, lastTimestamp: null,
      source: {},
      reportingComponent: src.component, reportingInstance: `${src.component}-${src.host ?? 'sandbox'}`,
    };
    controllerWrite(this.store, EVENT, { obj: ev, managers: [] });
  }
}

let seq = randomBytes(2).readUInt16BE(0);

/** `<object>.<hex of the time in ns>`, as the recorder names them; a counter stands in for the nanoseconds, so names sort in recording order. */
function eventName(involved: any): string {
  seq = (seq + 1) % 1_000_000;
  const ns = BigInt(Date.now()) * 1_000_000n + BigInt(seq);
  return `${involved.metadata.name}.${ns.toString(16)}`;
}
