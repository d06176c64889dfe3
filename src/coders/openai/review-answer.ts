/**
 * The review's answer: the tool it is asked to call, the same four fields as one JSON object for models that
 * take no tools, and the verdict read from either. When no usable verdict comes, the run is judged from its own
 * output (`fallbackReview`): a review never fails a step.
 */
import type { ChatCompletionTool } from "openai/resources/chat/completions";
import { z } from "zod";
import { REVIEW_TOOL_NAME } from "../../search/prompts.ts";
import type { Review, ReviewInput, TokenUsage } from "../../search/types.ts";
import { truncate } from "../../util/text.ts";

/** Longest review summary kept (the tool asks for two to four sentences). */
export const MAX_SUMMARY_CHARS = 4000;

/** "true" and "false" as the booleans they say (some models quote them); anything else as given. */
function lenientBoolean(v: unknown): unknown {
  return v === "true" ? true : v === "false" ? false : v;
}

/** An absent or empty value as null, a numeric string as its number, an infinite number as null. */
function lenientMetric(v: unknown): unknown {
  if (v === undefined || v === "") return null;
  const n = typeof v === "string" ? Number(v) : v;
  return typeof n === "number" && (n === Infinity || n === -Infinity) ? null : n;
}

/**
 * The review's verdict: one schema for what the model is asked for (the tool's parameters, derived below) and for
 * reading its answer. Reading is lenient where models are sloppy but the meaning is clear: booleans as "true" /
 * "false", the metric as a numeric string, a missing metric or direction as null, and a summary trimmed and cut to
 * MAX_SUMMARY_CHARS. Each field's error is the reason the model is told when its answer cannot be used.
 */
export const reviewVerdictSchema = z.object({
  is_bug: z
    .preprocess(lenientBoolean, z.boolean({ error: "is_bug was missing or not a boolean" }))
    .describe("True if the run failed or its result cannot be used."),
  summary: z
    .string({ error: "summary was missing or empty" })
    .trim()
    .min(1, { error: "summary was missing or empty" })
    .overwrite((s) => truncate(s, MAX_SUMMARY_CHARS))
    .describe("Two to four sentences on what the run did and found, or why it failed."),
  metric: z
    .preprocess(lenientMetric, z.number({ error: "metric was neither a number nor null" }).nullable())
    .describe("The validation metric shown in the output, or null if there is none."),
  lower_is_better: z
    .preprocess(
      (v) => (v === undefined ? null : lenientBoolean(v)),
      z.boolean({ error: "lower_is_better was neither a boolean nor null" }).nullable(),
    )
    .describe("True if smaller values of the metric are better, false if larger are, null if unknown."),
});

/** The tool's parameters as JSON Schema: all four fields required, nothing else allowed. */
function toolParameters(): Record<string, unknown> {
  const { $schema: _dialect, ...parameters } = z.toJSONSchema(reviewVerdictSchema);
  return parameters;
}

export const REVIEW_TOOL: ChatCompletionTool = {
  type: "function",
  function: {
    name: REVIEW_TOOL_NAME,
    description: "Submit the verdict on one run of a training script.",
    parameters: toolParameters(),
  },
};

interface ParsedReview {
  isBug: boolean;
  summary: string;
  metric: number | null;
  lowerIsBetter: boolean | null;
}

/** Validates the tool arguments; returns a reason string when they are unusable. */
export function parseReviewArguments(raw: string): ParsedReview | string {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return "the tool arguments were not valid JSON";
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    return "the tool arguments were not a JSON object";
  const parsed = reviewVerdictSchema.safeParse(value);
  if (!parsed.success) return parsed.error.issues[0]!.message;
  const v = parsed.data;
  return { isBug: v.is_bug, summary: v.summary, metric: v.metric, lowerIsBetter: v.lower_is_better };
}

/**
 * The verdict in an answer's text: models that take no tools answer with the JSON object (sometimes in a code
 * fence or after a sentence), and some servers ignore `tool_choice` and do the same.
 */
export function jsonInContent(content: string | null | undefined): string | null {
  if (!content) return null;
  const start = content.indexOf("{");
  const end = content.lastIndexOf("}");
  if (start < 0 || end <= start) return null;
  const candidate = content.slice(start, end + 1);
  return /"is_bug"/.test(candidate) ? candidate : null;
}

/** A review judged from the run alone, used when the review model keeps failing. */
export function fallbackReview(input: ReviewInput, reason: string, usage: TokenUsage): Review {
  const isBug = input.problems.length > 0 || input.parsedMetric === null;
  const finding =
    input.problems.length > 0
      ? `Problems found: ${input.problems.join("; ")}.`
      : input.parsedMetric
        ? `The script reported ${input.parsedMetric.name} = ${input.parsedMetric.value}.`
        : "The script reported no validation metric.";
  return {
    isBug,
    summary: `The review model failed to give a usable review (${reason}); judged from the run alone. ${finding}`,
    metric: input.parsedMetric?.value ?? null,
    lowerIsBetter: input.parsedMetric?.lowerIsBetter ?? null,
    usage,
  };
}
