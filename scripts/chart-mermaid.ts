/**
 * Draws the supervisor statechart as a Mermaid stateDiagram-v2, from the machine definition itself
 * (so the drawing cannot drift from the code), into its section of docs/architecture.md.
 *
 *   node --import tsx scripts/chart-mermaid.ts           # write the section
 *   node --import tsx scripts/chart-mermaid.ts --check   # exit 1 when the section is not current
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { AnyStateNode } from 'xstate';
import { supervisorMachine } from '../src/machines/supervisor.js';

type StateNode = AnyStateNode;
interface Transition {
  readonly eventType: string;
  readonly target?: readonly StateNode[] | undefined;
  readonly guard?: unknown;
  readonly reenter?: boolean;
}

const OUTPUT = fileURLToPath(new URL('../docs/architecture.md', import.meta.url));
const SECTION = /(<!-- supervisor-chart:start -->\n)[\s\S]*?(<!-- supervisor-chart:end -->)/;

/** Every state node below the root, depth first. */
function descendants(node: StateNode): StateNode[] {
  return Object.values(node.states).flatMap((child) => [child, ...descendants(child)]);
}

/** Mermaid ids are global: a state's key when no other state shares it, else its path. */
function namer(root: StateNode): (node: StateNode) => string {
  const counts = new Map<string, number>();
  for (const node of descendants(root)) counts.set(node.key, (counts.get(node.key) ?? 0) + 1);
  return (node) => ((counts.get(node.key) ?? 0) > 1 ? node.path.join('_') : node.key);
}

function eventLabel(eventType: string): string {
  const actor = /^xstate\.(done|error)\.actor\.(.+)$/.exec(eventType);
  if (actor) return `${actor[2]} ${actor[1] === 'done' ? 'done' : 'error'}`;
  const after = /^xstate\.after\.([^.]+)\./.exec(eventType);
  if (after) return `after ${after[1]}`;
  return eventType === '' ? 'always' : eventType;
}

function guardLabel(guard: unknown): string | undefined {
  if (guard === undefined) return undefined;
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'function') {
    const parts = (guard as { guards?: unknown[] }).guards;
    return parts ? parts.map(guardLabel).join(' and ') : guard.name || 'guard';
  }
  if (typeof guard === 'object' && guard !== null && 'type' in guard) {
    const { type, params } = guard as { type: unknown; params?: unknown };
    // Fixed params tell candidates apart (decided(approve, step)); params mapped from the event do not.
    const fixed = params && typeof params === 'object' ? Object.values(params).map(String) : [];
    return fixed.length > 0 ? `${String(type)}(${fixed.join(', ')})` : String(type);
  }
  return 'guard';
}

function stateLabel(node: StateNode): string {
  if (node.type === 'history') return `${node.key}: ${node.history === 'deep' ? 'deep ' : ''}history (H${node.history === 'deep' ? '*' : ''})`;
  const parts = [node.key];
  const tags = node.tags.filter((tag) => tag !== node.key);
  if (tags.length > 0) parts.push(tags.join(', '));
  const invoked = node.invoke.map((i) => (typeof i.src === 'string' ? i.src : i.id));
  if (invoked.length > 0) parts.push(`invokes ${invoked.join(', ')}`);
  return parts.join(' · ');
}

/** The innermost state that contains both ends of a transition: where Mermaid gets the arrow. */
function commonParent(a: StateNode, b: StateNode): StateNode | undefined {
  const chain = (n: StateNode): StateNode[] => (n.parent ? [...chain(n.parent), n.parent] : []);
  const ofA = chain(a);
  const ofB = new Set(chain(b));
  return ofA.filter((n) => ofB.has(n)).at(-1);
}

export function chartToMermaid(root: StateNode): string {
  const id = namer(root);
  const arrows = new Map<StateNode, string[]>();
  const addArrow = (at: StateNode, line: string): void => {
    arrows.set(at, [...(arrows.get(at) ?? []), line]);
  };
  for (const node of [root, ...descendants(root)]) {
    const transitions: Transition[] = [...[...node.transitions.values()].flat(), ...(node.always ?? [])];
    for (const t of transitions) {
      for (const target of t.target ?? []) {
        const guard = guardLabel(t.guard);
        const scope = node === root ? ' (in any state)' : '';
        const label = `${eventLabel(t.eventType)}${scope}${guard ? ` [${guard}]` : ''}${t.reenter ? ' (re-enter)' : ''}`;
        const from = node === root ? '[*]' : id(node);
        // A root-level event (ABORT) applies in every state: drawn from the whole running chart.
        const source = node === root ? (root.initial.target[0] ?? root) : node;
        addArrow(commonParent(source, target) ?? root, `${node === root ? id(source) : from} --> ${id(target)} : ${label}`);
      }
    }
  }
  const lines = ['stateDiagram-v2', `  %% Generated from src/machines/supervisor.ts by scripts/chart-mermaid.ts; do not edit.`];
  const draw = (node: StateNode, indent: string): void => {
    const initial = node.initial?.target[0];
    if (initial) lines.push(`${indent}[*] --> ${id(initial)}`);
    for (const child of Object.values(node.states)) {
      const childId = id(child);
      if (Object.keys(child.states).length > 0) {
        if (stateLabel(child) !== childId) lines.push(`${indent}state "${stateLabel(child)}" as ${childId}`);
        lines.push(`${indent}state ${childId} {`);
        draw(child, `${indent}  `);
        lines.push(`${indent}}`);
      } else {
        lines.push(`${indent}state "${stateLabel(child)}" as ${childId}`);
      }
      if (child.type === 'final') lines.push(`${indent}${childId} --> [*]`);
    }
    for (const arrow of arrows.get(node) ?? []) lines.push(`${indent}${arrow}`);
  };
  draw(root, '  ');
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  const chart = chartToMermaid(supervisorMachine.root);
  const current = await readFile(OUTPUT, 'utf8');
  if (!SECTION.test(current)) throw new Error(`${OUTPUT} has no <!-- supervisor-chart:start/end --> section`);
  const next = current.replace(SECTION, (_all, start: string, end: string) => `${start}\n\`\`\`mermaid\n${chart}\`\`\`\n\n${end}`);
  if (process.argv.includes('--check')) {
    if (current !== next) {
      process.stderr.write(`${OUTPUT}: the supervisor chart is not current: run node --import tsx scripts/chart-mermaid.ts\n`);
      process.exit(1);
    }
    return;
  }
  await writeFile(OUTPUT, next);
  process.stdout.write(`wrote the supervisor chart into ${OUTPUT}\n`);
}

await main();
