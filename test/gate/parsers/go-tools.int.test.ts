import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEXT_PARSERS } from '../../../src/gate/parsers/registry.js';
import { runTool, toolProject } from './run-tool.js';

/** `go test -json` from Debian's golang-go (CI installs it), on a module with no dependencies. */

const goEnv = { GOFLAGS: '-mod=mod', GOPROXY: 'off', GOTOOLCHAIN: 'local' };

let project: { dir: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  project = await toolProject({
    'go.mod': 'module example.com/demo\n\ngo 1.19\n',
    'calc/calc.go': 'package calc\n\nfunc Add(a, b int) int { return a + b }\n',
    'calc/calc_test.go': `package calc

import "testing"

func TestAdd(t *testing.T) {
	if Add(1, 2) != 3 {
		t.Fatal("bad")
	}
}

func TestFails(t *testing.T) {
	t.Log("some context")
	t.Errorf("got %d want %d", Add(1, 2), 4)
}

func TestSkip(t *testing.T) { t.Skip("later") }

func TestTable(t *testing.T) {
	t.Run("ok case", func(t *testing.T) {})
	t.Run("bad case", func(t *testing.T) { t.Fatal("nope") })
}
`,
    'broken/broken.go': 'package broken\n\nfunc X() int { return "s" }\n',
    'broken/broken_test.go': 'package broken\n\nimport "testing"\n\nfunc TestX(t *testing.T) {}\n',
  });
});
afterAll(async () => project.cleanup());

describe('go test -json', () => {
  it('reads leaf tests and subtests, and a package that does not build as a failed test with the compiler’s message', async () => {
    const out = await runTool(project.dir, 'go test -json ./...', goEnv);
    expect(out.exitCode).toBe(2);
    const result = TEXT_PARSERS['go-test-json']({ text: out.stdout, stderr: out.stderr, root: project.dir });
    if (!result.ok) throw new Error(result.reason);
    expect(result.output.tests?.map((t) => [t.name, t.status, t.message, t.rerun?.pattern])).toEqual([
      ['example.com/demo/calc TestAdd', 'passed', undefined, '^TestAdd$'],
      ['example.com/demo/calc TestFails', 'failed', 'calc_test.go:12: some context\ncalc_test.go:13: got 3 want 4', '^TestFails$'],
      ['example.com/demo/calc TestSkip', 'skipped', undefined, '^TestSkip$'],
      ['example.com/demo/calc TestTable/ok_case', 'passed', undefined, '^TestTable$/^ok_case$'],
      ['example.com/demo/calc TestTable/bad_case', 'failed', 'calc_test.go:20: nope', '^TestTable$/^bad_case$'],
      [
        'example.com/demo/broken (build failed)',
        'failed',
        '# example.com/demo/broken [example.com/demo/broken.test]\nbroken/broken.go:3:23: cannot use "s" (untyped string constant) as int value in return statement',
        undefined,
      ],
    ]);
  });
});
