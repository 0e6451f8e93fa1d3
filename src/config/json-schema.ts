import { z } from 'zod';
import { ConfigSchema } from './schema.js';

/** The file beside tandem.config.yaml that editors read: `# yaml-language-server: $schema=./tandem.config.schema.json`. */
export const CONFIG_SCHEMA_FILE = 'tandem.config.schema.json';

/**
 * JSON Schema of tandem.config.yaml, generated from the zod schema (the source of truth) as the
 * input a person writes: defaults are shown, nothing is required that has a default.
 */
export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(ConfigSchema, { io: 'input', target: 'draft-2020-12', reused: 'ref' }) as Record<string, unknown>;
  return {
    $schema: schema['$schema'],
    $id: 'https://github.com/tandem/tandem/tandem.config.schema.json',
    title: 'tandem.config.yaml',
    description: 'Configuration of tandem: models and routing, budgets, the quality gate, limits and runners.',
    ...Object.fromEntries(Object.entries(schema).filter(([key]) => key !== '$schema')),
  };
}

/** The committed file's text: stable key order, two-space indent, final newline. */
export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}
