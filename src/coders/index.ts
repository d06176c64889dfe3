import type { Config } from "../config.ts";
import type { Logger } from "../logger.ts";
import type { Coder } from "../search/types.ts";
import { OfflineCoder } from "./offline/index.ts";
import { checkEndpoint, OpenAICoder } from "./openai/index.ts";
import { DEFAULT_PRICES } from "./openai/pricing.ts";

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
    prices: { ...DEFAULT_PRICES, ...o.prices },
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
