import type { GateCheckConfig } from '../../src/gate/gate-options.js';
import { GO_DOC_COMMAND } from '../../src/gate/api-commands.js';

/**
 * A small Go module (standard library only) checked by `go test -json` with a coverage profile,
 * `go vet -json` and the API of its package read from `go doc -all`. `legacy.go` carries a vet
 * finding the base already has (code after a return), so the ratchet must let it stand, and must not
 * see it as new when lines above it move.
 */
export const goProject: Readonly<Record<string, string>> = {
  'go.mod': 'module example.com/calc\n\ngo 1.19\n',
  'calc.go': `// Package calc does small integer arithmetic.
package calc

// Add returns a + b.
func Add(a, b int) int {
	return a + b
}

// Sub returns a - b.
func Sub(a, b int) int {
	return a - b
}

// Clamp limits value to the range [low, high].
func Clamp(value, low, high int) int {
	if value < low {
		return low
	}
	if value > high {
		return high
	}
	return value
}
`,
  'legacy.go': `package calc

// Total sums values the old way.
func Total(values []int) int {
	total := 0
	for _, v := range values {
		total += v
	}
	return total
	panic("unreachable")
}
`,
  'calc_test.go': `package calc

import "testing"

func TestAdd(t *testing.T) {
	if got := Add(2, 3); got != 5 {
		t.Errorf("Add(2, 3) = %d, want 5", got)
	}
}

func TestSub(t *testing.T) {
	if got := Sub(5, 3); got != 2 {
		t.Errorf("Sub(5, 3) = %d, want 2", got)
	}
}

func TestClamp(t *testing.T) {
	cases := []struct {
		name             string
		value, low, high int
		want             int
	}{
		{"below", -1, 0, 10, 0},
		{"above", 11, 0, 10, 10},
		{"inside", 5, 0, 10, 5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Clamp(c.value, c.low, c.high); got != c.want {
				t.Errorf("Clamp(%d, %d, %d) = %d, want %d", c.value, c.low, c.high, got, c.want)
			}
		})
	}
}

func TestTotal(t *testing.T) {
	if got := Total([]int{1, 2}); got != 3 {
		t.Errorf("Total = %d, want 3", got)
	}
}
`,
};

/**
 * The checks `tandem init` proposes for this module (detect-checks.test.ts holds them equal), each
 * command after `export <env>;` when `env` is given: there is no network or module proxy here, and
 * the build cache is the test's own.
 */
export function goChecks(env = ''): GateCheckConfig[] {
  const withEnv = (command: string): string => (env === '' ? command : `export ${env}; ${command}`);
  return [
    {
      name: 'go-test',
      kind: 'tests',
      parser: 'go-test-json',
      command: withEnv('go test -json -coverprofile=$TANDEM_GATE_OUT/cover.out ./...'),
      coverage: { parser: 'go-cover', report: '$TANDEM_GATE_OUT/cover.out' },
      rerun: withEnv('go test -json -run {pattern} {file}'),
      timeout_ms: 60_000,
    },
    { name: 'go-vet', kind: 'lint', parser: 'go-vet', command: withEnv('go vet -json ./...'), timeout_ms: 60_000 },
    // `custom`: the config schema still ties `kind: api` to the declarations parser.
    { name: 'go-api', kind: 'api', parser: 'go-doc', command: withEnv(GO_DOC_COMMAND), timeout_ms: 60_000 },
  ];
}
