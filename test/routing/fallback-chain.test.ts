import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fallbackChain, findFallbackCycles } from '../../src/routing/fallback-chain.js';

const linksOf = (links: Readonly<Record<string, string | undefined>>) => (name: string) => links[name];

/** Whether following links from `start` comes back to a name already seen (brute force, for the property). */
function loopsFrom(start: string, links: Readonly<Record<string, string | undefined>>): boolean {
  const seen = new Set<string>();
  for (let at: string | undefined = start; at !== undefined; at = links[at]) {
    if (seen.has(at)) return true;
    seen.add(at);
  }
  return false;
}

describe('fallback chains', () => {
  it('follows seed 000’s Flash → Haiku and stops at a model without a fallback', () => {
    const links = { opus: 'sonnet', sonnet: 'pro', pro: 'flash', flash: 'haiku', haiku: undefined };
    expect(fallbackChain('opus', linksOf(links))).toEqual(['sonnet', 'pro', 'flash', 'haiku']);
    expect(fallbackChain('flash', linksOf(links))).toEqual(['haiku']);
    expect(fallbackChain('haiku', linksOf(links))).toEqual([]);
  });

  it('stops at the first repeat, so even an unchecked cycle never loops', () => {
    expect(fallbackChain('a', linksOf({ a: 'b', b: 'c', c: 'a' }))).toEqual(['b', 'c']);
    expect(fallbackChain('a', linksOf({ a: 'a' }))).toEqual([]);
  });

  it('finds each cycle once, starting at its first declared name', () => {
    const names = ['a', 'b', 'c', 'd', 'e', 'f'];
    expect(findFallbackCycles(names, linksOf({ a: 'b', b: 'c', c: 'b', d: 'e', e: 'd', f: 'f' }))).toEqual([['b', 'c'], ['d', 'e'], ['f']]);
    expect(findFallbackCycles(names, linksOf({ a: 'b', b: 'ghost', c: 'a' }))).toEqual([]);
  });

  const registries = fc
    .uniqueArray(fc.stringMatching(/^[a-z]{1,4}$/), { minLength: 1, maxLength: 12 })
    .chain((names) =>
      fc.tuple(
        fc.constant(names),
        fc.array(fc.option(fc.constantFrom(...names, 'ghost'), { nil: undefined }), { minLength: names.length, maxLength: names.length }),
      ),
    )
    .map(([names, targets]) => ({ names, links: Object.fromEntries(names.map((n, i) => [n, targets[i]])) }));

  it('property: a chain never repeats a model, never contains its start, and ends', () => {
    fc.assert(
      fc.property(registries, ({ names, links }) => {
        for (const start of names) {
          const chain = fallbackChain(start, linksOf(links));
          expect(new Set(chain).size).toBe(chain.length);
          expect(chain).not.toContain(start);
          expect(chain.length).toBeLessThanOrEqual(names.length + 1);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('property: a registry is reported cyclic exactly when some chain would loop', () => {
    fc.assert(
      fc.property(registries, ({ names, links }) => {
        const cycles = findFallbackCycles(names, linksOf(links));
        const loops = names.some((n) => loopsFrom(n, links));
        expect(cycles.length > 0).toBe(loops);
        for (const cycle of cycles) {
          // Each reported cycle really is one: every member links to the next, the last to the first.
          cycle.forEach((name, i) => expect(links[name]).toBe(cycle[(i + 1) % cycle.length]));
        }
      }),
      { numRuns: 300 },
    );
  });
});
