/**
 * End-of-run summary of suites skipped because a system component is missing
 * (test/support/components.ts): one line per suite naming the component and
 * how to install it, printed after vitest's own summary so it is the last
 * thing a developer sees. Listed after 'default' in vitest.config.ts.
 */
import { relative } from 'node:path';
import type { Reporter, TestModule, TestSuite } from 'vitest/node';

function* suitesOf(parent: TestModule | TestSuite): Generator<TestSuite> {
  for (const child of parent.children) {
    if (child.type !== 'suite') continue;
    yield child;
    yield* suitesOf(child);
  }
}

export default class SkipReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const lines: string[] = [];
    for (const mod of testModules) {
      for (const suite of suitesOf(mod)) {
        const missing = suite.meta().virtPinMissing;
        if (!missing?.length) continue;
        const tests = [...suite.children.allTests()].length;
        const file = relative(process.cwd(), mod.moduleId);
        lines.push(`SKIPPED ${file} > ${suite.fullName} (${tests} test${tests === 1 ? '' : 's'}): ${missing.map((m) => `needs ${m.what} — ${m.install}`).join('; ')}`);
      }
    }
    if (!lines.length) return;
    process.stdout.write(`\n${lines.length} suite${lines.length === 1 ? '' : 's'} skipped for a missing system component (with CI=true these fail):\n${lines.map((l) => `  ${l}\n`).join('')}\n`);
  }
}
