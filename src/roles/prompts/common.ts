import { z } from 'zod';
import type { TaskSpec } from '../../model/task-spec.js';

const jsonSchemas = new WeakMap<z.ZodType, Record<string, unknown>>();
const answerFormats = new WeakMap<z.ZodType, string>();

/**
 * JSON Schema of a role's answer, given both to the model (in the prompt) and to runners that
 * enforce it. Built once per schema: converting costs more than the rest of a role call's prompt.
 */
export function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  let json = jsonSchemas.get(schema);
  if (!json) {
    json = Object.freeze(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }));
    jsonSchemas.set(schema, json);
  }
  return json;
}

export function taskSection(task: TaskSpec): string {
  const lines = [`## Task ${task.id}${task.title ? `: ${task.title}` : ''}`, '', task.goal, '', `Risk: ${task.risk}. Area: ${task.area}. Type: ${task.type}.`];
  if (task.constraints.length > 0) lines.push('', 'Constraints:', ...task.constraints.map((c) => `- ${c}`));
  if (task.success_criteria.length > 0) lines.push('', 'Success criteria:', ...task.success_criteria.map((c) => `- ${c}`));
  if (task.target_files.length > 0) lines.push('', 'Target files:', ...task.target_files.map((f) => `- ${f}`));
  if (task.context) lines.push('', 'Context:', task.context);
  return lines.join('\n');
}

export function answerFormat(schema: z.ZodType): string {
  let text = answerFormats.get(schema);
  if (text === undefined) {
    text = [
      '## Answer format',
      'Answer with ONE JSON object matching this JSON Schema, and nothing else:',
      '```json',
      JSON.stringify(jsonSchemaOf(schema), null, 1),
      '```',
    ].join('\n');
    answerFormats.set(schema, text);
  }
  return text;
}

/** Keeps prompts bounded: long inputs are cut in the middle, where they matter least. */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  const half = Math.floor((max - 40) / 2);
  return `${text.slice(0, half)}\n… [${text.length - 2 * half} characters omitted] …\n${text.slice(-half)}`;
}
