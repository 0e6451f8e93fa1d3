import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isTestedVersion, parseVersion, testedVersions } from '../../src/runners/versions.js';

/**
 * The pins hold together: the CLI installed as a devDependency (what the e2e suites and the recorded
 * fixtures ran) is a version the adapters accept, so moving a pin without passing the suite fails here.
 */

const packageJson = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { devDependencies: Record<string, string> };
const pins = {
  'claude-code': '@anthropic-ai/claude-code',
  'gemini-cli': '@google/gemini-cli',
  'codex-cli': '@openai/codex',
} as const;

describe('tested CLI versions', () => {
  it.each(Object.entries(pins))('%s: the devDependency pin (%s) is exact and is a tested version', (runner, pkg) => {
    const pinned = packageJson.devDependencies[pkg];
    expect(pinned, `${pkg} in devDependencies`).toMatch(/^\d+\.\d+\.\d+$/);
    expect(testedVersions[runner as keyof typeof pins]).toContain(pinned);
  });

  it("reads the version out of each CLI's --version output", () => {
    expect(parseVersion('2.1.330 (Claude Code)')).toBe('2.1.330');
    expect(parseVersion('codex-cli 0.169.0')).toBe('0.169.0');
    expect(parseVersion('0.61.0\n')).toBe('0.61.0');
    expect(parseVersion('no version here')).toBeUndefined();
    expect(isTestedVersion('codex-cli', '0.169.0')).toBe(true);
    expect(isTestedVersion('codex-cli', '0.170.0')).toBe(false);
  });
});
