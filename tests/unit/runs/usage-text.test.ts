import { describe, expect, it } from "vitest";
import { formatCost, formatTokens, formatUsage } from "../../../src/runs/usage-text.ts";

describe("usage text", () => {
  it("shows a known cost in dollars, four decimals under a dollar", () => {
    expect(formatCost({ promptTokens: 10, completionTokens: 5, costUsd: 0.0123 })).toBe("$0.0123");
    expect(formatCost({ promptTokens: 10, completionTokens: 5, costUsd: 12.345 })).toBe("$12.35");
  });

  it("says the cost is unknown, or that part of it is", () => {
    expect(formatCost({ promptTokens: 10, completionTokens: 5, costUsd: 0, costUnknown: true })).toBe("cost unknown");
    expect(formatCost({ promptTokens: 10, completionTokens: 5, costUsd: 0.12, costUnknown: true })).toBe(
      "$0.1200 + unknown",
    );
  });

  it("counts tokens with the reasoning share when there is one", () => {
    expect(formatTokens({ promptTokens: 9345, completionTokens: 3000, costUsd: 0 })).toBe("12,345 tokens");
    expect(formatTokens({ promptTokens: 9345, completionTokens: 3000, reasoningTokens: 3000, costUsd: 0 })).toBe(
      "12,345 tokens (3,000 reasoning)",
    );
  });

  it("puts tokens and cost together, leaving out a cost known to be 0 and nothing spent", () => {
    expect(formatUsage({ promptTokens: 1000, completionTokens: 234, reasoningTokens: 100, costUsd: 0.0123 })).toBe(
      "1,234 tokens (100 reasoning), $0.0123",
    );
    expect(formatUsage({ promptTokens: 600, completionTokens: 200, costUsd: 0, costUnknown: true })).toBe(
      "800 tokens, cost unknown",
    );
    expect(formatUsage({ promptTokens: 600, completionTokens: 200, costUsd: 0.5, costUnknown: true })).toBe(
      "800 tokens, $0.5000 + unknown",
    );
    expect(formatUsage({ promptTokens: 600, completionTokens: 200, costUsd: 0 })).toBe("800 tokens");
    expect(formatUsage({ promptTokens: 0, completionTokens: 0, costUsd: 0 })).toBeNull();
  });
});
