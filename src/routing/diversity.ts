import type { Diversity } from './config-schema.js';

interface ModelId {
  readonly provider: string;
  readonly model: string;
}

/**
 * Seed 002 cross-review: a reviewer never uses the author's model (the same model id reached
 * through another provider is still the same model), and with `provider` diversity not the
 * author's provider either. Returns why a candidate is refused, or undefined when it may review.
 */
export function diversityObjection(candidate: ModelId, author: ModelId | undefined, mode: Diversity): string | undefined {
  if (!author) return undefined;
  if (candidate.model === author.model) return `it is the author's model (${author.provider}/${author.model})`;
  if (mode === 'provider' && candidate.provider === author.provider) return `same provider (${author.provider}) as the author's ${author.model}`;
  return undefined;
}
