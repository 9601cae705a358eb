/**
 * Server-side printing: kubectl asks for `Accept: application/json;as=Table;v=v1;g=meta.k8s.io` and prints
 * the columns the server returns (https://kubernetes.io/docs/reference/using-api/api-concepts/#receiving-resources-as-tables).
 * Columns follow pkg/printers/internalversion for the kinds people look at; others get Name + Created At.
 */
type Col = { name: string; type: string; format?: string; priority?: number; description?: string };

/** duration.HumanDuration, the AGE column format. */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (h < 24 * 8) return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`;
  if (d < 365 * 2) return `${d}d`;
  return `${Math.floor(d / 365)}y`;
}

const age = (o: any) => humanDuration(Date.now() - Date.parse(o.metadata.creationTimestamp ?? new Date().toISOString()));
const NAME: Col = { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.' };
const AGE: Col = { name: 'Age', type: 'string', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.' };

function podStatusReason(p: any): string {
  let reason = p.status?.reason ?? p.status?.phase ?? 'Unknown';
  for (const c of p.status?.containerStatuses ?? []) {
    if (c.state?.waiting?.reason) reason = c.state.waiting.reason;
    else if (c.state?.terminated?.reason) reason = c.state.terminated.reason;
  }
  if (p.metadata.deletionTimestamp) reason = 'Terminating';
  return reason;
}

const selectorString = (m: Record<string, string> | undefined) => (m && Object.keys(m).length ? Object.entries(m).map(([k, v]) => `${k}=${v}`).join(',') : '<none>');

const TABLES: Record<string, { columns: Col[]; cells: (o: any) => unknown[] }> = {
  Pod: {
    columns: [NAME, { name: 'Ready', type: 'string' }, { name: 'Status', type: 'string' }, { name: 'Restarts', type: 'string' }, AGE,
      { name: 'IP', type: 'string', priority: 1 }, { name: 'Node', type: 'string', priority: 1 }, { name: 'Nominated Node', type: 'string', priority: 1 }, { name: 'Readiness Gates', type: 'string', priority: 1 }],
    cells: (p) => {
      const cs: any[] = p.status?.containerStatuses ?? [];
      const total = (p.spec?.containers ?? []).length;
      return [p.metadata.name, `${cs.filter((c) => c.ready).length}/${total}`, podStatusReason(p), String(cs.reduce((a, c) => a + (c.restartCount ?? 0), 0)), age(p),
        p.status?.podIP ?? '<none>', p.spec?.nodeName ?? '<none>', '<none>', '<none>'];
    },
  },
  DaemonSet: {
    columns: [NAME, { name: 'Desired', type: 'integer' }, { name: 'Current', type: 'integer' }, { name: 'Ready', type: 'integer' }, { name: 'Up-to-date', type: 'integer' },
      { name: 'Available', type: 'integer' }, { name: 'Node Selector', type: 'string' }, AGE,
      { name: 'Containers', type: 'string', priority: 1 }, { name: 'Images', type: 'string', priority: 1 }, { name: 'Selector', type: 'string', priority: 1 }],
    cells: (d) => {
      const s = d.status ?? {};
      const cs: any[] = d.spec?.template?.spec?.containers ?? [];
      return [d.metadata.name, s.desiredNumberScheduled ?? 0, s.currentNumberScheduled ?? 0, s.numberReady ?? 0, s.updatedNumberScheduled ?? 0, s.numberAvailable ?? 0,
        selectorString(d.spec?.template?.spec?.nodeSelector), age(d), cs.map((c) => c.name).join(','), cs.map((c) => c.image).join(','), selectorString(d.spec?.selector?.matchLabels)];
    },
  },
  Node: {
    columns: [NAME, { name: 'Status', type: 'string' }, { name: 'Roles', type: 'string' }, AGE, { name: 'Version', type: 'string' },
      { name: 'Internal-IP', type: 'string', priority: 1 }, { name: 'External-IP', type: 'string', priority: 1 }, { name: 'OS-Image', type: 'string', priority: 1 },
      { name: 'Kernel-Version', type: 'string', priority: 1 }, { name: 'Container-Runtime', type: 'string', priority: 1 }],
    cells: (n) => {
      const ready = (n.status?.conditions ?? []).find((c: any) => c.type === 'Ready')?.status === 'True';
      const status = [ready ? 'Ready' : 'NotReady', ...(n.spec?.unschedulable ? ['SchedulingDisabled'] : [])].join(',');
      const roles = Object.keys(n.metadata.labels ?? {}).filter((k) => k.startsWith('node-role.kubernetes.io/')).map((k) => k.slice('node-role.kubernetes.io/'.length));
      const addr = (t: string) => (n.status?.addresses ?? []).find((a: any) => a.type === t)?.address ?? '<none>';
      const info = n.status?.nodeInfo ?? {};
      return [n.metadata.name, status, roles.length ? roles.join(',') : '<none>', age(n), info.kubeletVersion ?? '', addr('InternalIP'), addr('ExternalIP'), info.osImage ?? '', info.kernelVersion ?? '', info.containerRuntimeVersion ?? ''];
    },
  },
  Namespace: {
    columns: [NAME, { name: 'Status', type: 'string' }, AGE],
    cells: (n) => [n.metadata.name, n.status?.phase ?? 'Active', age(n)],
  },
};

/** printEvent: a time not set is "<unknown>"; an event without lastTimestamp shows its first (or eventTime). */
const since = (t: string | null | undefined) => (t ? humanDuration(Date.now() - Date.parse(t)) : '<unknown>');

/** formatEventSource: component (or reportingController), then host (or reportingInstance). */
function eventSource(e: any): string {
  const component = e.source?.component || e.reportingComponent || '';
  const instance = e.source?.host || e.reportingInstance || '';
  if (!component) return '<unknown>';
  return instance ? `${component}, ${instance}` : component;
}

TABLES.Event = {
  columns: [
    { name: 'Last Seen', type: 'string', description: 'The time at which the most recent occurrence of this event was recorded.' },
    { name: 'Type', type: 'string', description: 'Type of this event (Normal, Warning), new types could be added in the future' },
    { name: 'Reason', type: 'string', description: "This should be a short, machine understandable string that gives the reason for the transition into the object's current status." },
    { name: 'Object', type: 'string', description: 'The object that this event is about.' },
    { name: 'Subobject', type: 'string', priority: 1, description: 'If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2].' },
    { name: 'Source', type: 'string', priority: 1, description: 'The component reporting this event. Should be a short machine understandable string.' },
    { name: 'Message', type: 'string', description: 'A human-readable description of the status of this operation.' },
    { name: 'First Seen', type: 'string', priority: 1, description: 'The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)' },
    { name: 'Count', type: 'string', priority: 1, description: 'The number of times this event has occurred.' },
    { name: 'Name', type: 'string', priority: 1, format: 'name', description: NAME.description },
  ],
  cells: (e) => {
    const first = e.firstTimestamp ? since(e.firstTimestamp) : since(e.eventTime);
    let last = e.lastTimestamp ? since(e.lastTimestamp) : first;
    let count = e.count ?? 0;
    if (e.series) {
      last = since(e.series.lastObservedTime);
      count = e.series.count;
    } else if (count === 0) count = 1;
    const io = e.involvedObject ?? {};
    const target = io.name ? `${String(io.kind ?? '').toLowerCase()}/${io.name}` : String(io.kind ?? '').toLowerCase();
    return [last, e.type ?? '', e.reason ?? '', target, io.fieldPath ?? '', eventSource(e), String(e.message ?? '').trim(), first, count, e.metadata.name];
  },
};

const DEFAULT_TABLE = { columns: [NAME, { name: 'Created At', type: 'date', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.' }], cells: (o: any) => [o.metadata.name, o.metadata.creationTimestamp] };

export function wantsTable(accept: string | undefined): boolean {
  return !!accept && /as=Table/.test(accept) && /g=meta\.k8s\.io/.test(accept);
}

export function toTable(kind: string, items: any[], resourceVersion: string): any {
  const t = TABLES[kind] ?? DEFAULT_TABLE;
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion },
    columnDefinitions: t.columns.map((c) => ({ name: c.name, type: c.type, format: c.format ?? '', description: c.description ?? '', priority: c.priority ?? 0 })),
    rows: items.map((o) => ({ cells: t.cells(o), object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata } })),
  };
}
