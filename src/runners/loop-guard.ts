/**
 * Stops an agent that makes no progress: more tool calls than the turn limit, or the same tool call
 * answered with the same result `repeatLimit` times (a model re-reading one file forever). Tool calls
 * with different results are progress, however alike the calls look.
 */
export class LoopGuard {
  private calls = 0;
  private readonly pending = new Map<string, string>();
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly maxTurns: number,
    private readonly repeatLimit: number,
  ) {}

  /** Returns why the call must stop, or undefined. */
  call(id: string, name: string, input: unknown): string | undefined {
    this.calls++;
    this.pending.set(id, `${name} ${stableJson(input)}`);
    if (this.calls > this.maxTurns) return `more than ${this.maxTurns} tool calls (the turn limit)`;
    return undefined;
  }

  result(id: string, output: string, failed: boolean): string | undefined {
    const call = this.pending.get(id);
    if (call === undefined) return undefined;
    this.pending.delete(id);
    const key = `${call}\u0000${failed ? 'failed' : 'ok'}\u0000${output}`;
    const count = (this.seen.get(key) ?? 0) + 1;
    this.seen.set(key, count);
    if (count >= this.repeatLimit) return `the same tool call (${truncate(call, 120)}) returned the same result ${count} times`;
    return undefined;
  }

  get toolCalls(): number {
    return this.calls;
  }
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** JSON with sorted keys, so `{a,b}` and `{b,a}` are the same call. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'undefined';
}
