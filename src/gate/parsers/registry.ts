import type { ParserName } from '../../model/parser-names.js';
import { parseBiomeJson } from './biome-json.js';
import { parseCobertura } from './cobertura.js';
import { parseCoverageSummary } from './coverage-summary.js';
import { parseEslintJson } from './eslint-json.js';
import { parseFlake8 } from './flake8.js';
import { parseGoCover } from './go-cover.js';
import { parseGoDoc } from './go-doc.js';
import { parseGoTestJson } from './go-test-json.js';
import { parseGoVet } from './go-vet.js';
import { parseJestJson } from './jest-json.js';
import { parseJunitXml } from './junit-xml.js';
import { parseLcov } from './lcov.js';
import { parseMypy } from './mypy.js';
import type { OutputParser } from './parsed-output.js';
import { parsePythonApi } from './python-api.js';
import { parseRuffJson } from './ruff-json.js';
import { parseTap } from './tap.js';
import { parseTsc } from './tsc.js';

/** Every parser that reads text; `declarations` reads a folder and is called on its own. */
export const TEXT_PARSERS: Readonly<Record<Exclude<ParserName, 'declarations'>, OutputParser>> = {
  // Vitest's JSON reporter writes Jest's format.
  'vitest-json': parseJestJson,
  'jest-json': parseJestJson,
  tap: parseTap,
  'junit-xml': parseJunitXml,
  'go-test-json': parseGoTestJson,
  'eslint-json': parseEslintJson,
  'biome-json': parseBiomeJson,
  'ruff-json': parseRuffJson,
  flake8: parseFlake8,
  tsc: parseTsc,
  mypy: parseMypy,
  'go-vet': parseGoVet,
  lcov: parseLcov,
  'coverage-summary': parseCoverageSummary,
  cobertura: parseCobertura,
  'go-cover': parseGoCover,
  'go-doc': parseGoDoc,
  'python-api': parsePythonApi,
};
