/**
 * A coder backed by any OpenAI-compatible chat-completions endpoint (OpenAI, Azure-compatible base URLs,
 * Ollama, vLLM, llama.cpp...). Transport retries (429 and 5xx with backoff and Retry-After, connection
 * failures) are left to the `openai` client, bounded by `maxRetries`; this class adds its own bounded
 * retries for answers that are unusable (no code block, no valid review tool call).
 */
import OpenAI from "openai";
import type {
  ChatCompletion,
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionMessageParam,
  ChatCompletionTool,
} from "openai/resources/chat/completions";
import { ModelError } from "../../errors.ts";
import type { Logger } from "../../logger.ts";
import { extractCode, extractPlan } from "../../search/extract.ts";
import { REVIEW_TOOL_NAME, renderMarkdown, promptFor, reviewPrompt } from "../../search/prompts.ts";
import type {
  Action,
  Coder,
  ExecutionResult,
  PromptContext,
  Proposal,
  Review,
  ReviewInput,
  TokenUsage,
} from "../../search/types.ts";
import { displayEndpoint, isAbort, redact, toModelError, type ErrorContext } from "./errors.ts";
import { usageCost, type PriceTable } from "./pricing.ts";

export const DEFAULT_BASE_URL = "https://api.openai.com/v1";
/** Sent as the key when none is configured (local endpoints ignore it; the client refuses an empty one). */
export const PLACEHOLDER_API_KEY = "no-key-configured";
/** Requests per propose/review call when the answer is unusable (transport retries come on top, per request). */
export const ANSWER_ATTEMPTS = 3;
/**
 * Longest script accepted from a model. Real scripts are a few kilobytes; a code block past this is a broken or
 * hostile answer, and would bloat the journal, the events and every later prompt.
 */
export const MAX_SCRIPT_CHARS = 200_000;
/** Longest review summary kept (the tool asks for two to four sentences). */
export const MAX_SUMMARY_CHARS = 4000;
/** How much of an unusable answer is sent back to the model when asking again. */
const ECHO_CHARS = 4000;

export interface OpenAICoderOptions {
  apiKey?: string;
  baseURL?: string;
  codeModel: string;
  reviewModel: string;
  temperature?: number;
  /** Transport retries per request, done by the `openai` client (429, 5xx, connection errors). */
  maxRetries: number;
  /** Per-request timeout. */
  timeoutMs: number;
  prices: PriceTable;
  logger: Logger;
}

const CODER_SYSTEM_MESSAGE =
  "You write complete, runnable Python machine-learning scripts. Follow the requested response format exactly: " +
  "a short plan in prose, then the whole script in one ```python code block.";

const REVIEW_SYSTEM_MESSAGE =
  "You review runs of machine-learning scripts and report your verdict only through the tool you are given.";

const NO_CODE_NUDGE =
  "Your previous answer contained no Python code block, so nothing could be run. Answer again: a plan of a few " +
  "sentences, then the complete script in a single ```python fenced block.";

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

/** The text of an assistant message, whatever a compatible server sent: a string, text parts, or nothing usable. */
function messageText(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content.map((p) => (p && typeof p === "object" && typeof (p as { text?: unknown }).text === "string" ? (p as { text: string }).text : "")).join("");
  }
  return "";
}

/** Some local servers ignore `tool_choice` and answer with the JSON in the content instead. */
function jsonInContent(content: string | null | undefined): string | null {
  if (!content) return null;
  const start = content.indexOf("{");
  const end = content.lastIndexOf("}");
  if (start < 0 || end <= start) return null;
  const candidate = content.slice(start, end + 1);
  return /"is_bug"/.test(candidate) ? candidate : null;
}

export class OpenAICoder implements Coder {
  readonly name: string;
  private readonly client: OpenAI;
  private readonly log: Logger;
  private readonly baseURL: string;

  constructor(private readonly options: OpenAICoderOptions) {
    this.name = `openai:${options.codeModel}`;
    this.baseURL = options.baseURL ?? DEFAULT_BASE_URL;
    this.log = options.logger.child({ component: "openai-coder", endpoint: displayEndpoint(this.baseURL) });
    this.client = createClient(options, this.log);
  }

  async propose(action: Action, ctx: PromptContext, signal?: AbortSignal): Promise<Proposal> {
    const model = this.options.codeModel;
    const prompt = renderMarkdown(promptFor(action, ctx));
    const base: ChatCompletionMessageParam[] = [
      { role: "system", content: CODER_SYSTEM_MESSAGE },
      { role: "user", content: prompt },
    ];
    let messages = base;
    let tokens = { promptTokens: 0, completionTokens: 0 };
    let problem = "";
    for (let attempt = 1; attempt <= ANSWER_ATTEMPTS; attempt++) {
      const completion = await this.chat(model, { messages, ...this.temperature() }, signal);
      tokens = addTokens(tokens, completion);
      const content = messageText(completion.choices[0]?.message?.content);
      const code = extractCode(content);
      let nudge = NO_CODE_NUDGE;
      if (code !== null && code.length <= MAX_SCRIPT_CHARS) {
        const plan = extractPlan(content) || firstCommentLines(code) || `${action.kind} step ${ctx.step}`;
        this.log.debug({ action: action.kind, attempt, ...tokens }, "proposal received");
        return { plan, code, usage: this.usage(model, tokens) };
      }
      if (code !== null) {
        problem = `its script had ${code.length} characters, more than the ${MAX_SCRIPT_CHARS} allowed`;
        nudge = `Your previous script had ${code.length} characters; a script may have at most ${MAX_SCRIPT_CHARS}. Answer again with a complete, much shorter script in a single \`\`\`python fenced block.`;
      } else {
        problem = completion.choices.length === 0 ? "the answer was empty" : "the answer had no Python code block";
      }
      this.log.warn(
        { action: action.kind, attempt, finishReason: completion.choices[0]?.finish_reason, chars: content.length, problem },
        "reply had no usable code; asking again",
      );
      const echo = content.length > ECHO_CHARS ? `${content.slice(0, ECHO_CHARS)}\n[... ${content.length - ECHO_CHARS} more characters cut ...]` : content;
      messages = [...base, { role: "assistant", content: echo || "(empty answer)" }, { role: "user", content: nudge }];
    }
    throw new ModelError(
      `Model "${model}" at ${displayEndpoint(this.baseURL)} gave no usable Python code in ${ANSWER_ATTEMPTS} answers (the last time ${problem}).`,
      { detail: `${tokens.promptTokens + tokens.completionTokens} tokens spent` },
    );
  }

  async review(input: ReviewInput, result: ExecutionResult, signal?: AbortSignal): Promise<Review> {
    const model = this.options.reviewModel;
    const prompt = renderMarkdown(reviewPrompt(input, result));
    let tokens = { promptTokens: 0, completionTokens: 0 };
    let reason = "no answer";
    for (let attempt = 1; attempt <= ANSWER_ATTEMPTS; attempt++) {
      const messages: ChatCompletionMessageParam[] = [
        { role: "system", content: REVIEW_SYSTEM_MESSAGE },
        { role: "user", content: prompt },
      ];
      if (attempt > 1) {
        messages.push({
          role: "user",
          content: `Your previous answer could not be used (${reason}). Call the ${REVIEW_TOOL_NAME} tool once, with valid JSON arguments for all four fields.`,
        });
      }
      const completion = await this.chat(
        model,
        {
          messages,
          tools: [REVIEW_TOOL],
          tool_choice: { type: "function", function: { name: REVIEW_TOOL_NAME } },
          ...this.temperature(),
        },
        signal,
      );
      tokens = addTokens(tokens, completion);
      const message = completion.choices[0]?.message;
      const call = message?.tool_calls?.find((c) => c.type === "function" && c.function.name === REVIEW_TOOL_NAME);
      const raw = call && call.type === "function" ? call.function.arguments : jsonInContent(messageText(message?.content));
      if (raw === null || raw === undefined) {
        reason = `no ${REVIEW_TOOL_NAME} tool call`;
      } else {
        const parsed = parseReviewArguments(raw);
        if (typeof parsed !== "string") return { ...parsed, usage: this.usage(model, tokens) };
        reason = parsed;
      }
      this.log.warn({ attempt, reason }, "review answer unusable; asking again");
    }
    this.log.warn({ reason }, "review model failed; falling back to a review derived from the run");
    return fallbackReview(input, reason, this.usage(model, tokens));
  }

  /** Fails fast, with one line, when the endpoint or the models cannot be used. */
  async checkEndpoint(signal?: AbortSignal): Promise<void> {
    const models = [...new Set([this.options.codeModel, this.options.reviewModel])];
    await probeModels(this.client, models, this.errorContext(models[0]!), signal);
  }

  private temperature(): { temperature?: number } {
    return this.options.temperature === undefined ? {} : { temperature: this.options.temperature };
  }

  private usage(model: string, tokens: { promptTokens: number; completionTokens: number }): TokenUsage {
    return { ...tokens, ...usageCost(model, tokens, this.options.prices) };
  }

  private errorContext(model: string): ErrorContext {
    return {
      baseURL: this.baseURL,
      model,
      apiKey: this.options.apiKey,
      maxRetries: this.options.maxRetries,
      timeoutMs: this.options.timeoutMs,
    };
  }

  private async chat(
    model: string,
    params: Omit<ChatCompletionCreateParamsNonStreaming, "model">,
    signal?: AbortSignal,
  ): Promise<ChatCompletion> {
    let completion: unknown;
    try {
      completion = await this.client.chat.completions.create({ ...params, model, stream: false }, { signal });
    } catch (err) {
      if (isAbort(err, signal)) throw err;
      const modelError = toModelError(err, this.errorContext(model));
      this.log.error({ model, detail: modelError.message }, "model request failed");
      throw modelError;
    }
    // A proxy's error page or a server speaking another API answers 200 with something else entirely.
    if (!completion || typeof completion !== "object" || !Array.isArray((completion as { choices?: unknown }).choices)) {
      const seen = redact((typeof completion === "string" ? completion : JSON.stringify(completion) ?? String(completion)).replace(/\s+/g, " ").slice(0, 200), this.options.apiKey);
      const modelError = new ModelError(`The model endpoint at ${displayEndpoint(this.baseURL)} answered with something that is not a chat completion; check the base URL.`, { detail: seen });
      this.log.error({ model, detail: modelError.message }, "model answer unusable");
      throw modelError;
    }
    return completion as ChatCompletion;
  }
}

function createClient(options: Pick<OpenAICoderOptions, "apiKey" | "baseURL" | "maxRetries" | "timeoutMs">, log: Logger): OpenAI {
  return new OpenAI({
    apiKey: options.apiKey || PLACEHOLDER_API_KEY,
    baseURL: options.baseURL ?? DEFAULT_BASE_URL,
    maxRetries: Math.max(0, Math.floor(options.maxRetries)),
    timeout: options.timeoutMs,
    // The client's own log lines (retries, failures) go to our logger; its details already hide auth headers.
    logLevel: "info",
    logger: {
      error: (msg: string, ...rest: unknown[]) => log.warn({ openai: rest }, msg),
      warn: (msg: string, ...rest: unknown[]) => log.warn({ openai: rest }, msg),
      info: (msg: string, ...rest: unknown[]) => log.debug({ openai: rest }, msg),
      debug: (msg: string, ...rest: unknown[]) => log.trace({ openai: rest }, msg),
    },
  });
}

function addTokens(sum: { promptTokens: number; completionTokens: number }, completion: ChatCompletion) {
  return {
    promptTokens: sum.promptTokens + (completion.usage?.prompt_tokens ?? 0),
    completionTokens: sum.completionTokens + (completion.usage?.completion_tokens ?? 0),
  };
}

/** The leading `#` comment lines of a script, as a plan of last resort. */
function firstCommentLines(code: string): string {
  const lines: string[] = [];
  for (const line of code.split("\n")) {
    const t = line.trim();
    if (t.startsWith("#!")) continue;
    if (!t.startsWith("#")) break;
    lines.push(t.replace(/^#+\s*/, ""));
  }
  return lines.join(" ").trim();
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

export interface CheckEndpointOptions {
  apiKey?: string;
  baseURL?: string;
  /** Models that must be usable. */
  models: string[];
  /** Per-request timeout; default 15 s. */
  timeoutMs?: number;
  /** Transport retries per request; default 1. */
  maxRetries?: number;
  logger: Logger;
  signal?: AbortSignal;
}

/**
 * Checks that the endpoint answers and the models exist: lists the models, and for any model missing from
 * the list (or when the server has no model list) asks it for a one-token completion. Throws a `ModelError`
 * with one clear line otherwise.
 */
export async function checkEndpoint(options: CheckEndpointOptions): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const maxRetries = options.maxRetries ?? 1;
  const client = createClient({ apiKey: options.apiKey, baseURL: options.baseURL, maxRetries, timeoutMs }, options.logger);
  const ctx = { baseURL: options.baseURL ?? DEFAULT_BASE_URL, model: options.models[0] ?? "", apiKey: options.apiKey, maxRetries, timeoutMs };
  await probeModels(client, options.models, ctx, options.signal);
}

async function probeModels(client: OpenAI, models: string[], ctx: ErrorContext, signal?: AbortSignal): Promise<void> {
  let listed: Set<string> | null = null;
  try {
    const page = await client.models.list({ signal });
    listed = new Set(page.data.map((m) => m.id));
  } catch (err) {
    if (isAbort(err, signal)) throw err;
    const status = (err as { status?: unknown }).status;
    // Some compatible servers have no /models route; the completion below will tell.
    if (status !== 404 && status !== 405) throw toModelError(err, ctx);
  }
  for (const model of models) {
    if (listed?.has(model)) continue;
    try {
      await client.chat.completions.create(
        { model, messages: [{ role: "user", content: "Reply with OK." }], max_completion_tokens: 1, stream: false },
        { signal },
      );
    } catch (err) {
      if (isAbort(err, signal)) throw err;
      // A 400 means the model exists but disliked the probe's parameters (e.g. a token floor); that is fine here.
      if ((err as { status?: unknown }).status === 400) continue;
      throw toModelError(err, { ...ctx, model });
    }
  }
}
