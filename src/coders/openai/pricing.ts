/**
 * Token prices, in US dollars per million tokens (input / output). DEFAULT_PRICES holds OpenAI's public list
 * prices, at the time of writing, of the models people commonly run; cached-input discounts and batch prices are
 * not modelled, so a cost is at most the list price. Config `openai.prices` overrides or extends this table
 * (local models, other providers, price changes). A model the merged table does not price has an unknown cost:
 * its tokens are still counted, and the cost shown says "unknown" (see `usageCost`).
 */
import type { TokenUsage } from "../../search/types.ts";

export interface ModelPrice {
  inputPerMTok: number;
  outputPerMTok: number;
}

export type PriceTable = Record<string, ModelPrice>;

export const DEFAULT_PRICES: PriceTable = {
  "gpt-5": { inputPerMTok: 1.25, outputPerMTok: 10 },
  "gpt-5-mini": { inputPerMTok: 0.25, outputPerMTok: 2 },
  "gpt-5-nano": { inputPerMTok: 0.05, outputPerMTok: 0.4 },
  "gpt-5.1": { inputPerMTok: 1.25, outputPerMTok: 10 },
  "gpt-4.1": { inputPerMTok: 2, outputPerMTok: 8 },
  "gpt-4.1-mini": { inputPerMTok: 0.4, outputPerMTok: 1.6 },
  "gpt-4.1-nano": { inputPerMTok: 0.1, outputPerMTok: 0.4 },
  "gpt-4o": { inputPerMTok: 2.5, outputPerMTok: 10 },
  // The first gpt-4o snapshot kept its launch price; listed exactly, it wins over the snapshot rule.
  "gpt-4o-2024-05-13": { inputPerMTok: 5, outputPerMTok: 15 },
  "gpt-4o-mini": { inputPerMTok: 0.15, outputPerMTok: 0.6 },
  o3: { inputPerMTok: 2, outputPerMTok: 8 },
  "o3-pro": { inputPerMTok: 20, outputPerMTok: 80 },
  "o3-mini": { inputPerMTok: 1.1, outputPerMTok: 4.4 },
  "o4-mini": { inputPerMTok: 1.1, outputPerMTok: 4.4 },
  o1: { inputPerMTok: 15, outputPerMTok: 60 },
};

/** A dated snapshot suffix: `-2024-08-06`, or the older `-MMDD` (`gpt-4-0613`). */
const SNAPSHOT_SUFFIX =
  /-(?:20\d\d-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])|(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01]))$/;

/**
 * Finds a model's price, names compared case-insensitively: the exact name, else the exact name without a
 * dated snapshot suffix (`gpt-4o-2024-08-06` is `gpt-4o`); then both again without a provider prefix
 * (`openai/gpt-4o`, `openrouter/openai/gpt-4o`). Nothing else matches: `o3-pro` is not `o3`, and
 * `gpt-5-chat-latest` or `gpt-4o-audio-preview` are unpriced unless listed. Null when unpriced.
 */
export function priceOf(model: string, prices: PriceTable): ModelPrice | null {
  const table = new Map(Object.entries(prices).map(([name, price]) => [name.trim().toLowerCase(), price]));
  const full = model.trim().toLowerCase();
  for (const name of new Set([full, full.slice(full.lastIndexOf("/") + 1)])) {
    const price = table.get(name) ?? table.get(name.replace(SNAPSHOT_SUFFIX, ""));
    if (price) return price;
  }
  return null;
}

type Tokens = { promptTokens: number; completionTokens: number };

function dollars(price: ModelPrice, usage: Tokens): number {
  return (usage.promptTokens * price.inputPerMTok + usage.completionTokens * price.outputPerMTok) / 1_000_000;
}

/** Cost in US dollars of the given token counts; 0 for a model without a price (`usageCost` says which). */
export function costOf(model: string, usage: Tokens, prices: PriceTable): number {
  const price = priceOf(model, prices);
  return price ? dollars(price, usage) : 0;
}

/**
 * The cost fields of a request's usage: the dollar cost, and `costUnknown: true` when the model has no price
 * but spent tokens (then `costUsd` is 0 and means nothing).
 */
export function usageCost(
  model: string,
  usage: Tokens,
  prices: PriceTable,
): Pick<TokenUsage, "costUsd" | "costUnknown"> {
  const price = priceOf(model, prices);
  if (price) return { costUsd: dollars(price, usage) };
  return usage.promptTokens + usage.completionTokens > 0 ? { costUsd: 0, costUnknown: true } : { costUsd: 0 };
}
