/**
 * Progress of long steps on stderr, as one line rewritten in place: assessments, waves, rollout waits
 * (nodes updated/total) and Qualys paging. Only on a terminal and without --quiet; piped output and
 * logs never see it. stdout (the result) is never touched.
 */
import type { FleetProgress, ProgressListener } from '../engine/progress';
import type { PageListener } from '../qualys/paging';
import { isTerminal } from './io';

export interface Progress {
  /** Replaces the progress line. */
  show(text: string): void;
  /** Erases it (before the result is printed). */
  clear(): void;
}

const SILENT: Progress = { show: () => undefined, clear: () => undefined };

export function progressOn(stream: NodeJS.WritableStream, options: { quiet?: boolean } = {}): Progress {
  if (options.quiet || !isTerminal(stream)) return SILENT;
  let visible = false;
  return {
    show(text) {
      const width = ((stream as { columns?: number }).columns ?? 100) - 1;
      stream.write(`\r\x1b[2K${text.length > width ? `${text.slice(0, width - 1)}…` : text}`);
      visible = true;
    },
    clear() {
      if (visible) stream.write('\r\x1b[2K');
      visible = false;
    },
  };
}

/** The engine's events as progress lines: "wave 2/4 (5 clusters): aws-eks:…:web 3/5 nodes updated". */
export function fleetProgress(progress: Progress, verb: string): ProgressListener {
  let wave = '';
  let finished = '';
  return (e: FleetProgress) => {
    switch (e.kind) {
      case 'assessed':
        progress.show(`${verb}: observed ${e.done}/${e.total} cluster${e.total === 1 ? '' : 's'} (${e.cluster})`);
        break;
      case 'wave':
        wave = `wave ${e.wave}/${e.waves} (${e.clusters.length} cluster${e.clusters.length === 1 ? '' : 's'})`;
        finished = '';
        progress.show(`${verb}: ${wave}: applying`);
        break;
      case 'rollout':
        progress.show(`${verb}: ${wave ? `${wave}: ` : ''}${e.cluster}: ${e.updated}/${e.total} nodes updated${finished}`);
        break;
      case 'cluster':
        finished = `; ${e.done}/${e.total} clusters done`;
        progress.show(`${verb}: ${wave ? `${wave}: ` : ''}${e.cluster} ${e.outcome}${finished}`);
        break;
    }
  };
}

/** Qualys list paging as progress: "qualys sync: listSensors page 3 (750 of 2000)". */
export function pageProgress(progress: Progress, verb: string): PageListener {
  return (p) => progress.show(`${verb}: Qualys ${p.operation} page ${p.page} (${p.records}${p.total !== undefined ? ` of ${p.total}` : ''} records)`);
}
