import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GO_DOC_COMMAND } from '../../../src/gate/api-commands.js';
import { TEXT_PARSERS } from '../../../src/gate/parsers/registry.js';
import { readText, runTool, toolProject } from './run-tool.js';

/**
 * `go test -json`, the coverage profile, `go vet` and `go doc` from Debian's golang-go (CI installs
 * it), on modules with no dependencies.
 */

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

/** A library package with most kinds of declaration, an internal package and a command, which are no API. */
const shapes: Record<string, string> = {
  'go.mod': 'module example.com/shapes\n\ngo 1.19\n',
  'geo/geo.go': `// Package geo has shapes.
//
// package docs can look like code:
// func NotReal()
package geo

import (
	"fmt"
	"io"
)

// Unit is the default unit.
const Unit = "cm"

// Kinds of shape.
const (
	KindSquare Kind = iota // a square
	KindCircle
	kindHidden
)

// Kind is a kind of shape.
type Kind int

// Shape has an area.
type Shape interface {
	Area() float64
	fmt.Stringer
	perimeter() float64
}

// Square is a square.
type Square struct {
	Side float64 \`json:"side"\`
	io.Writer
	Label, Note string
	OnChange    func(
		old float64,
	) error
	cache int
}

// NewSquare makes a square.
func NewSquare(side float64) *Square { return &Square{Side: side} }

// Area is side².
func (s *Square) Area() float64 { return s.Side * s.Side }

// String names it.
func (s Square) String() string { return fmt.Sprintf("square %v", s.Side) }

func (s *Square) perimeter() float64 { return 4 * s.Side }

// Stack is generic.
type Stack[T any] struct{ items []T }

// Push pushes.
func (s *Stack[T]) Push(v T) { s.items = append(s.items, v) }

// Pattern holds brackets in a raw string.
var Pattern = \`{(
[\`

// Describe names a shape.
func Describe(s Shape) string {
	return s.String()
	panic("unreachable")
}
`,
  'geo/geo_test.go': 'package geo\n\nimport "testing"\n\nfunc TestArea(t *testing.T) {\n\tif NewSquare(2).Area() != 4 {\n\t\tt.Fatal("area")\n\t}\n}\n',
  'internal/mathx/mathx.go': 'package mathx\n\n// Sq squares.\nfunc Sq(x float64) float64 { return x * x }\n',
  'cmd/shapes/main.go': 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("shapes") }\n',
};

let library: { dir: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  library = await toolProject(shapes);
});
afterAll(async () => library.cleanup());

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

describe('go test -coverprofile', () => {
  it('spreads each block of a count-mode profile over the lines it spans; a package that did not build leaves only the mode line', async () => {
    const out = await runTool(library.dir, 'go test -covermode=count -coverprofile=cover.out ./...', goEnv);
    expect(out.exitCode).toBe(0);
    const profile = await readText(join(library.dir, 'cover.out'));
    expect(profile.split('\n')[0]).toBe('mode: count');
    const uncovered = [50, 52, 58, 65, 66, 67];
    expect(TEXT_PARSERS['go-cover']({ text: profile, stderr: '', root: library.dir })).toEqual({
      ok: true,
      output: {
        coverage: {
          lines: { covered: 2, total: 8, pct: 25 },
          files: { 'example.com/shapes/geo/geo.go': { lines: { covered: 2, total: 8, pct: 25 }, uncovered } },
        },
      },
    });

    await runTool(project.dir, 'go test -coverprofile=cover.out ./broken', goEnv);
    expect(TEXT_PARSERS['go-cover']({ text: await readText(join(project.dir, 'cover.out')), stderr: '', root: project.dir })).toEqual({
      ok: true,
      output: { coverage: { lines: { covered: 0, total: 0, pct: 100 }, files: {} } },
    });
  });
});

describe('go vet', () => {
  const unreachable = { file: 'geo/geo.go', line: 67, column: 2, message: 'unreachable code', severity: 'warning' };

  it('reads -json (analyzer names, exit 0 with findings) and the plain format (exit 2, rule "vet") as the same findings', async () => {
    const json = await runTool(library.dir, 'go vet -json ./...', goEnv);
    expect([json.exitCode, json.stdout]).toEqual([0, '']);
    expect(TEXT_PARSERS['go-vet']({ text: json.stdout, stderr: json.stderr, root: library.dir })).toEqual({
      ok: true,
      output: { warnings: [{ rule: 'unreachable', ...unreachable }] },
    });

    const plain = await runTool(library.dir, 'go vet ./...', goEnv);
    expect(plain.exitCode).toBe(2);
    expect(TEXT_PARSERS['go-vet']({ text: plain.stdout, stderr: plain.stderr, root: library.dir })).toEqual({
      ok: true,
      output: { warnings: [{ rule: 'vet', ...unreachable }] },
    });
  });

  it('reads a package that does not type-check as a typecheck finding, and refuses go’s own errors', async () => {
    const out = await runTool(project.dir, 'go vet -json ./...', goEnv);
    expect(out.exitCode).toBe(2);
    expect(TEXT_PARSERS['go-vet']({ text: out.stdout, stderr: out.stderr, root: project.dir })).toEqual({
      ok: true,
      output: {
        warnings: [
          {
            rule: 'typecheck',
            file: 'broken/broken.go',
            line: 3,
            column: 23,
            message: 'cannot use "s" (untyped string constant) as int value in return statement',
            severity: 'error',
          },
        ],
      },
    });

    const nowhere = await runTool(project.dir, 'go vet -json ./nowhere', goEnv);
    expect(nowhere.exitCode).not.toBe(0);
    expect(TEXT_PARSERS['go-vet']({ text: nowhere.stdout, stderr: nowhere.stderr, root: project.dir })).toEqual({
      ok: false,
      reason: 'none of its lines reads as go vet output ("# package", a -json tree or "file.go:line:col: message")',
    });
  });
});

describe('go doc -all over go list (the go-doc API command)', () => {
  it('reads every exported name of the library packages, members as Type.Member; internal and main packages are no API', async () => {
    const out = await runTool(library.dir, GO_DOC_COMMAND, goEnv);
    expect(out.exitCode).toBe(0);
    const result = TEXT_PARSERS['go-doc']({ text: out.stdout, stderr: out.stderr, root: library.dir });
    if (!result.ok) throw new Error(result.reason);
    expect(new Set(result.output.exports?.map((e) => e.entry))).toEqual(new Set(['example.com/shapes/geo']));
    expect(result.output.exports?.map((e) => [e.name, e.kind, e.signature])).toEqual([
      ['Describe', 'func', 'func Describe(s Shape) string'],
      ['Kind', 'type', 'type Kind int'],
      ['KindCircle', 'const', 'KindCircle'],
      ['KindSquare', 'const', 'KindSquare Kind = iota'],
      ['NewSquare', 'func', 'func NewSquare(side float64) *Square'],
      ['Pattern', 'var', 'var Pattern = `{( [`'],
      ['Shape', 'type', 'type Shape interface'],
      ['Shape.Area', 'method', 'Area() float64'],
      ['Shape.Stringer', 'embedded', 'fmt.Stringer'],
      ['Square', 'type', 'type Square struct'],
      ['Square.Area', 'method', 'func (s *Square) Area() float64'],
      ['Square.Label', 'field', 'Label, Note string'],
      ['Square.Note', 'field', 'Label, Note string'],
      ['Square.OnChange', 'field', 'OnChange func( old float64, ) error'],
      ['Square.Side', 'field', 'Side float64 `json:"side"`'],
      ['Square.String', 'method', 'func (s Square) String() string'],
      ['Square.Writer', 'embedded', 'io.Writer'],
      ['Stack', 'type', 'type Stack[T any] struct'],
      ['Stack.Push', 'method', 'func (s *Stack[T]) Push(v T)'],
      ['Unit', 'const', 'const Unit = "cm"'],
    ]);
  });

  it('fails on a package go doc cannot parse, with nothing on stdout, which the parser refuses', async () => {
    const broken = await toolProject({ 'go.mod': 'module example.com/s\n\ngo 1.19\n', 'a/a.go': 'package a\n\nfunc A( {\n' });
    try {
      const out = await runTool(broken.dir, GO_DOC_COMMAND, goEnv);
      expect([out.exitCode, out.stdout]).toEqual([1, '']);
      expect(out.stderr).toContain("a/a.go:3:9: expected ')', found '{'");
      expect(TEXT_PARSERS['go-doc']({ text: out.stdout, stderr: out.stderr, root: broken.dir }).ok).toBe(false);
    } finally {
      await broken.cleanup();
    }
  });
});
