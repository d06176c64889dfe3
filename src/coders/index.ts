import type { Config } from "../config.ts";
import { UsageError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import type { Budget } from "../search/budget.ts";
import type { Coder } from "../search/types.ts";
import { OfflineCoder } from "./offline/index.ts";
import { checkModels, ModelProfiles, OpenAICoder, type ModelCheckReport } from "./openai/index.ts";
import { DEFAULT_PRICES, priceOf, type PriceTable } from "./openai/pricing.ts";

/** The prices the openai coder uses: the defaults, overridden and extended by config `openai.prices`. */
export function pricesOf(config: Config): PriceTable {
  return { ...DEFAULT_PRICES, ...config.openai.prices };
}

/** Builds the coder the configuration names. */
export function createCoder(config: Config, logger: Logger): Coder {
  if (config.coder === "offline") return new OfflineCoder({ logger, seed: config.search.seed });
  const o = config.openai;
  return new OpenAICoder({
    ...endpointSettings(config),
    maxRetries: o.maxRetries,
    timeoutMs: o.timeoutSec * 1000,
    idleTimeoutMs: o.idleTimeoutSec * 1000,
    maxPromptTokens: o.maxPromptTokens,
    prices: pricesOf(config),
    logger,
  });
}

/**
 * What this process has learnt of the models it talks to (which parameters each takes), shared by every coder
 * it builds and by the start-up check, so a refusal is learnt once per process rather than once per run.
 */
const processModelProfiles = new ModelProfiles();

/** What the coder and the start-up check send alike: the endpoint, the models and the request parameters. */
function endpointSettings(config: Config) {
  const o = config.openai;
  return {
    apiKey: o.apiKey,
    baseURL: o.baseUrl || undefined,
    codeModel: o.codeModel,
    reviewModel: o.reviewModel,
    temperature: o.temperature,
    reasoningEffort: o.reasoningEffort,
    maxOutputTokens: o.maxOutputTokens,
    tools: o.tools,
    stream: o.stream,
    profiles: processModelProfiles,
  };
}

/**
 * The start-up check of the openai coder (`aide run --coder openai`, `aide runner`, the bots): the endpoint
 * answers, both models answer a tiny request, and what each takes is learnt. Throws a `ModelError` with one
 * clear line when a model cannot be used; returns the report (null for the offline coder).
 */
export async function checkCoder(
  config: Config,
  logger: Logger,
  signal?: AbortSignal,
): Promise<ModelCheckReport | null> {
  if (config.coder !== "openai") return null;
  const o = config.openai;
  const report = await checkModels({
    ...endpointSettings(config),
    timeoutMs: Math.min(o.timeoutSec, o.idleTimeoutSec, 60) * 1000,
    maxRetries: Math.min(o.maxRetries, 1),
    logger,
    signal,
  });
  for (const m of report.models)
    logger.info(
      { model: m.model, roles: m.roles, review: m.review, sends: m.sends, learnt: m.learnt },
      "model checked",
    );
  return report;
}

/**
 * Refuses a dollar budget the budget stop could not keep: with the openai coder, every configured model needs a
 * price (a token budget works for any model; the offline coder costs nothing). `instead` ends the message with
 * what the user can do otherwise, e.g. "give a token budget such as --budget 200k".
 */
export function checkBudgetPriced(
  budget: Budget | undefined,
  config: Config,
  instead = "give a token budget such as --budget 200k",
): void {
  if (budget?.usd === undefined || config.coder !== "openai") return;
  const prices = pricesOf(config);
  const unpriced = [...new Set([config.openai.codeModel, config.openai.reviewModel])].filter(
    (m) => priceOf(m, prices) === null,
  );
  if (unpriced.length === 0) return;
  const names = unpriced.map((m) => `"${m}"`).join(" and ");
  throw new UsageError(
    `A dollar budget needs prices for the models: ${names} ${unpriced.length === 1 ? "has" : "have"} none. ` +
      `Add ${unpriced.length === 1 ? "it" : "them"} under openai.prices in your config, or ${instead}.`,
  );
}
