import type { Config } from "../config.ts";
import { UsageError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import type { Budget } from "../search/budget.ts";
import type { Coder } from "../search/types.ts";
import { OfflineCoder } from "./offline/index.ts";
import { checkEndpoint, OpenAICoder } from "./openai/index.ts";
import { DEFAULT_PRICES, priceOf, type PriceTable } from "./openai/pricing.ts";

/** The prices the openai coder uses: the defaults, overridden and extended by config `openai.prices`. */
export function pricesOf(config: Config): PriceTable {
  return { ...DEFAULT_PRICES, ...config.openai.prices };
}

/** Builds the coder the configuration names. */
export function createCoder(config: Config, logger: Logger): Coder {
  if (config.coder === "offline") return new OfflineCoder({ logger });
  const o = config.openai;
  return new OpenAICoder({
    apiKey: o.apiKey,
    baseURL: o.baseUrl || undefined,
    codeModel: o.codeModel,
    reviewModel: o.reviewModel,
    temperature: o.temperature,
    maxRetries: o.maxRetries,
    timeoutMs: o.timeoutSec * 1000,
    prices: pricesOf(config),
    logger,
  });
}

/** Fails fast, with one clear line, when the configured model endpoint cannot be used. No-op for offline. */
export async function checkCoder(config: Config, logger: Logger): Promise<void> {
  if (config.coder !== "openai") return;
  const o = config.openai;
  await checkEndpoint({
    apiKey: o.apiKey,
    baseURL: o.baseUrl || undefined,
    models: [...new Set([o.codeModel, o.reviewModel])],
    timeoutMs: Math.min(o.timeoutSec * 1000, 20_000),
    maxRetries: 1,
    logger,
  });
}

/**
 * Refuses a dollar budget the budget stop could not keep: with the openai coder, every configured model needs a
 * price (a token budget works for any model; the offline coder costs nothing). `instead` ends the message with
 * what the user can do otherwise, e.g. "give a token budget such as --budget 200k".
 */
export function checkBudgetPriced(budget: Budget | undefined, config: Config, instead = "give a token budget such as --budget 200k"): void {
  if (budget?.usd === undefined || config.coder !== "openai") return;
  const prices = pricesOf(config);
  const unpriced = [...new Set([config.openai.codeModel, config.openai.reviewModel])].filter((m) => priceOf(m, prices) === null);
  if (unpriced.length === 0) return;
  const names = unpriced.map((m) => `"${m}"`).join(" and ");
  throw new UsageError(
    `A dollar budget needs prices for the models: ${names} ${unpriced.length === 1 ? "has" : "have"} none. ` +
      `Add ${unpriced.length === 1 ? "it" : "them"} under openai.prices in your config, or ${instead}.`,
  );
}
