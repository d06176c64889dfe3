import type { TokenUsage } from "../search/types.ts";

/** A token count as people read it: "12,345". */
function count(n: number): string {
  return n.toLocaleString("en-US");
}

function dollars(usd: number): string {
  return `$${usd.toFixed(usd < 1 ? 4 : 2)}`;
}

/**
 * A run's cost as every surface shows it (terminal, chat, `aide status`): "$0.0123" (four decimals under a
 * dollar), "cost unknown" when the tokens came from models without a price, "$0.0123 + unknown" when only some
 * of them were priced.
 */
export function formatCost(usage: TokenUsage): string {
  if (!usage.costUnknown) return dollars(usage.costUsd);
  return usage.costUsd > 0 ? `${dollars(usage.costUsd)} + unknown` : "cost unknown";
}

/** "12,345 tokens", with the reasoning share when there is one: "12,345 tokens (3,000 reasoning)". */
export function formatTokens(usage: TokenUsage): string {
  const reasoning = usage.reasoningTokens ?? 0;
  return `${count(usage.promptTokens + usage.completionTokens)} tokens${reasoning > 0 ? ` (${count(reasoning)} reasoning)` : ""}`;
}

/**
 * Tokens and cost in one phrase: "12,345 tokens (3,000 reasoning), $0.0123", "800 tokens, cost unknown". A cost
 * known to be 0 (a free local model priced at 0) is left out; null when nothing was spent at all.
 */
export function formatUsage(usage: TokenUsage): string | null {
  const tokens = usage.promptTokens + usage.completionTokens;
  if (tokens === 0 && usage.costUsd === 0 && !usage.costUnknown) return null;
  const costKnownZero = usage.costUsd === 0 && !usage.costUnknown;
  return costKnownZero ? formatTokens(usage) : `${formatTokens(usage)}, ${formatCost(usage)}`;
}
