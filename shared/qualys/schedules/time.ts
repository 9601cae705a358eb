import type { WeekDay } from '../config';

/**
 * The schedule API takes a start time in UTC only ("HH:mm", plus weekDay for weekly jobs;
 * qualys-cs-api.md §1.7 [C]). Config says "at 02:00 Europe/Paris": convert with Intl for the next
 * occurrence, so the UTC day shifts when the conversion crosses midnight and the offset is the one in
 * force on that day (DST). After a DST change the next run sees a drifted time and updates the job.
 */
export const WEEK_DAYS: readonly WeekDay[] = ['SUNDAY', 'MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY'];

export interface LocalSchedule {
  every: 'daily' | 'weekly';
  weekDay?: WeekDay;
  /** "HH:mm" local time. */
  at: string;
  timeZone: string;
}

export interface UtcSchedule {
  /** "HH:mm" UTC. */
  schedule: string;
  scheduleScanIntervalInDays: 1 | 7;
  weekDay?: WeekDay;
  /** The occurrence the conversion was made for. */
  nextRun: Date;
}

export function toUtcSchedule(local: LocalSchedule, now: Date): UtcSchedule {
  const [hh, mm] = local.at.split(':').map(Number) as [number, number];
  const today = localDate(now, local.timeZone);
  for (let i = 0; i <= 8; i++) {
    const day = new Date(Date.UTC(today.y, today.m - 1, today.d + i));
    if (local.every === 'weekly' && WEEK_DAYS[day.getUTCDay()] !== local.weekDay) continue;
    const instant = zonedTimeToUtc(day.getUTCFullYear(), day.getUTCMonth() + 1, day.getUTCDate(), hh, mm, local.timeZone);
    if (instant.getTime() <= now.getTime()) continue;
    return {
      schedule: `${pad(instant.getUTCHours())}:${pad(instant.getUTCMinutes())}`,
      scheduleScanIntervalInDays: local.every === 'weekly' ? 7 : 1,
      ...(local.every === 'weekly' ? { weekDay: WEEK_DAYS[instant.getUTCDay()] } : {}),
      nextRun: instant,
    };
  }
  throw new Error(`no next occurrence for ${local.every} ${local.weekDay ?? ''} ${local.at} ${local.timeZone}`);
}

/**
 * The UTC instant of a wall-clock time in `timeZone`. A time skipped by a DST jump resolves to the
 * same wall time under the new offset (02:30 becomes 03:30), as cron-like schedulers do.
 */
export function zonedTimeToUtc(y: number, m: number, d: number, hh: number, mm: number, timeZone: string): Date {
  const wall = Date.UTC(y, m - 1, d, hh, mm);
  const first = wall - offsetMs(wall, timeZone);
  const second = offsetMs(first, timeZone);
  return new Date(second === offsetMs(wall, timeZone) ? first : wall - second);
}

/** Offset of `timeZone` from UTC at `instant`, in ms (positive east of Greenwich). */
export function offsetMs(instant: number, timeZone: string): number {
  const p = partsIn(new Date(instant), timeZone);
  return Date.UTC(p.y, p.m - 1, p.d, p.hh, p.mm, p.ss) - Math.floor(instant / 1000) * 1000;
}

function localDate(now: Date, timeZone: string): { y: number; m: number; d: number } {
  const p = partsIn(now, timeZone);
  return { y: p.y, m: p.m, d: p.d };
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function partsIn(date: Date, timeZone: string) {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formatters.set(timeZone, f);
  }
  const parts = f.formatToParts(date);
  const get = (type: string) => Number(parts.find((x) => x.type === type)?.value);
  return { y: get('year'), m: get('month'), d: get('day'), hh: get('hour') % 24, mm: get('minute'), ss: get('second') };
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}
