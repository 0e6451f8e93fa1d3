import { setImmediate as nextTurn } from 'node:timers/promises';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Collect = () => void;

/**
 * A full, synchronous garbage collection. Under `node --expose-gc` it is `globalThis.gc`; otherwise
 * the flag is switched on at run time and a fresh context hands out the function, so the heap
 * figures are right whichever way the script was started.
 */
function collector(): Collect {
  const exposed = (globalThis as { gc?: Collect }).gc;
  if (exposed) return exposed;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as Collect;
}

let cached: Collect | undefined;

/**
 * Compiled code lives in the heap too, and the JIT keeps optimizing while a benchmark runs: left
 * in, it adds hundreds of bytes "per task" that no task holds.
 */
const CODE_SPACES: ReadonlySet<string> = new Set(['code_space', 'code_large_object_space']);

/** Used heap without compiled code. */
function dataHeapUsed(): number {
  return getHeapSpaceStatistics()
    .filter((space) => !CODE_SPACES.has(space.space_name))
    .reduce((sum, space) => sum + space.space_used_size, 0);
}

/** Used heap (without code) after repeated full collections, with turns of the event loop between them so pending callbacks run. */
export async function settledHeapUsed(): Promise<number> {
  cached ??= collector();
  for (let i = 0; i < 4; i++) {
    await nextTurn();
    cached();
  }
  return dataHeapUsed();
}
