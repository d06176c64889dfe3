import { describe, expect, it } from "vitest";
import { budgetExhausted, parseBudget } from "../../../src/search/budget.ts";

describe("parseBudget", () => {
  it.each([
    ["$2.50", { usd: 2.5 }],
    ["3usd", { usd: 3 }],
    ["1.5 dollars", { usd: 1.5 }],
    ["200k", { tokens: 200_000 }],
    ["1.5M", { tokens: 1_500_000 }],
    ["50,000 tokens", { tokens: 50_000 }],
    ["1000", { tokens: 1000 }],
  ])("%s", (text, expected) => {
    expect(parseBudget(text)).toEqual(expected);
  });

  it("rejects what is not a budget", () => {
    expect(parseBudget("lots")).toBeNull();
    expect(parseBudget("$")).toBeNull();
  });
});

describe("budgetExhausted", () => {
  const spent = { promptTokens: 900, completionTokens: 100, costUsd: 0.4 };
  it("is reached at the limit", () => {
    expect(budgetExhausted({ tokens: 1000 }, spent)).toBe(true);
    expect(budgetExhausted({ tokens: 1001 }, spent)).toBe(false);
    expect(budgetExhausted({ usd: 0.4 }, spent)).toBe(true);
    expect(budgetExhausted({ usd: 0.5 }, spent)).toBe(false);
    expect(budgetExhausted(undefined, spent)).toBe(false);
  });

  it("counts a dollar budget as spent once some cost is unknown, never reading the unknown part as $0", () => {
    const unknown = { ...spent, costUsd: 0, costUnknown: true };
    expect(budgetExhausted({ usd: 100 }, unknown)).toBe(true);
    expect(budgetExhausted({ usd: 100 }, { ...spent, costUnknown: true })).toBe(true);
    // A token budget counts tokens whatever their price.
    expect(budgetExhausted({ tokens: 1001 }, unknown)).toBe(false);
    expect(budgetExhausted({ tokens: 1000 }, unknown)).toBe(true);
    expect(budgetExhausted({ usd: 100 }, { ...spent, costUnknown: false })).toBe(false);
  });
});
