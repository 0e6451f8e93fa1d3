import { z } from 'zod';

/** Parsers of test runners' reports: they yield tests. */
export const TEST_PARSERS = ['vitest-json', 'jest-json', 'tap', 'junit-xml', 'go-test-json'] as const;
/** Parsers of linters and type checkers: they yield warnings. */
export const WARNING_PARSERS = ['eslint-json', 'biome-json', 'ruff-json', 'flake8', 'tsc', 'mypy', 'go-vet'] as const;
/** Parsers of coverage reports. */
export const COVERAGE_PARSERS = ['lcov', 'coverage-summary', 'cobertura', 'go-cover'] as const;
/**
 * Parsers of a public API: `declarations` reads a folder of emitted `.d.ts` files, `go-doc` the
 * output of `go doc -all` per package, `python-api` the JSON that tandem's `ast` script prints.
 */
export const API_PARSERS = ['declarations', 'go-doc', 'python-api'] as const;

export const ParserNameSchema = z.enum([...TEST_PARSERS, ...WARNING_PARSERS, ...COVERAGE_PARSERS, ...API_PARSERS]);
export type ParserName = z.infer<typeof ParserNameSchema>;

export const CoverageParserNameSchema = z.enum(COVERAGE_PARSERS);

/** Change-size classes of seed 002; checks say on which ones they run. */
export const ChangeSizeSchema = z.enum(['TRIVIAL', 'SMALL', 'MEDIUM', 'LARGE']);
export type ChangeSize = z.infer<typeof ChangeSizeSchema>;
