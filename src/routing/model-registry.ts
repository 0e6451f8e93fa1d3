import type { ModelEntry } from './config-schema.js';
import { fallbackChain } from './fallback-chain.js';

/** A registry entry as the router uses it; `runner` already has `runner_override` applied. */
interface RegisteredModel {
  readonly name: string;
  readonly provider: string;
  readonly model: string;
  readonly runner: string;
  /** USD per million tokens. */
  readonly price: { readonly input: number; readonly output: number };
  readonly contextTokens: number;
  readonly concurrency: number;
  readonly fallback?: string | undefined;
}

export interface ModelRegistry {
  /** Names in the order the config declares them. */
  names(): readonly string[];
  get(name: string): RegisteredModel | undefined;
  /** The registry entry for a provider/model pair (e.g. a pinned role), if any. */
  find(ref: { readonly provider: string; readonly model: string }): RegisteredModel | undefined;
  /** USD for these tokens at the model's list price. */
  cost(name: string, tokensIn: number, tokensOut: number): number;
  /** The fallback chain after `name`, without repeats. */
  chain(name: string): string[];
  strongest(): RegisteredModel | undefined;
}

export function createModelRegistry(
  models: Readonly<Record<string, ModelEntry>>,
  options: { runnerOverride?: string | undefined; strongest?: string | undefined } = {},
): ModelRegistry {
  const entries = new Map<string, RegisteredModel>(
    Object.entries(models).map(([name, m]) => [
      name,
      {
        name,
        provider: m.provider,
        model: m.model,
        runner: options.runnerOverride ?? m.runner,
        price: m.price,
        contextTokens: m.context_tokens,
        concurrency: m.concurrency,
        fallback: m.fallback,
      },
    ]),
  );
  const names = [...entries.keys()];
  return {
    names: () => names,
    get: (name) => entries.get(name),
    find: (ref) => [...entries.values()].find((m) => m.provider === ref.provider && m.model === ref.model),
    cost(name, tokensIn, tokensOut) {
      const m = entries.get(name);
      return m ? usdFor(m.price, tokensIn, tokensOut) : 0;
    },
    chain: (name) => fallbackChain(name, (n) => entries.get(n)?.fallback),
    strongest: () => (options.strongest ? entries.get(options.strongest) : undefined),
  };
}

/** Rounded to nano-dollars so that sums of many calls are exact (integers below 2^53). */
export function usdFor(price: { readonly input: number; readonly output: number }, tokensIn: number, tokensOut: number): number {
  return fromNanos(toNanos((tokensIn * price.input + tokensOut * price.output) / 1_000_000));
}

export function toNanos(usd: number): number {
  return Math.round(usd * 1e9);
}

export function fromNanos(nanos: number): number {
  return nanos / 1e9;
}

/** Adds dollar amounts without float drift. */
export function sumUsd(values: Iterable<number>): number {
  let nanos = 0;
  for (const v of values) nanos += toNanos(v);
  return fromNanos(nanos);
}

/** `provider/model`, the form task records, trailers and the diversity rule use. */
export function modelKey(ref: { readonly provider: string; readonly model: string }): string {
  return `${ref.provider}/${ref.model}`;
}

/** Reads `provider/model` back; the provider never holds a slash, the model may. */
export function parseModelKey(key: string): { provider: string; model: string } | undefined {
  const at = key.indexOf('/');
  if (at <= 0 || at === key.length - 1) return undefined;
  return { provider: key.slice(0, at), model: key.slice(at + 1) };
}
