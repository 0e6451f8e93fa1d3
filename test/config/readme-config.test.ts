import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ConfigSchema } from '../../src/config/schema.js';

/** The README's example tandem.config.yaml is a config tandem accepts, so the docs stay true. */
describe('README configuration example', () => {
  it('parses, and means what its comments say', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const block = readme.split('### Configuration')[1]?.match(/```yaml\n([\s\S]*?)```/)?.[1];
    if (!block) throw new Error('README.md has no ```yaml block under "### Configuration"');
    const config = ConfigSchema.parse(parse(block));
    expect(config.routing.history.explore).toEqual(['opus']);
    expect(config.budgets).toMatchObject({ task_usd: 2, day_usd: 20, month_usd: 300, on_exceed: 'downgrade' });
    expect(config.role_pins).toEqual({ planner: 'sonnet' });
    expect(config.models['mini']?.fallback).toBe('flash');
    expect(config.runners['gemini-cli'].version_timeout_ms).toBe(60_000);
    expect(config.runners['claude-code'].version_timeout_ms).toBe(30_000);
  });
});
