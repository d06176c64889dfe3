import { describe, expect, it } from "vitest";
import { MAX_SUMMARY_CHARS, parseReviewArguments, REVIEW_TOOL } from "../../../src/coders/openai/review-answer.ts";

const args = (over: Record<string, unknown> = {}) =>
  JSON.stringify({ is_bug: false, summary: "Fine.", metric: 0.8, lower_is_better: false, ...over });

describe("the review tool", () => {
  it("asks for the four fields of the verdict schema, all required, nothing else", () => {
    expect(REVIEW_TOOL.type).toBe("function");
    expect(REVIEW_TOOL.type === "function" && REVIEW_TOOL.function.parameters).toEqual({
      type: "object",
      properties: {
        is_bug: { type: "boolean", description: "True if the run failed or its result cannot be used." },
        summary: {
          type: "string",
          minLength: 1,
          description: "Two to four sentences on what the run did and found, or why it failed.",
        },
        metric: {
          type: ["number", "null"],
          description: "The validation metric shown in the output, or null if there is none.",
        },
        lower_is_better: {
          type: ["boolean", "null"],
          description: "True if smaller values of the metric are better, false if larger are, null if unknown.",
        },
      },
      required: ["is_bug", "summary", "metric", "lower_is_better"],
      additionalProperties: false,
    });
  });
});

describe("parseReviewArguments", () => {
  it("reads a verdict", () => {
    expect(parseReviewArguments(args())).toEqual({ isBug: false, summary: "Fine.", metric: 0.8, lowerIsBetter: false });
  });

  it("is lenient where the meaning is clear", () => {
    expect(parseReviewArguments(args({ is_bug: "true", lower_is_better: "false" }))).toMatchObject({
      isBug: true,
      lowerIsBetter: false,
    });
    expect(parseReviewArguments(args({ metric: "0.75" }))).toMatchObject({ metric: 0.75 });
    expect(parseReviewArguments(args({ metric: "" }))).toMatchObject({ metric: null });
    expect(parseReviewArguments(args({ metric: "Infinity" }))).toMatchObject({ metric: null });
    expect(parseReviewArguments(JSON.stringify({ is_bug: true, summary: "  It crashed.  " }))).toEqual({
      isBug: true,
      summary: "It crashed.",
      metric: null,
      lowerIsBetter: null,
    });
    expect(parseReviewArguments(args({ extra: 1 }))).toMatchObject({ isBug: false });
  });

  it("cuts a long summary at MAX_SUMMARY_CHARS", () => {
    const parsed = parseReviewArguments(args({ summary: "x".repeat(MAX_SUMMARY_CHARS * 2) }));
    expect(typeof parsed === "object" && parsed.summary).toBe(`${"x".repeat(MAX_SUMMARY_CHARS - 1)}…`);
  });

  it.each([
    ['{"is_bug": false, ', "the tool arguments were not valid JSON"],
    ["[1, 2]", "the tool arguments were not a JSON object"],
    ["null", "the tool arguments were not a JSON object"],
    [JSON.stringify({ summary: "x" }), "is_bug was missing or not a boolean"],
    [args({ is_bug: "yes" }), "is_bug was missing or not a boolean"],
    [args({ summary: "   " }), "summary was missing or empty"],
    [args({ summary: 3 }), "summary was missing or empty"],
    [args({ metric: "high" }), "metric was neither a number nor null"],
    [args({ metric: true }), "metric was neither a number nor null"],
    [args({ lower_is_better: "maybe" }), "lower_is_better was neither a boolean nor null"],
    [JSON.stringify({ is_bug: 1, summary: "" }), "is_bug was missing or not a boolean"],
  ])("gives the reason for %s", (raw, reason) => {
    expect(parseReviewArguments(raw)).toBe(reason);
  });
});
