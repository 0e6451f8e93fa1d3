#!/usr/bin/env node
// Prints the import graph between the folders of src/ (one node per top-level folder, files directly
// in src/ as "(root)") and fails when it has a cycle. The floors are enforced file by file by ESLint;
// this script shows the picture a person reads:
//   node scripts/folder-graph.mjs [--files]   print it (--files: every import behind each arrow)
//   node scripts/folder-graph.mjs --write     also put it into docs/architecture.md
//   node scripts/folder-graph.mjs --check     fail when docs/architecture.md is not current
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'src');
const showFiles = process.argv.includes('--files');

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return walk(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

const folderOf = (file) => {
  const rel = relative(root, file).split(sep);
  return rel.length === 1 ? '(root)' : rel[0];
};

const importRe = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;
const edges = new Map();
const examples = new Map();
for (const file of walk(root)) {
  const text = readFileSync(file, 'utf8');
  for (const match of text.matchAll(importRe)) {
    const spec = match[1] ?? match[2];
    const target = resolve(dirname(file), spec.replace(/\.js$/, '.ts'));
    const from = folderOf(file);
    const to = folderOf(target);
    if (from === to) continue;
    if (!edges.has(from)) edges.set(from, new Set());
    edges.get(from).add(to);
    const key = `${from} -> ${to}`;
    if (!examples.has(key)) examples.set(key, []);
    examples.get(key).push(`${relative(root, file)} -> ${relative(root, target)}`);
  }
}

// Tarjan's strongly connected components: any component with more than one folder is a cycle.
const nodes = [...new Set([...edges.keys(), ...[...edges.values()].flatMap((s) => [...s])])].sort();
let index = 0;
const idx = new Map();
const low = new Map();
const stack = [];
const onStack = new Set();
const components = [];
function connect(v) {
  idx.set(v, index);
  low.set(v, index);
  index += 1;
  stack.push(v);
  onStack.add(v);
  for (const w of edges.get(v) ?? []) {
    if (!idx.has(w)) {
      connect(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
  }
  if (low.get(v) === idx.get(v)) {
    const component = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    components.push(component.sort());
  }
}
for (const v of nodes) if (!idx.has(v)) connect(v);

const lines = [];
for (const from of nodes) {
  const targets = [...(edges.get(from) ?? [])].sort();
  lines.push(`${from.padEnd(12)} -> ${targets.join(', ') || '(nothing)'}`);
  if (showFiles) for (const to of targets) for (const e of examples.get(`${from} -> ${to}`)) lines.push(`    ${e}`);
}
const cycles = components.filter((c) => c.length > 1);
if (cycles.length === 0) {
  lines.push('', `acyclic: ${nodes.length} folders, ${[...edges.values()].reduce((n, s) => n + s.size, 0)} edges`);
} else {
  for (const c of cycles) lines.push('', `cycle: ${c.length} folders reach each other: ${c.join(', ')}`);
  process.exitCode = 1;
}
console.log(lines.join('\n'));

if (process.argv.includes('--write') || process.argv.includes('--check')) {
  const doc = resolve(root, '..', 'docs', 'architecture.md');
  const text = readFileSync(doc, 'utf8');
  const section = /(<!-- folder-graph:start -->\n)[\s\S]*?(<!-- folder-graph:end -->)/;
  const next = text.replace(section, `$1\n\`\`\`text\n${lines.join('\n')}\n\`\`\`\n\n$2`);
  if (process.argv.includes('--write')) writeFileSync(doc, next);
  else if (next !== text) {
    console.error('docs/architecture.md: the folder graph is not current; run `node scripts/folder-graph.mjs --write`');
    process.exitCode = 1;
  }
}
