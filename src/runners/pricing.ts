/**
 * List prices in USD per million tokens, for CLIs that report tokens but no cost (Gemini CLI, Codex
 * CLI). Claude Code reports its own figure, which wins. Models are matched by the longest prefix, so
 * `gemini-2.5-flash-lite` is not priced as `gemini-2.5-flash`. Prices change: a price in the config
 * overrides this table.
 */
export interface ModelPrice {
  readonly inputPerMTok: number;
  readonly outputPerMTok: number;
}

export const defaultPrices: Readonly<Record<string, ModelPrice>> = {
  'claude-opus-4': { inputPerMTok: 15, outputPerMTok: 75 },
  'claude-opus-4-5': { inputPerMTok: 5, outputPerMTok: 25 },
  'claude-sonnet-4': { inputPerMTok: 3, outputPerMTok: 15 },
  'claude-haiku-4-5': { inputPerMTok: 1, outputPerMTok: 5 },
  'claude-3-5-haiku': { inputPerMTok: 0.8, outputPerMTok: 4 },
  'gemini-2.5-pro': { inputPerMTok: 1.25, outputPerMTok: 10 },
  'gemini-2.5-flash': { inputPerMTok: 0.3, outputPerMTok: 2.5 },
  'gemini-2.5-flash-lite': { inputPerMTok: 0.1, outputPerMTok: 0.4 },
  'gpt-5': { inputPerMTok: 1.25, outputPerMTok: 10 },
  'gpt-5-mini': { inputPerMTok: 0.25, outputPerMTok: 2 },
  'gpt-5-nano': { inputPerMTok: 0.05, outputPerMTok: 0.4 },
  'gpt-5-codex': { inputPerMTok: 1.25, outputPerMTok: 10 },
  'gpt-4.1': { inputPerMTok: 2, outputPerMTok: 8 },
  'o4-mini': { inputPerMTok: 1.1, outputPerMTok: 4.4 },
};

export function priceOf(model: string, prices: Readonly<Record<string, ModelPrice>> = defaultPrices): ModelPrice | undefined {
  let best: string | undefined;
  for (const name of Object.keys(prices)) {
    if ((model === name || model.startsWith(`${name}-`) || model.startsWith(`${name}@`)) && (best === undefined || name.length > best.length)) best = name;
  }
  return best === undefined ? undefined : prices[best];
}

/** Cost of a call from its tokens; undefined when the model has no known price. */
export function costFromTokens(model: string, tokensIn: number, tokensOut: number, prices?: Readonly<Record<string, ModelPrice>>): number | undefined {
  const price = priceOf(model, prices);
  if (!price) return undefined;
  return (tokensIn * price.inputPerMTok + tokensOut * price.outputPerMTok) / 1_000_000;
}
