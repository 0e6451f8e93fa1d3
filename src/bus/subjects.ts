/**
 * Every bus subject is built here and nowhere else (as nats.js services do), with the protocol
 * version in the prefix so that a v2 can run beside v1 during an upgrade.
 */
export const SUBJECT_PREFIX = 'tandem.v1';

const TOKEN = /^[A-Za-z0-9_-]+$/;

export type SubjectSpec =
  | { readonly kind: 'tasks.submit' }
  | { readonly kind: 'role.run'; readonly role: string }
  | { readonly kind: 'events'; readonly taskId: string; readonly event: string }
  | { readonly kind: 'events.all' }
  | { readonly kind: 'events.task'; readonly taskId: string }
  | { readonly kind: 'control'; readonly taskId: string }
  | { readonly kind: 'control.all' }
  | { readonly kind: 'results'; readonly taskId: string }
  | { readonly kind: 'results.all' }
  /** Not a bus channel (nothing decodes it as one): where a JetStream queue keeps its dead letters. */
  | { readonly kind: 'dead'; readonly stream: string };

function token(name: string, value: string): string {
  if (!TOKEN.test(value)) throw new TypeError(`invalid subject token for ${name}: ${JSON.stringify(value)}`);
  return value;
}

/** Event types contain dots (`task.state`); in a subject they become one token (`task_state`). */
function eventToken(event: string): string {
  return token('event', event.replaceAll('.', '_'));
}

export function subject(spec: SubjectSpec): string {
  switch (spec.kind) {
    case 'tasks.submit':
      return `${SUBJECT_PREFIX}.tasks.submit`;
    case 'role.run':
      return `${SUBJECT_PREFIX}.role.${token('role', spec.role)}.run`;
    case 'events':
      return `${SUBJECT_PREFIX}.events.${token('taskId', spec.taskId)}.${eventToken(spec.event)}`;
    case 'events.all':
      return `${SUBJECT_PREFIX}.events.>`;
    case 'events.task':
      return `${SUBJECT_PREFIX}.events.${token('taskId', spec.taskId)}.*`;
    case 'control':
      return `${SUBJECT_PREFIX}.control.${token('taskId', spec.taskId)}`;
    case 'control.all':
      return `${SUBJECT_PREFIX}.control.*`;
    case 'results':
      return `${SUBJECT_PREFIX}.results.${token('taskId', spec.taskId)}`;
    case 'results.all':
      return `${SUBJECT_PREFIX}.results.*`;
    case 'dead':
      return `${SUBJECT_PREFIX}.dead.${token('stream', spec.stream)}`;
  }
}

/**
 * Checks a subscription before any bus takes it: a pattern of tokens, `*` or a final `>`, and an
 * optional queue group name of one token. Every Bus implementation uses this one check.
 */
export function assertSubscription(pattern: string, queue?: string): void {
  const tokens = pattern.split('.');
  const valid = tokens.every((t, i) => TOKEN.test(t) || t === '*' || (t === '>' && i === tokens.length - 1));
  if (!valid) throw new TypeError(`invalid subscription subject ${JSON.stringify(pattern)}`);
  if (queue !== undefined && !TOKEN.test(queue)) throw new TypeError(`invalid queue group name ${JSON.stringify(queue)}`);
}

/** NATS wildcard semantics: `*` matches one token, `>` one or more trailing tokens. */
export function subjectMatches(pattern: string, candidate: string): boolean {
  const p = pattern.split('.');
  const c = candidate.split('.');
  for (let i = 0; i < p.length; i++) {
    const part = p[i];
    if (part === '>') return c.length > i;
    if (i >= c.length) return false;
    if (part !== '*' && part !== c[i]) return false;
  }
  return p.length === c.length;
}
