/**
 * Token prices, in US dollars per million tokens. The defaults are approximate public list prices of a few
 * well-known OpenAI models at the time of writing; they only feed the cost shown to users and the budget
 * stop, so config can override or extend them. Models that are not listed (local models, new releases)
 * cost 0 while their tokens are still counted.
 */

export interface ModelPrice {
  inputPerMTok: number;
  outputPerMTok: number;
}

export type PriceTable = Record<string, ModelPrice>;

export const DEFAULT_PRICES: PriceTable = {
  "gpt-4o": { inputPerMTok: 2.5, outputPerMTok: 10 },
  "gpt-4o-mini": { inputPerMTok: 0.15, outputPerMTok: 0.6 },
  "gpt-4.1": { inputPerMTok: 2, outputPerMTok: 8 },
  "gpt-4.1-mini": { inputPerMTok: 0.4, outputPerMTok: 1.6 },
  "gpt-4.1-nano": { inputPerMTok: 0.1, outputPerMTok: 0.4 },
  "gpt-5": { inputPerMTok: 1.25, outputPerMTok: 10 },
  "gpt-5-mini": { inputPerMTok: 0.25, outputPerMTok: 2 },
  "gpt-5-nano": { inputPerMTok: 0.05, outputPerMTok: 0.4 },
  o3: { inputPerMTok: 2, outputPerMTok: 8 },
  "o3-mini": { inputPerMTok: 1.1, outputPerMTok: 4.4 },
  "o4-mini": { inputPerMTok: 1.1, outputPerMTok: 4.4 },
};

/**
 * Finds a model's price: an exact name first, then the name without a provider prefix (`openai/gpt-4o`),
 * then the longest listed name the model starts with followed by `-` (so `gpt-4o-2024-08-06` is priced as
 * `gpt-4o` while `gpt-4o-mini` keeps its own entry). Null when nothing matches.
 */
export function priceOf(model: string, prices: PriceTable): ModelPrice | null {
  const candidates = [model, model.slice(model.lastIndexOf("/") + 1)].map((m) => m.trim());
  for (const name of candidates) {
    const exact = prices[name] ?? prices[name.toLowerCase()];
    if (exact) return exact;
  }
  for (const name of candidates) {
    const lower = name.toLowerCase();
    let best: string | null = null;
    for (const key of Object.keys(prices)) {
      const k = key.toLowerCase();
      if (lower.startsWith(`${k}-`) && (best === null || k.length > best.length)) best = key;
    }
    if (best !== null) return prices[best] ?? null;
  }
  return null;
}

/** Cost in US dollars of the given token counts; 0 for models without a price. */
export function costOf(model: string, usage: { promptTokens: number; completionTokens: number }, prices: PriceTable): number {
  const price = priceOf(model, prices);
  if (!price) return 0;
  return (usage.promptTokens * price.inputPerMTok + usage.completionTokens * price.outputPerMTok) / 1_000_000;
}
