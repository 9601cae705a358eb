import type { SensorfleetConfig } from '../config/schema';

type Window = SensorfleetConfig['rollout']['maintenanceWindows'][number];

/** Pure: is `at` inside a maintenance window that covers this cluster? Windows may cross midnight. */
export function activeWindow(windows: Window[], cluster: string, at: Date): Window | undefined {
  return windows.find((w) => globMatch(w.clusters, cluster) && inWindow(w, at));
}

/**
 * Pure: when the window that holds `at` ends (the first minute outside it), or undefined when `at` is
 * not in it. A window lasts less than a day (start and end are times of day), so this looks at most
 * 24 hours ahead, minute by minute in the window's own zone (DST shifts included).
 */
export function windowEnd(w: Window, at: Date): Date | undefined {
  if (!inWindow(w, at)) return undefined;
  const first = Math.floor(at.getTime() / 60_000) * 60_000 + 60_000;
  for (let t = first; t <= first + 24 * 60 * 60_000; t += 60_000) if (!inWindow(w, new Date(t))) return new Date(t);
  return undefined;
}

const formats = new Map<string, Intl.DateTimeFormat>();

function formatIn(timeZone: string): Intl.DateTimeFormat {
  let f = formats.get(timeZone);
  if (!f) formats.set(timeZone, (f = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })));
  return f;
}

function inWindow(w: Window, at: Date): boolean {
  const parts = formatIn(w.timeZone).formatToParts(at);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(get('weekday'));
  const minutes = Number(get('hour')) * 60 + Number(get('minute'));
  const start = toMinutes(w.start);
  const end = toMinutes(w.end);
  const dayOk = (d: number) => w.days.length === 0 || w.days.includes(d);
  if (start <= end) return dayOk(day) && minutes >= start && minutes < end;
  // crosses midnight: the part after midnight belongs to the window that started the day before
  return (dayOk(day) && minutes >= start) || (dayOk((day + 6) % 7) && minutes < end);
}

function toMinutes(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number) as [number, number];
  return h * 60 + m;
}

export function globMatch(pattern: string, text: string): boolean {
  const re = new RegExp(`^${pattern.split('*').map(escapeRe).join('.*')}$`);
  return re.test(text);
}

function escapeRe(s: string): string {
  return s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}
