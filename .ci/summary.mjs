// Prints the closing line "N passed, N failed, N skipped" from vitest's JSON report and exits
// non-zero when anything failed (or when there is no report to read).
import { readFileSync } from "node:fs";

const path = process.argv[2] ?? ".reports/vitest.json";
let report;
try {
  report = JSON.parse(readFileSync(path, "utf8"));
} catch (err) {
  console.log(`no test report at ${path} (${err.message})`);
  console.log("0 passed, 1 failed");
  process.exit(1);
}
let passed = report.numPassedTests ?? 0;
let failed = report.numFailedTests ?? 0;
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
// A suite that failed before any test ran (a broken import, a global setup that threw) has no
// failed test to count; it is still a failure.
if (!report.success && failed === 0) failed = Math.max(1, report.numFailedTestSuites ?? 0);
// Name every failed test here, next to the closing line: the start of a long run's output scrolls
// away, and a record that keeps only the tail should still say what failed.
for (const file of report.testResults ?? []) {
  for (const test of file.assertionResults ?? []) {
    if (test.status !== "failed") continue;
    const where = file.name.replace(`${process.cwd()}/`, "");
    const [first = "", ...more] = String(test.failureMessages?.[0] ?? "").split("\n");
    console.log(`failed: ${where} > ${test.fullName ?? test.title}: ${first.slice(0, 300)}`);
    // What an assertion's message says below its first line (a test's own diagnostics), up to
    // the stack trace, bounded so that one failure cannot bury the rest.
    const stack = more.findIndex((l) => /^\s+at /.test(l));
    const detail = (stack < 0 ? more : more.slice(0, stack)).slice(0, 200);
    for (const line of detail) console.log(`  | ${line.slice(0, 400)}`);
  }
}
// The README's front-door commands (.ci/front-door.sh) count as one check each; a run that
// should have them and has none fails.
const frontDoor = process.argv[3];
if (frontDoor) {
  try {
    const checks = JSON.parse(readFileSync(frontDoor, "utf8"));
    passed += checks.passed ?? 0;
    failed += checks.failed ?? 0;
    for (const what of checks.failures ?? []) console.log(`front door failed: ${what}`);
  } catch (err) {
    console.log(`no front-door report at ${frontDoor} (${err.message})`);
    failed += 1;
  }
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
