/**
 * A model's answer as the coder uses it, whatever the server sent: the visible text with any reasoning taken
 * out (`<think>...</think>` in the content, as DeepSeek-R1 and Qwen3 behind Ollama or llama.cpp write it, or a
 * separate `reasoning_content` / `reasoning` field, as vLLM, DeepSeek and OpenRouter send it), the tool calls,
 * why it ended, and the tokens it cost (estimated when a streamed answer came without counts).
 */
import type { ChatCompletionMessageParam } from "openai/resources/chat/completions";

/** An answer as it came off the wire, whole or reassembled from a stream. */
export interface RawAnswer {
  /** No choice at all came back. */
  empty: boolean;
  content: unknown;
  reasoning: string;
  toolCalls: Array<{ name: string; arguments: string }>;
  finishReason: string | null;
  usage: {
    prompt_tokens?: number;
    completion_tokens?: number;
    completion_tokens_details?: { reasoning_tokens?: number } | null;
  } | null;
}

export interface ReplyTokens {
  promptTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  /** The server sent no counts; these are estimates from the text. */
  estimated: boolean;
}

export interface ModelReply {
  /** The visible answer: no reasoning in it. */
  content: string;
  /** The model's reasoning, as far as it was shown; never used as plan or code. */
  reasoning: string;
  toolCalls: Array<{ name: string; arguments: string }>;
  /** "stop", "length" (cut off at the output limit), "tool_calls", ... or null when the server said nothing. */
  finishReason: string | null;
  /** True when no choice came back at all. */
  empty: boolean;
  tokens: ReplyTokens;
}

/** About four characters a token for English and code; only used where a server gives no counts. */
export function estimateTokens(text: string): number {
  return text.length === 0 ? 0 : Math.ceil(text.length / 4);
}

/** The text of an assistant message, whatever a compatible server sent: a string, text parts, or nothing usable. */
export function messageText(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content
      .map((p) =>
        p && typeof p === "object" && typeof (p as { text?: unknown }).text === "string"
          ? (p as { text: string }).text
          : "",
      )
      .join("");
  }
  return "";
}

const THINK_TAGS = ["think", "thinking", "reasoning"];

/**
 * Splits reasoning out of a content string: every `<think>...</think>` block (also `<thinking>`, `<reasoning>`),
 * a `</think>` with no opening tag (some chat templates open the block in the prompt, so only its end shows),
 * and an opened block that never closed (the answer was cut off while thinking: nothing visible is left).
 */
export function splitReasoning(content: string): { visible: string; reasoning: string } {
  let visible = content;
  const reasoning: string[] = [];
  for (const tag of THINK_TAGS) {
    const closed = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, "gi");
    visible = visible.replace(closed, (_, inner: string) => {
      reasoning.push(inner.trim());
      return "";
    });
    const closeOnly = new RegExp(`^([\\s\\S]*?)</${tag}>`, "i");
    const m = closeOnly.exec(visible);
    if (m && !new RegExp(`<${tag}>`, "i").test(m[1]!)) {
      reasoning.push(m[1]!.trim());
      visible = visible.slice(m[0].length);
    }
    const open = new RegExp(`<${tag}>([\\s\\S]*)$`, "i").exec(visible);
    if (open) {
      reasoning.push(open[1]!.trim());
      visible = visible.slice(0, open.index);
    }
  }
  return { visible: visible.trim(), reasoning: reasoning.filter(Boolean).join("\n\n") };
}

function promptChars(messages: readonly ChatCompletionMessageParam[]): string {
  return messages.map((m) => messageText((m as { content?: unknown }).content)).join("\n");
}

export function readReply(raw: RawAnswer, messages: readonly ChatCompletionMessageParam[]): ModelReply {
  const { visible, reasoning: inline } = splitReasoning(messageText(raw.content));
  const reasoning = [raw.reasoning.trim(), inline].filter(Boolean).join("\n\n");
  const u = raw.usage;
  let tokens: ReplyTokens;
  if (u && typeof u.prompt_tokens === "number" && typeof u.completion_tokens === "number") {
    const reported = u.completion_tokens_details?.reasoning_tokens;
    const reasoningTokens =
      typeof reported === "number" && reported > 0
        ? reported
        : Math.min(u.completion_tokens, estimateTokens(reasoning));
    tokens = {
      promptTokens: u.prompt_tokens,
      completionTokens: u.completion_tokens,
      reasoningTokens,
      estimated: false,
    };
  } else {
    const written = `${messageText(raw.content)}${raw.reasoning}${raw.toolCalls.map((c) => c.arguments).join("")}`;
    tokens = {
      promptTokens: estimateTokens(promptChars(messages)),
      completionTokens: estimateTokens(written),
      reasoningTokens: estimateTokens(reasoning),
      estimated: true,
    };
  }
  return {
    content: visible,
    reasoning,
    toolCalls: raw.toolCalls,
    finishReason: raw.finishReason,
    empty: raw.empty,
    tokens,
  };
}
