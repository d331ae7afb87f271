// Mocha reporter: the usual spec output, then one unmistakable summary line
// ("RESULT: PASS ..." or "RESULT: FAIL ..."), so a log reader sees the outcome at a glance.

import Mocha = require('mocha');

const { Spec } = Mocha.reporters;
const { EVENT_RUN_END } = Mocha.Runner.constants;

class SummaryReporter extends Spec {
  constructor(runner: Mocha.Runner, options?: Mocha.MochaOptions) {
    super(runner, options);
    runner.once(EVENT_RUN_END, () => {
      const stats = runner.stats ?? { passes: 0, failures: 0, pending: 0, tests: 0 };
      const outcome = stats.failures === 0 && stats.passes > 0 ? 'PASS' : 'FAIL';
      const pending = stats.pending > 0 ? `, ${stats.pending} pending (not counted as passed)` : '';
      // Printed after Spec's epilogue because Spec registers its run-end listener first.
      process.stdout.write(`RESULT: ${outcome} (${stats.passes} passed, ${stats.failures} failed${pending})\n`);
    });
  }
}

export = SummaryReporter;
