import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CONFIG_SCHEMA_FILE, configJsonSchema, configJsonSchemaText } from '../../src/config/json-schema.js';

const committed = fileURLToPath(new URL(`../../${CONFIG_SCHEMA_FILE}`, import.meta.url));

describe('the JSON Schema of tandem.config.yaml', () => {
  it('is committed and matches the zod schema (regenerate: TANDEM_UPDATE_SCHEMA=1 npx vitest run test/config/json-schema.test.ts)', async () => {
    const generated = configJsonSchemaText();
    if (process.env['TANDEM_UPDATE_SCHEMA'] === '1') await writeFile(committed, generated);
    expect(await readFile(committed, 'utf8')).toBe(generated);
  });

  it('describes the routing sections an editor completes', () => {
    type Node = { $ref?: string; properties?: Record<string, Node>; $defs?: Record<string, Node> };
    const schema = configJsonSchema() as Node;
    const deref = (node: Node | undefined): Node => {
      const name = node?.$ref?.replace('#/$defs/', '');
      return name === undefined ? (node ?? {}) : (schema.$defs?.[name] ?? {});
    };
    const keys = (node: Node | undefined): string[] => Object.keys(deref(node).properties ?? {}).sort();
    expect(keys(schema)).toEqual([
      'base',
      'budgets',
      'concurrency',
      'gate',
      'limits',
      'log_level',
      'models',
      'nats',
      'roles',
      'routing',
      'runner_override',
      'runners',
      'standards',
      'state_dir',
    ]);
    expect(keys(schema.properties?.['routing'])).toEqual(['breaker', 'complexity', 'diversity', 'history', 'matrix', 'preset', 'strongest']);
    expect(keys(schema.properties?.['budgets'])).toEqual(['day_usd', 'month_usd', 'on_exceed', 'task_usd']);
    expect(keys(deref(schema.properties?.['routing']).properties?.['matrix'])).toEqual([
      'code-reviewer',
      'implementer',
      'plan-reviewer',
      'planner',
      'validator',
    ]);
  });
});
