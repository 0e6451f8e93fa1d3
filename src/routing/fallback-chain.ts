/**
 * Fallback chains (seed 000: Flash → Haiku). A chain follows each model's `fallback` until a model
 * has none. The config refuses cycles at load; the walk also stops at the first repeat, so even an
 * unchecked registry can never send a call round in a loop.
 */

export type FallbackOf = (name: string) => string | undefined;

/** The models after `start`, in order, each at most once, never `start` itself. */
export function fallbackChain(start: string, fallbackOf: FallbackOf): string[] {
  const seen = new Set<string>([start]);
  const chain: string[] = [];
  for (let next = fallbackOf(start); next !== undefined && !seen.has(next); next = fallbackOf(next)) {
    seen.add(next);
    chain.push(next);
  }
  return chain;
}

/**
 * Every cycle among the fallback links, each once, starting at its first name in `names` order
 * (`['a', 'b']` for a → b → a). Links to unknown names end a chain; they are reported elsewhere.
 */
export function findFallbackCycles(names: readonly string[], fallbackOf: FallbackOf): string[][] {
  const known = new Set(names);
  const state = new Map<string, 'visiting' | 'done'>();
  const cycles: string[][] = [];
  for (const start of names) {
    if (state.has(start)) continue;
    const path: string[] = [];
    let current: string | undefined = start;
    while (current !== undefined && known.has(current) && !state.has(current)) {
      state.set(current, 'visiting');
      path.push(current);
      current = fallbackOf(current);
    }
    if (current !== undefined && state.get(current) === 'visiting') {
      const cycle = path.slice(path.indexOf(current));
      const first = cycle.reduce((best, name) => (names.indexOf(name) < names.indexOf(best) ? name : best));
      const at = cycle.indexOf(first);
      cycles.push([...cycle.slice(at), ...cycle.slice(0, at)]);
    }
    for (const name of path) state.set(name, 'done');
  }
  return cycles;
}
