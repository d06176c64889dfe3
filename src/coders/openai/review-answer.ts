/**
 * The review's answer: the tool it is asked to call, the same four fields as one JSON object for models that
 * take no tools, and the verdict read from either. When no usable verdict comes, the run is judged from its own
 * output (`fallbackReview`): a review never fails a step.
 */
import type { ChatCompletionTool } from "openai/resources/chat/completions";
import { REVIEW_TOOL_NAME } from "../../search/prompts.ts";
import type { Review, ReviewInput, TokenUsage } from "../../search/types.ts";

/** Longest review summary kept (the tool asks for two to four sentences). */
export const MAX_SUMMARY_CHARS = 4000;

export const REVIEW_TOOL: ChatCompletionTool = {
  type: "function",
  function: {
    name: REVIEW_TOOL_NAME,
    description: "Submit the verdict on one run of a training script.",
    parameters: {
      type: "object",
      properties: {
        is_bug: {
          type: "boolean",
          description: "True if the run failed or its result cannot be used.",
        },
        summary: {
          type: "string",
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
    },
  },
};

interface ParsedReview {
  isBug: boolean;
  summary: string;
  metric: number | null;
  lowerIsBetter: boolean | null;
}

function asBoolean(v: unknown): boolean | undefined {
  if (typeof v === "boolean") return v;
  if (v === "true") return true;
  if (v === "false") return false;
  return undefined;
}

/** Validates the tool arguments; returns a reason string when they are unusable. */
export function parseReviewArguments(raw: string): ParsedReview | string {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return "the tool arguments were not valid JSON";
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "the tool arguments were not a JSON object";
  const rec = value as Record<string, unknown>;
  const isBug = asBoolean(rec.is_bug);
  if (isBug === undefined) return "is_bug was missing or not a boolean";
  if (typeof rec.summary !== "string" || !rec.summary.trim()) return "summary was missing or empty";
  let metric: number | null = null;
  if (rec.metric !== null && rec.metric !== undefined && rec.metric !== "") {
    const n = typeof rec.metric === "string" ? Number(rec.metric) : rec.metric;
    if (typeof n !== "number" || Number.isNaN(n)) return "metric was neither a number nor null";
    metric = Number.isFinite(n) ? n : null;
  }
  const lib = rec.lower_is_better === null || rec.lower_is_better === undefined ? null : asBoolean(rec.lower_is_better);
  if (lib === undefined) return "lower_is_better was neither a boolean nor null";
  const summary = rec.summary.trim();
  return { isBug, summary: summary.length > MAX_SUMMARY_CHARS ? `${summary.slice(0, MAX_SUMMARY_CHARS - 1)}…` : summary, metric, lowerIsBetter: lib };
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

