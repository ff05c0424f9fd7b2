// Print the plain closing line CI reads ("N passed, N failed") from
// vitest's JSON report, and exit non-zero on any failure, on a missing
// report, or when the test command itself failed.
import { readFileSync } from 'node:fs';

const [file = 'test-results/vitest.json', status = '0'] = process.argv.slice(2);
let report;
try {
  report = JSON.parse(readFileSync(file, 'utf8'));
} catch (e) {
  console.log(`no test report at ${file}: ${e.message}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}
const passed = report.numPassedTests ?? 0;
let failed = report.numFailedTests ?? 0;
// A suite that fails to load counts no test but is still a failure.
const brokenSuites = (report.testResults ?? []).filter((r) => r.status === 'failed' && (r.assertionResults ?? []).length === 0);
for (const s of brokenSuites) console.log(`suite failed to run: ${s.name}: ${(s.message ?? '').split('\n')[0]}`);
failed += brokenSuites.length;
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
// CI installs every system component (.ci/run): a skipped test there means a
// suite was not checked, which is a failure (test/support/components.ts).
const ci = /^(1|true|yes)$/i.test(process.env.CI ?? '');
if (ci && skipped > 0) console.log(`CI=true: ${skipped} skipped test${skipped === 1 ? '' : 's'}; CI must skip nothing`);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 || status !== '0' || passed === 0 || (ci && skipped > 0) ? 1 : 0);
