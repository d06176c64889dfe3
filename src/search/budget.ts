import type { TokenUsage } from "./types.ts";

/** A spending limit for a run: total tokens, US dollars, or both. */
export interface Budget {
  tokens?: number;
  usd?: number;
}

/**
 * Parses a budget as users write it: "$2.50", "2.5usd", "2.5 dollars" are dollars; "200k", "1.5M",
 * "50000 tokens" are tokens. Returns null when the text is not a budget.
 */
export function parseBudget(text: string): Budget | null {
  const t = text.trim().toLowerCase().replace(/,/g, "");
  const dollars = /^\$\s*(\d+(?:\.\d+)?)$/.exec(t) ?? /^(\d+(?:\.\d+)?)\s*(?:usd|dollars?|\$)$/.exec(t);
  if (dollars) return { usd: Number(dollars[1]) };
  const tokens = /^(\d+(?:\.\d+)?)\s*([km])?\s*(?:tok(?:en)?s?)?$/.exec(t);
  if (tokens) {
    const scale = tokens[2] === "k" ? 1e3 : tokens[2] === "m" ? 1e6 : 1;
    return { tokens: Math.round(Number(tokens[1]) * scale) };
  }
  return null;
}

/**
 * Whether the run has spent its budget. Conservative with a dollar budget: once some of the spent tokens have an
 * unknown cost (`costUnknown`, a model without a price), the budget counts as spent, since the real cost may be
 * over it and `costUsd` alone would undercount it. Runs refuse such a budget at start (`checkBudgetPriced`), so
 * this is the backstop. A token budget counts tokens only and works for every model.
 */
export function budgetExhausted(budget: Budget | undefined, spent: TokenUsage): boolean {
  if (!budget) return false;
  if (budget.tokens !== undefined && spent.promptTokens + spent.completionTokens >= budget.tokens) return true;
  if (budget.usd !== undefined && (spent.costUnknown || spent.costUsd >= budget.usd)) return true;
  return false;
}

export function describeBudget(budget: Budget | undefined): string {
  if (!budget) return "none";
  const parts: string[] = [];
  if (budget.tokens !== undefined) parts.push(`${budget.tokens} tokens`);
  if (budget.usd !== undefined) parts.push(`$${budget.usd.toFixed(2)}`);
  return parts.join(" or ");
}
