// Prints one plain closing line per run, e.g. "unit: 42 passed, 0 failed, 1 skipped", so CI logs can be read
// without knowing jest's own summary format.
export default class SummaryReporter {
  constructor(globalConfig) {
    this.globalConfig = globalConfig;
  }

  onRunComplete(_contexts, results) {
    const names = [...new Set(results.testResults.map((r) => r.displayName?.name).filter(Boolean))];
    const label = names.length === 1 ? names[0] : "tests";
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    const skipped = results.numPendingTests + results.numTodoTests;
    process.stdout.write(`\n${label}: ${results.numPassedTests} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ""}\n`);
  }
}
