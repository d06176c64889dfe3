/**
 * One chat request as the model takes it: the parameters come from the model's profile, a refusal that names a
 * parameter or feature teaches the profile and the request goes again, and the answer is read the same way
 * whether it came whole or streamed. A streamed answer has an idle timeout (no token for that long) beside the
 * total one, so a slow local model that is still writing is not cut off; one that went silent is.
 */
import type OpenAI from "openai";
import { APIError } from "openai";
import type {
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionCreateParamsStreaming,
  ChatCompletionMessageParam,
  ChatCompletionTool,
  ChatCompletionToolChoiceOption,
} from "openai/resources/chat/completions";
import { ModelError } from "../../errors.ts";
import type { Logger } from "../../logger.ts";
import { displayEndpoint, isAbort, redact, toModelError, type ErrorContext } from "./errors.ts";
import type { ModelProfile, ModelProfiles, ReasoningEffort, Refusal } from "./model-profile.ts";
import { readReply, type ModelReply, type RawAnswer } from "./reply.ts";

/**
 * A completion or stream chunk as servers send it: every field may be missing or of another type (proxies and
 * local servers differ), so each is checked where it is read.
 */
interface WireMessage {
  content?: unknown;
  reasoning_content?: unknown;
  reasoning?: unknown;
  tool_calls?: unknown;
}
interface WireToolCall {
  index?: unknown;
  type?: unknown;
  function?: { name?: unknown; arguments?: unknown } | null;
}
interface WireChoice {
  message?: WireMessage | null;
  delta?: WireMessage | null;
  finish_reason?: string | null;
}
interface WireCompletion {
  choices?: WireChoice[];
  usage?: RawAnswer["usage"];
}

export interface ChatIntent {
  model: string;
  messages: ChatCompletionMessageParam[];
  tools?: ChatCompletionTool[];
  toolChoice?: ChatCompletionToolChoiceOption;
  /** Ask for `response_format: json_object` where the model takes it. */
  jsonObject?: boolean;
}

export interface ChatTransportOptions {
  client: OpenAI;
  profiles: ModelProfiles;
  baseURL: string;
  apiKey: string | undefined;
  logger: Logger;
  /** Null: never sent (the provider's default). Reasoning models never get one. */
  temperature: number | null;
  /** Longest answer, in tokens; null: not sent. */
  maxOutputTokens: number | null;
  /** Sent to models that take it; null: not sent. */
  reasoningEffort: ReasoningEffort | null;
  /** `openai.tools`: false never sends tools (the review asks for JSON). */
  tools: boolean;
  /** `openai.stream`: stream answers where the model takes it. */
  stream: boolean;
  /** A streamed answer that brings no token for this long is abandoned. */
  idleTimeoutMs: number;
  /** Longest a whole request may take. */
  timeoutMs: number;
  maxRetries: number;
}

/** The request needs tools, and the model takes none: the caller asks another way. */
export class ToolsUnavailable extends Error {
  constructor(readonly model: string) {
    super(`model ${model} takes no tools`);
  }
}

class StreamIdle extends Error {}
class StreamTooLong extends Error {}

/** Most profile changes one request may go through before its error stands (each parameter changes once). */
const MAX_LEARNING_ROUNDS = 8;

export class ChatTransport {
  private readonly endpoint: string;

  constructor(private readonly options: ChatTransportOptions) {
    this.endpoint = displayEndpoint(options.baseURL);
  }

  profile(model: string): ModelProfile {
    return this.options.profiles.get(this.options.baseURL, model, {
      tools: this.options.tools,
      stream: this.options.stream,
    });
  }

  errorContext(model: string): ErrorContext {
    const o = this.options;
    return { baseURL: o.baseURL, model, apiKey: o.apiKey, maxRetries: o.maxRetries, timeoutMs: o.timeoutMs };
  }

  /** The parameters this model's profile says to send for the intent. */
  params(profile: ModelProfile, intent: ChatIntent): Record<string, unknown> {
    const o = this.options;
    const p: Record<string, unknown> = { model: intent.model, messages: intent.messages };
    if (profile.temperature && o.temperature !== null) p.temperature = o.temperature;
    if (o.maxOutputTokens !== null && profile.tokenLimitParam) p[profile.tokenLimitParam] = o.maxOutputTokens;
    if (profile.reasoningEffort && o.reasoningEffort) p.reasoning_effort = o.reasoningEffort;
    if (intent.tools) {
      p.tools = intent.tools;
      if (intent.toolChoice) p.tool_choice = intent.toolChoice;
    }
    if (intent.jsonObject && profile.jsonMode) p.response_format = { type: "json_object" };
    if (profile.stream) {
      p.stream = true;
      if (profile.streamUsage) p.stream_options = { include_usage: true };
    }
    return p;
  }

  /**
   * Sends the request, learning from refusals, and reads the answer. Throws `ToolsUnavailable` when the intent
   * needs tools the model does not take, a `ModelError` (fatal or not) otherwise, and the abort reason when the
   * caller aborts.
   */
  async send(intent: ChatIntent, signal?: AbortSignal): Promise<ModelReply> {
    const log = this.options.logger;
    const profile = this.profile(intent.model);
    for (let round = 0; ; round++) {
      if (intent.tools && !profile.tools) throw new ToolsUnavailable(intent.model);
      const params = this.params(profile, intent);
      try {
        const raw = params.stream === true ? await this.streamed(params, signal) : await this.whole(params, signal);
        return readReply(raw, intent.messages);
      } catch (err) {
        if (isAbort(err, signal) && !(err instanceof StreamIdle || err instanceof StreamTooLong))
          throw signal?.reason ?? err;
        if (err instanceof ModelError) throw err;
        if (err instanceof StreamIdle) {
          throw new ModelError(
            `Model "${intent.model}" at ${this.endpoint} stopped writing: no token for ${Math.round(this.options.idleTimeoutMs / 1000)} s (openai.idleTimeoutSec).`,
            { fatal: false },
          );
        }
        if (err instanceof StreamTooLong) {
          throw new ModelError(
            `Model "${intent.model}" at ${this.endpoint} was still writing after ${Math.round(this.options.timeoutMs / 1000)} s (openai.timeoutSec).`,
            { fatal: false },
          );
        }
        const refusal = refusalOf(err);
        if (refusal && round < MAX_LEARNING_ROUNDS && this.options.profiles.learn(profile, refusal, params, log))
          continue;
        if (err instanceof APIError && err.constructor === APIError && err.status === undefined) {
          // An error event in the middle of a stream: this answer is lost, the endpoint is not.
          throw new ModelError(
            `Model "${intent.model}" at ${this.endpoint} broke off its answer: ${redact(err.message, this.options.apiKey).slice(0, 160)}`,
            { fatal: false },
          );
        }
        throw toModelError(err, this.errorContext(intent.model));
      }
    }
  }

  private async whole(params: Record<string, unknown>, signal?: AbortSignal): Promise<RawAnswer> {
    const completion: unknown = await this.options.client.chat.completions.create(
      { ...params, stream: false } as unknown as ChatCompletionCreateParamsNonStreaming,
      { signal, timeout: this.options.timeoutMs },
    );
    return this.readCompletion(completion);
  }

  /** A whole chat completion, checked: a proxy's error page or another API answers 200 with something else. */
  private readCompletion(completion: unknown): RawAnswer {
    const choices = (completion as { choices?: unknown } | null)?.choices;
    if (!completion || typeof completion !== "object" || !Array.isArray(choices)) {
      const seen = redact(
        (typeof completion === "string" ? completion : (JSON.stringify(completion) ?? String(completion)))
          .replace(/\s+/g, " ")
          .slice(0, 200),
        this.options.apiKey,
      );
      throw new ModelError(
        `The model endpoint at ${this.endpoint} answered with something that is not a chat completion; check the base URL.`,
        { detail: seen },
      );
    }
    const c = completion as WireCompletion & { choices: WireChoice[] };
    const choice = c.choices[0];
    const message: WireMessage = choice?.message ?? {};
    return {
      empty: c.choices.length === 0,
      content: message.content,
      reasoning: stringOr(message.reasoning_content) + stringOr(message.reasoning),
      toolCalls: Array.isArray(message.tool_calls)
        ? (message.tool_calls as Array<WireToolCall | null>)
            .filter((t): t is WireToolCall => !!t && t.type !== "custom")
            .map((t) => ({ name: String(t.function?.name ?? ""), arguments: stringOr(t.function?.arguments) }))
        : [],
      finishReason: choice?.finish_reason ?? null,
      usage: c.usage ?? null,
    };
  }

  private async streamed(params: Record<string, unknown>, signal?: AbortSignal): Promise<RawAnswer> {
    const { idleTimeoutMs, timeoutMs } = this.options;
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    let idle: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(idle);
      idle = setTimeout(() => controller.abort(new StreamIdle()), idleTimeoutMs);
    };
    const total = setTimeout(() => controller.abort(new StreamTooLong()), timeoutMs);
    const answer: RawAnswer = {
      empty: true,
      content: "",
      reasoning: "",
      toolCalls: [],
      finishReason: null,
      usage: null,
    };
    try {
      arm();
      const { data: stream, response } = await this.options.client.chat.completions
        .create({ ...params, stream: true } as unknown as ChatCompletionCreateParamsStreaming, {
          signal: controller.signal,
          timeout: timeoutMs,
        })
        .withResponse();
      const type = response.headers.get("content-type") ?? "";
      if (!type.includes("text/event-stream")) {
        // Not a stream: a server that ignores `stream` and answers whole, or a proxy's page answering 200.
        const text = await response.text();
        let whole: unknown = text;
        try {
          whole = JSON.parse(text);
        } catch {
          // not JSON: reported as what it is
        }
        return this.readCompletion(whole);
      }
      for await (const chunk of stream as unknown as AsyncIterable<WireCompletion | null>) {
        arm();
        if (chunk?.usage) answer.usage = chunk.usage;
        const choice = Array.isArray(chunk?.choices) ? chunk.choices[0] : undefined;
        if (!choice) continue;
        answer.empty = false;
        const delta: WireMessage = choice.delta ?? {};
        if (typeof delta.content === "string") answer.content += delta.content;
        answer.reasoning += stringOr(delta.reasoning_content) + stringOr(delta.reasoning);
        const calls: Array<WireToolCall | null> = Array.isArray(delta.tool_calls) ? delta.tool_calls : [];
        for (const call of calls) {
          const at = typeof call?.index === "number" ? call.index : 0;
          answer.toolCalls[at] ??= { name: "", arguments: "" };
          const slot = answer.toolCalls[at];
          if (call?.function?.name) slot.name = String(call.function.name);
          slot.arguments += stringOr(call?.function?.arguments);
        }
        if (choice.finish_reason) answer.finishReason = choice.finish_reason;
      }
      // The client ends the iteration quietly when the request is aborted: a stream that stalled or ran too
      // long is not a whole answer.
      const reason = controller.signal.reason;
      if (reason instanceof StreamIdle || reason instanceof StreamTooLong) throw reason;
      if (signal?.aborted) throw signal.reason ?? new Error("aborted");
      answer.toolCalls = answer.toolCalls.filter(Boolean);
      return answer;
    } catch (err) {
      const reason = controller.signal.reason;
      if (reason instanceof StreamIdle || reason instanceof StreamTooLong) throw reason;
      throw err;
    } finally {
      clearTimeout(idle);
      clearTimeout(total);
      signal?.removeEventListener("abort", onAbort);
    }
  }
}

function stringOr(v: unknown): string {
  return typeof v === "string" ? v : "";
}

/** What an HTTP error says was refused: its status, message, and the parameter or code it names. */
export function refusalOf(err: unknown): Refusal | null {
  if (!(err instanceof APIError) || typeof err.status !== "number") return null;
  const body = (
    Array.isArray(err.error) ? ((err.error[0] as { error?: unknown } | undefined)?.error ?? err.error[0]) : err.error
  ) as Record<string, unknown> | string | undefined;
  const inner = body && typeof body === "object" ? body : {};
  const message = typeof inner.message === "string" ? inner.message : typeof body === "string" ? body : err.message;
  return {
    status: err.status,
    message,
    param: typeof inner.param === "string" ? inner.param : null,
    code: typeof inner.code === "string" ? inner.code : null,
  };
}

/**
 * A fetch for the `openai` client that reads error bodies the way their servers meant them. The client looks
 * for `{"error": {...}}`; Google's OpenAI-compatible endpoint wraps that in a one-element array, and vLLM sends
 * the error object bare (`{"object": "error", "message": ...}`). Both would reach us as "400 status code (no
 * body)", and what the server refused would be lost.
 */
export const providerTolerantFetch: typeof fetch = async (input, init) => {
  const response = await fetch(input, init);
  if (response.ok || !(response.headers.get("content-type") ?? "").includes("json")) return response;
  const text = await response.text();
  let body = text;
  try {
    let parsed: unknown = JSON.parse(text);
    if (Array.isArray(parsed) && parsed.length > 0 && typeof parsed[0] === "object") parsed = parsed[0];
    if (
      parsed &&
      typeof parsed === "object" &&
      !("error" in parsed) &&
      typeof (parsed as { message?: unknown }).message === "string"
    )
      parsed = { error: parsed };
    body = JSON.stringify(parsed);
  } catch {
    // not JSON after all: passed on as it came
  }
  const headers = new Headers(response.headers);
  headers.delete("content-length");
  headers.delete("content-encoding");
  return new Response(body, { status: response.status, statusText: response.statusText, headers });
};
