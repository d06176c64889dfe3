/**
 * What a model takes: a capability profile per model, first from its known family, then from what the provider
 * itself refused. Reasoning models (OpenAI's o-series and the gpt-5 family) take no temperature but the default,
 * want `max_completion_tokens` instead of `max_tokens` and take `reasoning_effort`; many local servers refuse
 * `tools`, `response_format` or streaming options. A refusal that names a parameter or a feature changes the
 * profile once (the request is then sent again), and the profile is kept for the model's later requests.
 */
import type { Logger } from "../../logger.ts";

export type ReasoningEffort = "minimal" | "low" | "medium" | "high";

/** How the limit on the answer's length is sent, or not at all. */
export type TokenLimitParam = "max_completion_tokens" | "max_tokens" | null;

export interface ModelProfile {
  readonly model: string;
  /** "reasoning" for the known reasoning families, "chat" for other known ones, "unknown" otherwise. */
  readonly family: "reasoning" | "chat" | "unknown";
  /** False once the model refused a temperature (or is a reasoning model): the request leaves it out. */
  temperature: boolean;
  tokenLimitParam: TokenLimitParam;
  reasoningEffort: boolean;
  /** Function tools (the review's tool call). */
  tools: boolean;
  /** `response_format: { type: "json_object" }`. */
  jsonMode: boolean;
  /** Streaming answers (`stream: true`). */
  stream: boolean;
  /** `stream_options: { include_usage: true }`, for token counts in a streamed answer. */
  streamUsage: boolean;
  /** What was learnt from the provider, in words, oldest first. */
  readonly learnt: string[];
}

/** The name without a provider prefix (`openai/o3` on OpenRouter, `azure/gpt-5` in LiteLLM) and in lower case. */
export function bareModelName(model: string): string {
  return model
    .slice(model.lastIndexOf("/") + 1)
    .trim()
    .toLowerCase();
}

/** OpenAI's reasoning models: o1, o3, o4-mini and their variants, and the gpt-5 family except its chat variants. */
export function isReasoningModel(model: string): boolean {
  const name = bareModelName(model);
  if (/^o[134](-|$)/.test(name)) return true;
  return /^gpt-5(\.\d+)?(-|$)/.test(name) && !/-chat(-|$)/.test(name);
}

/** Models known to take OpenAI's ordinary chat parameters (`max_completion_tokens` among them). */
function isKnownChatModel(model: string): boolean {
  const name = bareModelName(model);
  return /^(gpt-4|gpt-3\.5|gpt-5(\.\d+)?-chat|chatgpt-)/.test(name);
}

export function initialProfile(model: string, options: { tools: boolean; stream: boolean }): ModelProfile {
  const reasoning = isReasoningModel(model);
  const chat = !reasoning && isKnownChatModel(model);
  return {
    model,
    family: reasoning ? "reasoning" : chat ? "chat" : "unknown",
    temperature: !reasoning,
    // OpenAI's own models all take max_completion_tokens; other servers know max_tokens far more often.
    tokenLimitParam: reasoning || chat ? "max_completion_tokens" : "max_tokens",
    reasoningEffort: reasoning,
    tools: options.tools,
    jsonMode: true,
    stream: options.stream,
    streamUsage: true,
    learnt: [],
  };
}

/** The parts of an HTTP error that tell what was refused. */
export interface Refusal {
  status: number;
  message: string;
  param: string | null;
  code: string | null;
}

type Change = { apply: (p: ModelProfile) => void; note: string; already: (p: ModelProfile) => boolean };

/**
 * What a refusal teaches about the model, or null when it names nothing that can be changed. Providers word
 * these differently: OpenAI names the parameter in `param` and `code: unsupported_parameter|unsupported_value`;
 * Ollama answers "... does not support tools", llama.cpp without `--jinja` "tools param requires --jinja flag"
 * (HTTP 500), OpenRouter "No endpoints found that support tool use" (HTTP 404), Anthropic's compatible endpoint
 * "temperature: range: 0..1".
 */
export function changeFor(refusal: Refusal, sent: Record<string, unknown>): Change | null {
  const text = `${refusal.param ?? ""} ${refusal.code ?? ""} ${refusal.message}`.toLowerCase();
  const names = (word: string) => refusal.param === word || new RegExp(`['"\`]?\\b${word}\\b['"\`]?`).test(text);
  const toolWords =
    /does not support tools|tools? (?:param|parameter)? ?(?:is |are )?not supported|requires --jinja|support tool use|tool use is not supported|tool_choice|function calling is not (?:supported|enabled)|tool[- ]calling is not supported|--enable-auto-tool-choice/;
  if ("tools" in sent && (toolWords.test(text) || (refusal.param === "tools" && refusal.status < 500))) {
    return {
      note: "takes no tools: the review asks for JSON instead",
      apply: (p) => (p.tools = false),
      already: (p) => !p.tools,
    };
  }
  if (refusal.status >= 500) return null;
  if ("stream_options" in sent && names("stream_options")) {
    return {
      note: "takes no stream_options: streamed token counts are estimated",
      apply: (p) => (p.streamUsage = false),
      already: (p) => !p.streamUsage,
    };
  }
  if (sent.stream === true && names("stream")) {
    return {
      note: "takes no streaming: answers come whole",
      apply: (p) => (p.stream = false),
      already: (p) => !p.stream,
    };
  }
  if ("max_tokens" in sent && (names("max_tokens") || /max_completion_tokens/.test(text))) {
    return {
      note: "takes max_completion_tokens, not max_tokens",
      apply: (p) => (p.tokenLimitParam = "max_completion_tokens"),
      already: (p) => p.tokenLimitParam !== "max_tokens",
    };
  }
  if ("max_completion_tokens" in sent && names("max_completion_tokens")) {
    return {
      note: "takes max_tokens, not max_completion_tokens",
      apply: (p) => (p.tokenLimitParam = "max_tokens"),
      already: (p) => p.tokenLimitParam !== "max_completion_tokens",
    };
  }
  if ("reasoning_effort" in sent && names("reasoning_effort")) {
    return {
      note: "takes no reasoning_effort",
      apply: (p) => (p.reasoningEffort = false),
      already: (p) => !p.reasoningEffort,
    };
  }
  if ("temperature" in sent && names("temperature")) {
    return {
      note: "takes no temperature but its default",
      apply: (p) => (p.temperature = false),
      already: (p) => !p.temperature,
    };
  }
  if ("response_format" in sent && (names("response_format") || /json_object|json mode/.test(text))) {
    return {
      note: "takes no response_format: the review asks for JSON in words",
      apply: (p) => (p.jsonMode = false),
      already: (p) => !p.jsonMode,
    };
  }
  return null;
}

/** The profiles of the models one process has met, keyed by endpoint and model; what is learnt is logged once. */
export class ModelProfiles {
  private readonly profiles = new Map<string, ModelProfile>();

  get(endpoint: string, model: string, options: { tools: boolean; stream: boolean }): ModelProfile {
    const key = `${endpoint}\n${model}`;
    let profile = this.profiles.get(key);
    if (!profile) {
      profile = initialProfile(model, options);
      this.profiles.set(key, profile);
    }
    return profile;
  }

  /** Applies what the refusal teaches; false when it teaches nothing new (the error then stands). */
  learn(profile: ModelProfile, refusal: Refusal, sent: Record<string, unknown>, log: Logger): boolean {
    const change = changeFor(refusal, sent);
    if (!change || change.already(profile)) return false;
    change.apply(profile);
    profile.learnt.push(change.note);
    log.warn(
      { model: profile.model, status: refusal.status, refused: refusal.message.slice(0, 200) },
      `model ${profile.model} ${change.note}`,
    );
    return true;
  }
}
