import { describe, expect, it } from "vitest";
import { checkBudgetPriced, pricesOf } from "../../../src/coders/index.ts";
import { loadConfig, type Config } from "../../../src/config.ts";
import { UsageError } from "../../../src/errors.ts";

function config(openai: Record<string, unknown>, coder: "openai" | "offline" = "openai"): Config {
  return loadConfig({ env: {}, overrides: { coder, openai } });
}

function refusal(fn: () => void): UsageError {
  try {
    fn();
  } catch (err) {
    if (err instanceof UsageError) return err;
    throw err;
  }
  throw new Error("expected a UsageError");
}

describe("checkBudgetPriced", () => {
  const local = config({ codeModel: "llama3.1:8b", reviewModel: "gpt-4o-mini" });

  it("refuses a dollar budget when a model has no price, naming it and saying what to do", () => {
    const err = refusal(() => checkBudgetPriced({ usd: 2 }, local));
    expect(err.userMessage).toBe(
      'A dollar budget needs prices for the models: "llama3.1:8b" has none. Add it under openai.prices in your config, or give a token budget such as --budget 200k.',
    );
  });

  it("names every unpriced model once, and ends with the caller's alternative", () => {
    const both = config({ codeModel: "qwen2.5-coder:32b", reviewModel: "gpt-5-chat-latest" });
    expect(refusal(() => checkBudgetPriced({ usd: 1 }, both, "submit without --budget")).userMessage).toBe(
      'A dollar budget needs prices for the models: "qwen2.5-coder:32b" and "gpt-5-chat-latest" have none. Add them under openai.prices in your config, or submit without --budget.',
    );
    const same = config({ codeModel: "llama3.1:8b", reviewModel: "llama3.1:8b" });
    expect(refusal(() => checkBudgetPriced({ usd: 1 }, same)).userMessage).toMatch(
      /: "llama3\.1:8b" has none\. Add it /,
    );
  });

  it("accepts token budgets, no budget, priced models (defaults, snapshots, config prices) and the offline coder", () => {
    expect(() => checkBudgetPriced({ tokens: 200_000 }, local)).not.toThrow();
    expect(() => checkBudgetPriced(undefined, local)).not.toThrow();
    expect(() =>
      checkBudgetPriced({ usd: 1 }, config({ codeModel: "gpt-4o-2024-08-06", reviewModel: "openai/gpt-4o-mini" })),
    ).not.toThrow();
    const priced = config({
      codeModel: "llama3.1:8b",
      reviewModel: "gpt-4o-mini",
      prices: { "llama3.1:8b": { inputPerMTok: 0, outputPerMTok: 0 } },
    });
    expect(() => checkBudgetPriced({ usd: 1 }, priced)).not.toThrow();
    expect(() => checkBudgetPriced({ usd: 1 }, config({ codeModel: "llama3.1:8b" }, "offline"))).not.toThrow();
  });

  it("uses the default prices overridden and extended by config", () => {
    const prices = pricesOf(
      config({
        prices: { "gpt-4o": { inputPerMTok: 1, outputPerMTok: 2 }, mine: { inputPerMTok: 3, outputPerMTok: 4 } },
      }),
    );
    expect(prices["gpt-4o"]).toEqual({ inputPerMTok: 1, outputPerMTok: 2 });
    expect(prices.mine).toEqual({ inputPerMTok: 3, outputPerMTok: 4 });
    expect(prices["o3-pro"]).toEqual({ inputPerMTok: 20, outputPerMTok: 80 });
  });
});
