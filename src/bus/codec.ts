import type { z } from 'zod';
import { ControlMessageSchema, SubmitMessageSchema, TaskEventSchema } from '../model/task-events.js';
import type { BusMessage } from '../model/task-events.js';
import { RoleResultMessageSchema, RoleRunMessageSchema } from '../model/role-work.js';
import { SUBJECT_PREFIX } from './subjects.js';

/**
 * The one place that knows which schema each channel carries. Both buses encode and decode through
 * here, so the in-memory bus refuses exactly what NATS subscribers would refuse.
 */
const Channels = { events: 'events', control: 'control', submit: 'submit', role: 'role', results: 'results' } as const;
export type Channel = (typeof Channels)[keyof typeof Channels];

const channelSchemas: Readonly<Record<Channel, z.ZodType<BusMessage> | undefined>> = {
  events: TaskEventSchema,
  control: ControlMessageSchema,
  submit: SubmitMessageSchema,
  role: RoleRunMessageSchema,
  results: RoleResultMessageSchema,
};

const TOKEN = /^[A-Za-z0-9_-]+$/;
const PREFIX_TOKENS = SUBJECT_PREFIX.split('.');

/**
 * The channel of a concrete subject (no wildcards), by the shapes subjects.ts builds:
 * `<prefix>.events.<task>.<kind>`, `<prefix>.control.<task>`, `<prefix>.tasks.submit`,
 * `<prefix>.role.<role>.run`, `<prefix>.results.<task>`. Anything else, including another protocol version, is undefined.
 */
export function channelOf(subject: string): Channel | undefined {
  const tokens = subject.split('.');
  if (!tokens.every((t) => TOKEN.test(t))) return undefined;
  if (PREFIX_TOKENS.some((t, i) => tokens[i] !== t)) return undefined;
  const rest = tokens.slice(PREFIX_TOKENS.length);
  const [head, second, third] = rest;
  if (head === 'events' && rest.length === 3) return Channels.events;
  if (head === 'control' && rest.length === 2) return Channels.control;
  if (head === 'tasks' && second === 'submit' && rest.length === 2) return Channels.submit;
  if (head === 'role' && third === 'run' && rest.length === 3) return Channels.role;
  if (head === 'results' && rest.length === 2) return Channels.results;
  return undefined;
}

export type DecodeResult = { readonly ok: true; readonly message: BusMessage } | { readonly ok: false; readonly reason: string };

const decoder = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/** Malformed input is a value, never a throw: a bad message from the network must not kill a subscriber. */
export function decodeMessage(subject: string, data: Uint8Array | string): DecodeResult {
  const channel = channelOf(subject);
  if (channel === undefined) return { ok: false, reason: `no tandem channel for subject ${JSON.stringify(subject)}` };
  const schema = channelSchemas[channel];
  if (schema === undefined) return { ok: false, reason: `${subject}: channel "${channel}" has no message schema yet` };
  let raw: unknown;
  try {
    raw = JSON.parse(typeof data === 'string' ? data : decoder.decode(data));
  } catch (error) {
    return { ok: false, reason: `${subject}: not JSON: ${error instanceof Error ? error.message : String(error)}` };
  }
  const parsed = schema.safeParse(raw);
  if (parsed.success) return { ok: true, message: parsed.data };
  const issue = parsed.error.issues[0];
  if (issue === undefined) return { ok: false, reason: `${subject}: invalid ${channel} message` };
  return { ok: false, reason: `${subject}: invalid ${channel} message: ${formatPath(issue.path)}: ${issue.message}` };
}

/** Throws a TypeError for a value JSON cannot hold (a BigInt, a cycle); that is a programming error. */
export function encodeMessage(message: BusMessage): Uint8Array {
  return encoder.encode(JSON.stringify(message));
}

/** `checks[0].name`, the same dotted form InputIssue.field uses. */
function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(message)';
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}
