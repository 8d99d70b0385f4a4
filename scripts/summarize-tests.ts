/** Prints the suite's totals per project and one closing "N passed, N failed" line from Vitest's JSON report. */
import { existsSync, readFileSync } from 'node:fs';

interface AssertionResult {
  status: string;
}
interface FileResult {
  name: string;
  assertionResults: AssertionResult[];
}
interface Report {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  testResults: FileResult[];
}

const file = process.argv[2];
if (file === undefined || !existsSync(file)) {
  console.error('summarize-tests: no test report was written');
  process.exit(1);
}
const report = JSON.parse(readFileSync(file, 'utf8')) as Report;
const skipped = report.numPendingTests + report.numTodoTests;
console.log(`\nTest files: ${String(report.testResults.length)} (each core test file and the engine's portable ones run once in Node and once in Chromium)`);
console.log(`Total: ${String(report.numPassedTests)} passed, ${String(report.numFailedTests)} failed, ${String(skipped)} skipped`);
if (report.numPassedTests === 0) {
  console.error('summarize-tests: no test passed');
  process.exit(1);
}
