/**
 * A coder backed by any OpenAI-compatible chat-completions endpoint (OpenAI, Azure OpenAI, OpenRouter, Ollama,
 * vLLM, llama.cpp, the compatible endpoints of Anthropic and Google). What each model takes is its profile
 * (model-profile.ts), learnt from refusals; the requests themselves are chat-transport.ts. Transport retries
 * (429 and 5xx with backoff and Retry-After, connection failures) are the `openai` client's, bounded by
 * `maxRetries`; this class asks again when an answer is unusable (no code, cut off, no valid review).
 *
 * What ends a run and what ends a step: an answer that stays unusable, a request refused for this prompt, a
 * model that went silent on it, each fail the step only (a `StepFailure`, recorded as a buggy node); a refused
 * key, an unknown model, an endpoint unreachable after the retries end the run (a fatal `ModelError`). The
 * review never fails a step: when the review model cannot give a verdict, the run is judged from its output.
 */
import OpenAI from "openai";
import type { ChatCompletionMessageParam } from "openai/resources/chat/completions";
import { ModelError } from "../../errors.ts";
import type { Logger } from "../../logger.ts";
import { extractCode, extractPlan } from "../../search/extract.ts";
import { fitPrompt } from "../../search/prompt-budget.ts";
import { REVIEW_TOOL_NAME, renderMarkdown, reviewPrompt, type ReviewAnswerForm } from "../../search/prompts.ts";
import { StepFailure } from "../../search/step-failure.ts";
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
import { truncate } from "../../util/text.ts";
import { ChatTransport, providerTolerantFetch, ToolsUnavailable } from "./chat-transport.ts";
import { displayEndpoint } from "./errors.ts";
import { ModelProfiles, type ReasoningEffort } from "./model-profile.ts";
import { usageCost, type PriceTable } from "./pricing.ts";
import type { ModelReply, ReplyTokens } from "./reply.ts";
import { fallbackReview, jsonInContent, parseReviewArguments, REVIEW_TOOL } from "./review-answer.ts";

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
/** How much of an unusable answer is sent back to the model when asking again, and kept with a failed step. */
const ECHO_CHARS = 4000;

export interface OpenAICoderOptions {
  apiKey?: string;
  baseURL?: string;
  codeModel: string;
  reviewModel: string;
  /** Null or absent: not sent (the provider's default). Reasoning models never get one. */
  temperature?: number | null;
  /** Longest answer in tokens (sent as max_completion_tokens or max_tokens, as the model takes it); null: not sent. */
  maxOutputTokens?: number | null;
  /** For models that take it (o-series, gpt-5); null: the provider's default. */
  reasoningEffort?: ReasoningEffort | null;
  /** False: never send tools; the review asks for a JSON answer. Default true. */
  tools?: boolean;
  /** Stream answers where the model takes it (an idle timeout instead of one total timeout). Default true. */
  stream?: boolean;
  /** Transport retries per request, done by the `openai` client (429, 5xx, connection errors). */
  maxRetries: number;
  /** Longest one request may take in all. */
  timeoutMs: number;
  /** A streamed answer with no token for this long is abandoned. Default: a third of timeoutMs, at most 2 minutes. */
  idleTimeoutMs?: number;
  /** Prompts are trimmed to this many (estimated) tokens; null: no budget. */
  maxPromptTokens?: number | null;
  prices: PriceTable;
  logger: Logger;
  /** What is known of the models' parameters; shared by the coders of one process. Default: this coder's own. */
  profiles?: ModelProfiles;
}

const CODER_SYSTEM_MESSAGE =
  "You write complete, runnable Python machine-learning scripts. Follow the requested response format exactly: " +
  "a short plan in prose, then the whole script in one ```python code block.";

const REVIEW_SYSTEM_MESSAGE: Record<ReviewAnswerForm, string> = {
  tool: "You review runs of machine-learning scripts and report your verdict only through the tool you are given.",
  json: "You review runs of machine-learning scripts and answer with one JSON object only, exactly as instructed.",
};

const NO_CODE_NUDGE =
  "Your previous answer contained no Python code block, so nothing could be run. Answer again: a plan of a few " +
  "sentences, then the complete script in a single ```python fenced block.";

const CUT_OFF_NUDGE =
  "Your previous answer was cut off at the output limit before the script was complete, so nothing could be run. " +
  "Answer again, much more compactly: a plan of two or three sentences, then the complete script in a single " +
  "```python fenced block, without comments that are not needed and without long explanations.";

const NO_TOKENS: ReplyTokens = { promptTokens: 0, completionTokens: 0, reasoningTokens: 0, estimated: false };

function addTokens(a: ReplyTokens, b: ReplyTokens): ReplyTokens {
  return {
    promptTokens: a.promptTokens + b.promptTokens,
    completionTokens: a.completionTokens + b.completionTokens,
    reasoningTokens: a.reasoningTokens + b.reasoningTokens,
    estimated: a.estimated || b.estimated,
  };
}

function cut(text: string, max = ECHO_CHARS): string {
  return truncate(text, max, `\n[... cut: the answer had ${text.length} characters ...]`);
}

export class OpenAICoder implements Coder {
  readonly name: string;
  private readonly log: Logger;
  private readonly baseURL: string;
  private readonly transport: ChatTransport;

  constructor(private readonly options: OpenAICoderOptions) {
    this.name = `openai:${options.codeModel}`;
    this.baseURL = options.baseURL ?? DEFAULT_BASE_URL;
    this.log = options.logger.child({ component: "openai-coder", endpoint: displayEndpoint(this.baseURL) });
    this.transport = new ChatTransport({
      client: createClient(options, this.log),
      profiles: options.profiles ?? new ModelProfiles(),
      baseURL: this.baseURL,
      apiKey: options.apiKey,
      logger: this.log,
      temperature: options.temperature ?? null,
      maxOutputTokens: options.maxOutputTokens ?? null,
      reasoningEffort: options.reasoningEffort ?? null,
      tools: options.tools ?? true,
      stream: options.stream ?? true,
      idleTimeoutMs: options.idleTimeoutMs ?? Math.min(120_000, Math.max(1000, Math.floor(options.timeoutMs / 3))),
      timeoutMs: options.timeoutMs,
      maxRetries: options.maxRetries,
    });
  }

  async propose(action: Action, ctx: PromptContext, signal?: AbortSignal): Promise<Proposal> {
    const model = this.options.codeModel;
    const base: ChatCompletionMessageParam[] = [
      { role: "system", content: CODER_SYSTEM_MESSAGE },
      { role: "user", content: this.prompt(action, ctx) },
    ];
    let messages = base;
    let tokens = NO_TOKENS;
    let problem = "";
    let answer = "";
    for (let attempt = 1; attempt <= ANSWER_ATTEMPTS; attempt++) {
      const reply = await this.transport.send({ model, messages }, signal).catch((err: unknown) => {
        throw this.stepFailureOr(err, tokens, answer);
      });
      tokens = addTokens(tokens, reply.tokens);
      answer = reply.content;
      let nudge = NO_CODE_NUDGE;
      let echo = cut(reply.content);
      if (reply.finishReason === "length") {
        // A cut-off script is never run as if it were whole, even when its fence happens to look closed.
        problem = `the answer was cut off at the model's output limit after ${reply.tokens.completionTokens} tokens (finish_reason: length)`;
        nudge = CUT_OFF_NUDGE;
        echo = `(an answer of ${reply.content.length} characters, cut off at the output limit)`;
      } else {
        const code = extractCode(reply.content);
        if (code !== null && code.length <= MAX_SCRIPT_CHARS) {
          const plan = extractPlan(reply.content) || firstCommentLines(code) || `${action.kind} step ${ctx.step}`;
          this.log.debug({ action: action.kind, attempt, ...tokens }, "proposal received");
          return { plan, code, usage: this.usage(model, tokens) };
        }
        if (code !== null) {
          problem = `its script had ${code.length} characters, more than the ${MAX_SCRIPT_CHARS} allowed`;
          nudge = `Your previous script had ${code.length} characters; a script may have at most ${MAX_SCRIPT_CHARS}. Answer again with a complete, much shorter script in a single \`\`\`python fenced block.`;
          echo = cut(reply.content, 500);
        } else {
          problem = reply.empty
            ? "the answer was empty"
            : reply.content.trim()
              ? "the answer had no Python code block"
              : reply.reasoning
                ? "the answer held only the model's reasoning"
                : "the answer was empty";
        }
      }
      this.log.warn(
        { action: action.kind, attempt, finishReason: reply.finishReason, chars: reply.content.length, problem },
        "reply had no usable code; asking again",
      );
      messages = [...base, { role: "assistant", content: echo || "(empty answer)" }, { role: "user", content: nudge }];
    }
    throw new StepFailure(`the model gave no usable script in ${ANSWER_ATTEMPTS} answers (the last time ${problem})`, {
      answer: cut(answer),
      usage: this.usage(model, tokens),
    });
  }

  async review(input: ReviewInput, result: ExecutionResult, signal?: AbortSignal): Promise<Review> {
    const model = this.options.reviewModel;
    let form: ReviewAnswerForm = this.transport.profile(model).tools ? "tool" : "json";
    let tokens = NO_TOKENS;
    let reason = "no answer";
    for (let attempt = 1; attempt <= ANSWER_ATTEMPTS; attempt++) {
      const messages: ChatCompletionMessageParam[] = [
        { role: "system", content: REVIEW_SYSTEM_MESSAGE[form] },
        { role: "user", content: renderMarkdown(reviewPrompt(input, result, form)) },
      ];
      if (attempt > 1) {
        messages.push({
          role: "user",
          content:
            form === "tool"
              ? `Your previous answer could not be used (${reason}). Call the ${REVIEW_TOOL_NAME} tool once, with valid JSON arguments for all four fields.`
              : `Your previous answer could not be used (${reason}). Answer with the one JSON object only, with all four keys.`,
        });
      }
      let reply: ModelReply;
      try {
        reply = await this.transport.send(
          form === "tool"
            ? {
                model,
                messages,
                tools: [REVIEW_TOOL],
                toolChoice: { type: "function", function: { name: REVIEW_TOOL_NAME } },
              }
            : { model, messages, jsonObject: true },
          signal,
        );
      } catch (err) {
        if (err instanceof ToolsUnavailable) {
          // Learnt just now: this model takes no tools. Ask for the JSON answer instead, as a fresh attempt.
          form = "json";
          attempt--;
          continue;
        }
        if (err instanceof ModelError && !err.fatal) {
          reason = err.userMessage;
          break;
        }
        throw err;
      }
      tokens = addTokens(tokens, reply.tokens);
      const call = reply.toolCalls.find((c) => c.name === REVIEW_TOOL_NAME);
      const raw = call ? call.arguments : jsonInContent(reply.content);
      if (raw === null) {
        reason = form === "tool" ? `no ${REVIEW_TOOL_NAME} tool call` : "no JSON object in the answer";
        // A model that ignores tool_choice and writes no JSON either may still follow plain instructions.
        if (form === "tool" && attempt >= 2) form = "json";
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

  /** The prompt, within the prompt budget; what was trimmed to fit is logged. */
  private prompt(action: Action, ctx: PromptContext): string {
    const budget = this.options.maxPromptTokens ?? null;
    const fitted = fitPrompt(action, ctx, budget ?? Number.POSITIVE_INFINITY);
    if (fitted.trimmed.length > 0 || fitted.overBudget) {
      this.log.info(
        {
          action: action.kind,
          step: ctx.step,
          budget,
          estimatedTokens: fitted.estimatedTokens,
          trimmed: fitted.trimmed,
          overBudget: fitted.overBudget ?? false,
        },
        "prompt trimmed to its budget",
      );
    }
    return renderMarkdown(fitted.sections);
  }

  /** A step-local model error becomes the step's failure (with the tokens spent on it); a fatal one stands. */
  private stepFailureOr(err: unknown, tokens: ReplyTokens, answer: string): unknown {
    if (err instanceof ModelError && !err.fatal) {
      return new StepFailure(err.userMessage, {
        answer: cut(answer),
        usage: this.usage(this.options.codeModel, tokens),
        cause: err,
        requestFailed: true,
      });
    }
    return err;
  }

  private usage(model: string, tokens: ReplyTokens): TokenUsage {
    const counts = { promptTokens: tokens.promptTokens, completionTokens: tokens.completionTokens };
    const usage: TokenUsage = { ...counts, ...usageCost(model, counts, this.options.prices) };
    if (tokens.reasoningTokens > 0) usage.reasoningTokens = tokens.reasoningTokens;
    return usage;
  }
}

export function createClient(
  options: Pick<OpenAICoderOptions, "apiKey" | "baseURL" | "maxRetries" | "timeoutMs">,
  log: Logger,
): OpenAI {
  return new OpenAI({
    apiKey: options.apiKey || PLACEHOLDER_API_KEY,
    baseURL: options.baseURL ?? DEFAULT_BASE_URL,
    maxRetries: Math.max(0, Math.floor(options.maxRetries)),
    timeout: options.timeoutMs,
    fetch: providerTolerantFetch,
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
