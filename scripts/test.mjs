#!/usr/bin/env node
// `npm test`: type-check, then vitest. Ends with the plain line "N passed, N failed" that CI reads.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';

const results = '.test-results.json';
rmSync(results, { force: true });

const tsc = spawnSync('npx', ['tsc', '--noEmit'], { stdio: 'inherit' });
const vitest = spawnSync(
  'npx',
  ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${results}`, ...process.argv.slice(2)],
  { stdio: 'inherit' },
);

let passed = 0;
let failed = 0;
try {
  const report = JSON.parse(readFileSync(results, 'utf8'));
  passed = report.numPassedTests ?? 0;
  // failed tests, plus files that failed before running any test (import or setup errors)
  const brokenFiles = (report.testResults ?? []).filter((f) => f.status === 'failed' && (f.assertionResults ?? []).length === 0).length;
  failed = (report.numFailedTests ?? 0) + brokenFiles;
} catch {
  failed += 1;
}
if (tsc.status !== 0) failed += 1;
if (vitest.status !== 0 && failed === 0) failed += 1;
console.log(`${tsc.status === 0 ? 'typecheck ok' : 'typecheck FAILED'}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
