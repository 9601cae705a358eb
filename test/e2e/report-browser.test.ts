import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { resetAwsClients } from '../../shared/platforms/aws/clients';
import type { RunReport } from '../../shared/report/model';
import { rolloutDemoStep, type RolloutDemoReport } from '../sandbox/demo-rollout';
import { startSandbox, type Sandbox } from '../sandbox/index';
import { startQualysSandbox, type QualysSandbox } from '../sandbox/qualys/fixture';
import { deployStackResources } from '../sandbox/stack';

/**
 * The run report a real rollout run wrote (the demo's rollout step: the bundled worker writes it when
 * the run halts and when it finishes), opened in Debian's chromium through playwright-core: the SVG
 * chart has the run's bars and figures, the attention table the clusters and their reasons, and the
 * page loaded nothing but itself.
 */
const CHROMIUM = '/usr/bin/chromium';
// toolchain.md §7
const LAUNCH_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let sandbox: Sandbox;
let qualys: QualysSandbox;
let restore: () => void;
let detach: () => void;
let browser: Browser;
let rollout: RolloutDemoReport;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run installs it)`);
  sandbox = await startSandbox({ motoUrl: inject('motoUrl'), region: 'ap-northeast-3', stepFunctions: true });
  restore = sandbox.useAwsEnv();
  resetAwsClients();
  await sandbox.fleet.putActivationSecret();
  const stack = await deployStackResources({ stage: `rep${Date.now().toString(36)}`, ...sandbox.aws });
  qualys = await startQualysSandbox(sandbox.aws.endpoint, { region: sandbox.aws.region, checkInIntervalMs: 300 });
  detach = qualys.fake.attachSensorEvents(sandbox.sensors);
  rollout = await rolloutDemoStep({ sandbox, stack, qualys, log: () => undefined, region: 'ap-south-1', reportsDir: mkdtempSync(join(tmpdir(), 'sensorfleet-reports-')) });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: LAUNCH_ARGS });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  detach?.();
  await qualys?.stop();
  restore?.();
  await sandbox?.stop();
});

describe('run report in a browser', () => {
  it('the halted run: chart bars of the run, the crash-looping canary in the attention table, nothing loaded from outside', async () => {
    expect(rollout.checks.filter((c) => !c.ok)).toEqual([]);
    const halted = rollout.reports.find((r) => r.status === 'halted')!;
    expect(halted).toBeDefined();
    const report = JSON.parse(readFileSync(halted.json, 'utf8')) as RunReport;
    expect(report.run.status).toBe('halted');

    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    // every request the page makes is seen (and any other than the page itself refused)
    const requested = new Set<string>();
    const url = pathToFileURL(halted.html).href;
    await page.route('**/*', (route) => {
      requested.add(route.request().url());
      return route.request().url() === url ? route.continue() : route.abort();
    });
    page.on('request', (r) => requested.add(r.url()));
    await page.goto(url, { waitUntil: 'load' });

    const dir = join(process.cwd(), '.test-results');
    mkdirSync(dir, { recursive: true });
    const shot = join(dir, `run-report-${report.run.runId}.png`);
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`run report screenshot: ${shot}`);
    expect(readFileSync(shot).subarray(1, 4).toString()).toBe('PNG');

    // the chart: one bar per platform and per ring, with the report's figures
    const bars = await page.$$eval('#coverage-chart g.bar', (gs) =>
      gs.map((g) => ({ group: g.getAttribute('data-group'), key: g.getAttribute('data-key'), covered: Number(g.getAttribute('data-covered')), total: Number(g.getAttribute('data-total')), text: g.querySelector('text.value')?.textContent ?? '', fill: Number(g.querySelector('rect.fill')?.getAttribute('width')) })),
    );
    const expected = [...report.coverage.byPlatform.map((b) => ({ ...b, group: 'platform' })), ...report.coverage.byRing.map((b) => ({ ...b, group: 'ring' }))];
    expect(bars.map((b) => [b.group, b.key, b.covered, b.total])).toEqual(expected.map((b) => [b.group, b.key, b.covered, b.total]));
    // one platform; a bar per ring of the run (the blast-radius guard may split the 100% ring)
    expect(bars.map((b) => b.key)).toEqual(['aws-eks', ...report.rings.map((r) => String(r.ring))]);
    for (const [i, b] of bars.entries()) {
      expect(b.text).toContain(`${expected[i]!.percent}% (${b.covered}/${b.total} nodes`);
      expect(b.fill).toBe(Math.round((420 * expected[i]!.percent) / 100));
    }
    // the canary (2 nodes, crash looping: none covered) and the later rings (demo-web 3 nodes, demo-data 1) at their version
    expect(bars.slice(1).map((b) => [b.covered, b.total])[0]).toEqual([0, 2]);
    expect(bars.slice(2).reduce((n, b) => n + b.total, 0)).toBe(4);
    expect(bars[0]).toMatchObject({ covered: 4, total: 6 });

    // the attention table: the canary whose sensor crash-loops, with the gate's reason
    const rows = await page.$$eval('#attention tbody tr', (trs) => trs.map((tr) => ({ cluster: tr.getAttribute('data-cluster'), reasons: Array.from(tr.querySelectorAll('ul.reasons li'), (li) => li.textContent ?? '') })));
    expect(rows.map((r) => r.cluster?.split(':')[3])).toEqual(['demo-canary']);
    expect(rows[0]!.reasons.join(' ')).toMatch(/sensor pod \S+ restarted \d+ times \(more than 2\)/);
    expect(await page.textContent('#halt')).toMatch(/Halted in ring 0/);
    expect(await page.$$eval('#timeline li', (lis) => lis.length)).toBeGreaterThan(3);

    expect([...requested]).toEqual([url]);
    await page.close();
  }, 120_000);

  it('the same run after the resume: succeeded, nothing needs attention, the halt and the resume in its timeline', async () => {
    const third = rollout.reports.at(-1)!;
    expect(third.status).toBe('succeeded');
    expect(third.runId).toBe(rollout.reports.find((r) => r.status === 'halted')!.runId);
    const page = await browser.newPage();
    await page.goto(pathToFileURL(third.html).href);
    expect(await page.textContent('#run-status')).toBe('succeeded');
    expect(await page.textContent('#attention-none')).toBe('Nothing needs attention.');
    const timeline = await page.$$eval('#timeline li', (lis) => lis.map((li) => li.textContent ?? ''));
    expect(timeline.some((t) => /halted/i.test(t))).toBe(true);
    expect(timeline.some((t) => /resumed/i.test(t))).toBe(true);
    const bars = await page.$$eval('#coverage-chart g.bar', (gs) => gs.map((g) => `${g.getAttribute('data-key')} ${g.getAttribute('data-covered')}/${g.getAttribute('data-total')}`));
    expect(bars[0]).toBe('aws-eks 6/6');
    expect(bars[1]).toBe('0 2/2');
    for (const b of bars.slice(2)) expect(b).toMatch(/^\d+ (\d+)\/\1$/);
    await page.close();
  }, 60_000);
});
