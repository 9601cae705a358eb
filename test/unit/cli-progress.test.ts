import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { fleetProgress, pageProgress, progressOn } from '../../shared/cli/progress';

/** Progress on stderr (issue 10): one line rewritten in place on a terminal; nothing when piped or with --quiet. */
function stream(tty: boolean, columns = 160) {
  const s = Object.assign(new PassThrough(), tty ? { isTTY: true, columns } : {});
  let text = '';
  s.on('data', (d) => (text += d));
  return { s, text: () => text };
}

describe('progress', () => {
  it('on a terminal: waves, rollout waits with nodes updated/total, finished clusters, then erased', () => {
    const { s, text } = stream(true);
    const p = progressOn(s);
    const on = fleetProgress(p, 'reconcile');
    on({ kind: 'assessed', cluster: 'aws-eks:111122223333:eu-west-1:a', done: 1, total: 2 });
    on({ kind: 'wave', wave: 1, waves: 2, clusters: ['aws-eks:111122223333:eu-west-1:a'] });
    on({ kind: 'rollout', cluster: 'aws-eks:111122223333:eu-west-1:a', updated: 3, total: 5, message: '3 of 5 updated pods are available' });
    on({ kind: 'cluster', cluster: 'aws-eks:111122223333:eu-west-1:a', outcome: 'converged', done: 1, total: 2 });
    p.clear();
    const frames = text().split('\r\x1b[2K');
    expect(frames).toEqual([
      '',
      'reconcile: observed 1/2 clusters (aws-eks:111122223333:eu-west-1:a)',
      'reconcile: wave 1/2 (1 cluster): applying',
      'reconcile: wave 1/2 (1 cluster): aws-eks:111122223333:eu-west-1:a: 3/5 nodes updated',
      'reconcile: wave 1/2 (1 cluster): aws-eks:111122223333:eu-west-1:a converged; 1/2 clusters done',
      '',
    ]);
  });

  it('Qualys paging, cut to the terminal width', () => {
    const { s, text } = stream(true, 80);
    const p = progressOn(s);
    pageProgress(p, 'qualys sync')({ operation: 'listSensors', page: 3, records: 750, total: 2000 });
    expect(text()).toBe('\r\x1b[2Kqualys sync: Qualys listSensors page 3 (750 of 2000 records)');
    p.show('x'.repeat(200));
    expect(text().split('\r\x1b[2K').at(-1)).toBe(`${'x'.repeat(78)}…`);
  });

  it('quiet when not a terminal, and with --quiet', () => {
    for (const [tty, quiet] of [[false, false], [true, true]] as const) {
      const { s, text } = stream(tty);
      const p = progressOn(s, { quiet });
      fleetProgress(p, 'plan')({ kind: 'assessed', cluster: 'c', done: 1, total: 1 });
      p.clear();
      expect(text()).toBe('');
    }
  });
});
