/**
 * The fake OpenAI server's provider behaviours, driven by the real `openai` client: refusals (status, body and
 * the fields the client surfaces), reasoning placement, length cut-offs, streaming, keys and unknown models.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import OpenAI, { APIError } from "openai";
import type { ChatCompletionChunk, ChatCompletionTool } from "openai/resources/chat/completions";
import {
  DEFAULT_REASONING_TEXT,
  FakeOpenAIServer,
  describeRequest,
  estimateTokens,
  type FakeOpenAIServerOptions,
} from "../../fakes/openai-server.ts";

const KEY = "sk-test-behaviours-0123456789";
const TOOLS: ChatCompletionTool[] = [
  {
    type: "function",
    function: {
      name: "submit_code",
      description: "Submit a script",
      parameters: { type: "object", properties: { code: { type: "string" } } },
    },
  },
];
const USER = [{ role: "user" as const, content: "Write a script." }];

let fake: FakeOpenAIServer;
let client: OpenAI;

async function startFake(options: FakeOpenAIServerOptions = {}, apiKey = KEY): Promise<void> {
  await fake?.close();
  fake = new FakeOpenAIServer(options);
  client = new OpenAI({ apiKey, baseURL: await fake.start(), maxRetries: 0 });
}

/** The APIError a call throws (fails the test when it resolves). */
async function refusal(call: Promise<unknown>): Promise<APIError> {
  try {
    await call;
  } catch (err) {
    expect(err).toBeInstanceOf(APIError);
    return err as APIError;
  }
  throw new Error("expected the call to be refused");
}

/** The raw body of a chat request's answer, read without the client (to see shapes it does not surface). */
async function rawChat(body: unknown, apiKey = KEY): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${fake.baseURL}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${apiKey}` },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

async function collect(stream: AsyncIterable<ChatCompletionChunk>): Promise<ChatCompletionChunk[]> {
  const chunks: ChatCompletionChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

beforeEach(async () => {
  await startFake();
});

afterEach(async () => {
  await fake.close();
});

describe("reasoning models (OpenAI o-series, gpt-5)", () => {
  beforeEach(async () => {
    await startFake({ models: ["gpt-5"], behaviours: { "gpt-5": { reasoning: true } } });
    fake.enqueue("scripted answer");
  });

  it("refuses a temperature other than 1 without consuming the queue", async () => {
    const err = await refusal(client.chat.completions.create({ model: "gpt-5", messages: USER, temperature: 0.5 }));
    expect(err.status).toBe(400);
    expect(err.param).toBe("temperature");
    expect(err.code).toBe("unsupported_value");
    expect(err.type).toBe("invalid_request_error");
    expect(err.message).toBe(
      "400 Unsupported value: 'temperature' does not support 0.5 with this model. Only the default (1) value is supported.",
    );
    expect(fake.pending).toBe(1);
    expect(fake.chatRequests).toHaveLength(1);
    expect(fake.chatRequests[0]!.status).toBe(400);

    const ok = await client.chat.completions.create({ model: "gpt-5", messages: USER, temperature: 1 });
    expect(ok.choices[0]!.message.content).toBe("scripted answer");
    expect(fake.pending).toBe(0);
  });

  it("refuses max_tokens and names max_completion_tokens", async () => {
    const err = await refusal(client.chat.completions.create({ model: "gpt-5", messages: USER, max_tokens: 100 }));
    expect(err.status).toBe(400);
    expect(err.param).toBe("max_tokens");
    expect(err.code).toBe("unsupported_parameter");
    expect(err.message).toContain("Use 'max_completion_tokens' instead.");
    expect(fake.pending).toBe(1);
  });

  it("accepts reasoning_effort and reports reasoning tokens inside completion_tokens", async () => {
    const low = await client.chat.completions.create({ model: "gpt-5", messages: USER, reasoning_effort: "low" });
    const reasoning = low.usage!.completion_tokens_details!.reasoning_tokens!;
    expect(reasoning).toBeGreaterThan(0);
    expect(low.usage!.completion_tokens).toBe(reasoning + estimateTokens("scripted answer"));
    const high = await client.chat.completions.create({ model: "gpt-5", messages: USER, reasoning_effort: "high" });
    expect(high.usage!.completion_tokens_details!.reasoning_tokens!).toBeGreaterThan(reasoning);

    const err = await refusal(
      client.chat.completions.create({ model: "gpt-5", messages: USER, reasoning_effort: "extreme" as never }),
    );
    expect(err.param).toBe("reasoning_effort");
    expect(err.code).toBe("invalid_value");
  });

  it("spends max_completion_tokens on reasoning first: a tiny limit gives empty content and finish_reason length", async () => {
    const res = await client.chat.completions.create({ model: "gpt-5", messages: USER, max_completion_tokens: 1 });
    expect(res.choices[0]!.message.content).toBe("");
    expect(res.choices[0]!.finish_reason).toBe("length");
    expect(res.usage!.completion_tokens).toBe(1);
  });
});

it("a model without reasoning_effort refuses it as an unrecognized argument", async () => {
  await startFake({ behaviours: { "gpt-4o": { noReasoningEffort: true } } });
  const err = await refusal(
    client.chat.completions.create({ model: "gpt-4o", messages: USER, reasoning_effort: "low" }),
  );
  expect(err.status).toBe(400);
  expect(err.message).toBe("400 Unrecognized request argument supplied: reasoning_effort");
  expect(err.param).toBeNull();
  expect(err.code).toBeNull();
});

describe("models without tools, worded per provider", () => {
  const cases = [
    {
      provider: "openai",
      model: "o1-mini",
      status: 400,
      message: "tools is not supported with this model.",
      code: "unsupported_parameter",
      type: "invalid_request_error",
    },
    {
      provider: "ollama",
      model: "gemma",
      status: 400,
      message: "registry.ollama.ai/library/gemma:latest does not support tools",
      code: null,
      type: "api_error",
    },
    {
      provider: "ollama",
      model: "gemma3:4b",
      status: 400,
      message: "registry.ollama.ai/library/gemma3:4b does not support tools",
      code: null,
      type: "api_error",
    },
    {
      provider: "llamacpp",
      model: "local",
      status: 500,
      message: "tools param requires --jinja flag",
      code: 500,
      type: "server_error",
    },
    {
      provider: "openrouter",
      model: "some/model",
      status: 404,
      message:
        "No endpoints found that support tool use. To learn more about provider routing, visit: https://openrouter.ai/docs/provider-routing",
      code: 404,
      type: undefined,
    },
  ] as const;
  for (const c of cases) {
    it(`${c.provider} (${c.model}): ${c.status}`, async () => {
      await startFake({ behaviours: { [c.model]: { tools: false, provider: c.provider } } });
      fake.enqueue({ tool: "submit_code", args: { code: "print(1)" } });
      const err = await refusal(client.chat.completions.create({ model: c.model, messages: USER, tools: TOOLS }));
      expect(err.status).toBe(c.status);
      expect(err.message).toBe(`${c.status} ${c.message}`);
      expect(err.code).toBe(c.code);
      expect(err.type).toBe(c.type);
      expect(fake.pending).toBe(1);
      // Without tools the same model answers.
      const ok = await client.chat.completions.create({ model: c.model, messages: USER, tools: [] });
      const call = ok.choices[0]!.message.tool_calls![0]!;
      expect(call.type === "function" && call.function.name).toBe("submit_code");
    });
  }
});

it("toolChoice ignored: a scripted tool call comes back as plain content holding its arguments", async () => {
  await startFake({ behaviours: { local: { toolChoice: "ignored" } } });
  fake.enqueue({ tool: "submit_code", args: { code: "print(1)" } });
  const res = await client.chat.completions.create({
    model: "local",
    messages: USER,
    tools: TOOLS,
    tool_choice: "required",
  });
  const message = res.choices[0]!.message;
  expect(message.tool_calls).toBeUndefined();
  expect(JSON.parse(message.content!)).toEqual({ code: "print(1)" });
  expect(res.choices[0]!.finish_reason).toBe("stop");
});

it("jsonMode false refuses response_format", async () => {
  await startFake({ behaviours: { local: { jsonMode: false } } });
  const err = await refusal(
    client.chat.completions.create({ model: "local", messages: USER, response_format: { type: "json_object" } }),
  );
  expect(err.status).toBe(400);
  expect(err.param).toBe("response_format");
  expect(err.code).toBe("unsupported_parameter");
  expect(err.message).toBe("400 response_format is not supported by this model");
});

describe("reasoning text", () => {
  it("think-tags: inside the content, with the default text's fenced python draft", async () => {
    await startFake({ behaviours: { "deepseek-r1": { reasoningIn: "think-tags", provider: "ollama" } } });
    fake.enqueue("Final answer.");
    const res = await client.chat.completions.create({ model: "deepseek-r1", messages: USER });
    const content = res.choices[0]!.message.content!;
    expect(content).toBe(`<think>\n${DEFAULT_REASONING_TEXT}\n</think>\n\nFinal answer.`);
    expect(content).toContain('```python\nprint("draft idea")\n```');
    expect(content).toContain("Plan:");
    const reasoning = res.usage!.completion_tokens_details!.reasoning_tokens!;
    expect(reasoning).toBeGreaterThanOrEqual(estimateTokens(DEFAULT_REASONING_TEXT));
    expect(res.usage!.completion_tokens).toBe(reasoning + estimateTokens("Final answer."));
  });

  it("reasoning_content and reasoning: a separate message field; the content is the answer alone", async () => {
    await startFake({
      behaviours: {
        "deepseek-reasoner": { reasoningIn: "reasoning_content", reasoningText: "Thinking hard." },
        qwen3: { reasoningIn: "reasoning" },
      },
    });
    fake.enqueue("Answer A.", "Answer B.");
    const a = await client.chat.completions.create({ model: "deepseek-reasoner", messages: USER });
    const ma = a.choices[0]!.message as unknown as Record<string, unknown>;
    expect(ma.content).toBe("Answer A.");
    expect(ma.reasoning_content).toBe("Thinking hard.");
    expect(a.usage!.completion_tokens_details!.reasoning_tokens).toBe(estimateTokens("Thinking hard."));
    expect(a.usage!.completion_tokens).toBe(estimateTokens("Thinking hard.") + estimateTokens("Answer A."));
    const b = await client.chat.completions.create({ model: "qwen3", messages: USER });
    const mb = b.choices[0]!.message as unknown as Record<string, unknown>;
    expect(mb.content).toBe("Answer B.");
    expect(mb.reasoning).toBe(DEFAULT_REASONING_TEXT);
    expect(mb.reasoning_content).toBeUndefined();
  });
});

describe("length cut-offs", () => {
  const LONG = "x".repeat(200);

  it("cuts at the request's max_completion_tokens or max_tokens (4 characters a token)", async () => {
    await startFake({ behaviours: { local: {} } });
    fake.setDefault(LONG);
    const a = await client.chat.completions.create({ model: "local", messages: USER, max_completion_tokens: 5 });
    expect(a.choices[0]!.message.content).toBe("x".repeat(20));
    expect(a.choices[0]!.finish_reason).toBe("length");
    expect(a.usage!.completion_tokens).toBe(5);
    const b = await client.chat.completions.create({ model: "local", messages: USER, max_tokens: 10 });
    expect(b.choices[0]!.message.content).toHaveLength(40);
    const c = await client.chat.completions.create({ model: "local", messages: USER, max_tokens: 1000 });
    expect(c.choices[0]!.message.content).toBe(LONG);
    expect(c.choices[0]!.finish_reason).toBe("stop");
  });

  it("cuts at the model's own cap and at cutOffAt characters", async () => {
    await startFake({ behaviours: { capped: { maxCompletionTokens: 25 }, short: { cutOffAt: 7 } } });
    fake.setDefault(LONG);
    const a = await client.chat.completions.create({ model: "capped", messages: USER });
    expect(a.choices[0]!.message.content).toHaveLength(100);
    expect(a.choices[0]!.finish_reason).toBe("length");
    const b = await client.chat.completions.create({ model: "short", messages: USER });
    expect(b.choices[0]!.message.content).toBe("xxxxxxx");
    expect(b.choices[0]!.finish_reason).toBe("length");
  });

  it("a cut inside the think block leaves it unclosed", async () => {
    await startFake({ behaviours: { r1: { reasoningIn: "think-tags", maxCompletionTokens: 5 } } });
    const res = await client.chat.completions.create({ model: "r1", messages: USER });
    expect(res.choices[0]!.message.content).toBe(`<think>\n${DEFAULT_REASONING_TEXT}`.slice(0, 20));
    expect(res.choices[0]!.finish_reason).toBe("length");
  });

  it("a scripted finishReason length is sent as is, behaviour or not", async () => {
    fake.enqueue({ content: "half a scri", finishReason: "length" });
    const res = await client.chat.completions.create({ model: "fake-model", messages: USER, max_tokens: 1 });
    expect(res.choices[0]!.message.content).toBe("half a scri");
    expect(res.choices[0]!.finish_reason).toBe("length");
  });
});

describe("stream refusals", () => {
  it("stream false refuses stream: true with an ordinary JSON error", async () => {
    await startFake({ behaviours: { old: { stream: false } } });
    fake.enqueue("kept");
    const err = await refusal(client.chat.completions.create({ model: "old", messages: USER, stream: true }));
    expect(err.status).toBe(400);
    expect(err.param).toBe("stream");
    expect(err.message).toBe("400 stream is not supported");
    expect(fake.pending).toBe(1);
  });

  it("streamOptions false refuses stream_options; stream_options without stream is refused too", async () => {
    await startFake({ behaviours: { proxy: { streamOptions: false }, gpt: {} } });
    const err = await refusal(
      client.chat.completions.create({
        model: "proxy",
        messages: USER,
        stream: true,
        stream_options: { include_usage: true },
      }),
    );
    expect(err.status).toBe(400);
    expect(err.param).toBe("stream_options");
    expect(err.code).toBe("unsupported_parameter");
    const chunks = await collect(
      await client.chat.completions.create({ model: "proxy", messages: USER, stream: true }),
    );
    expect(chunks.length).toBeGreaterThan(1);

    const err2 = await refusal(
      client.chat.completions.create({ model: "gpt", messages: USER, stream_options: { include_usage: true } }),
    );
    expect(err2.param).toBe("stream_options");
    expect(err2.message).toContain("only allowed when 'stream' is enabled");
  });
});

describe("other providers", () => {
  it("Gemini sends error bodies as an array, which the client cannot read", async () => {
    await startFake({ behaviours: { "gemini-2.5-flash": { provider: "gemini", reasoning: true } } });
    const err = await refusal(
      client.chat.completions.create({ model: "gemini-2.5-flash", messages: USER, temperature: 0.2 }),
    );
    expect(err.status).toBe(400);
    expect(err.error).toBeUndefined();
    expect(err.code).toBeUndefined();
    expect(err.message).toBe("400 status code (no body)");
    const raw = await rawChat({ model: "gemini-2.5-flash", messages: USER, temperature: 0.2 });
    expect(raw.status).toBe(400);
    expect(raw.body).toEqual([
      {
        error: {
          code: 400,
          message:
            "Unsupported value: 'temperature' does not support 0.2 with this model. Only the default (1) value is supported.",
          status: "INVALID_ARGUMENT",
        },
      },
    ]);
  });

  it("errorBodyAsArray also wraps scripted errors of that model", async () => {
    await startFake({ behaviours: { g: { errorBodyAsArray: true } } });
    fake.enqueue({ status: 429 });
    const raw = await rawChat({ model: "g", messages: USER });
    expect(raw.status).toBe(429);
    expect(raw.body).toEqual([{ error: { code: 429, message: "Fake error 429", status: "RESOURCE_EXHAUSTED" } }]);
  });

  it("Anthropic refuses a temperature above 1", async () => {
    await startFake({ behaviours: { "claude-sonnet-4": { provider: "anthropic" } } });
    const err = await refusal(
      client.chat.completions.create({ model: "claude-sonnet-4", messages: USER, temperature: 1.5 }),
    );
    expect(err.status).toBe(400);
    expect(err.message).toBe("400 temperature: range: 0..1");
    expect(err.type).toBe("invalid_request_error");
    const ok = await client.chat.completions.create({ model: "claude-sonnet-4", messages: USER, temperature: 1 });
    expect(ok.choices[0]!.finish_reason).toBe("stop");
  });

  it("Azure answers an unknown deployment with DeploymentNotFound", async () => {
    await startFake({ provider: "azure", models: ["my-gpt4o"] });
    const err = await refusal(client.chat.completions.create({ model: "other", messages: USER }));
    expect(err.status).toBe(404);
    expect(err.code).toBe("DeploymentNotFound");
    expect(err.message).toMatch(/^404 The API deployment for this resource does not exist/);
    await client.chat.completions.create({ model: "my-gpt4o", messages: USER });
  });
});

describe("server-level refusals", () => {
  it("strictModels: an unknown model is a 404 model_not_found", async () => {
    await startFake({ strictModels: true, models: ["gpt-4o"], behaviours: { "gpt-5": {} } });
    fake.enqueue("kept");
    const err = await refusal(client.chat.completions.create({ model: "gpt-9", messages: USER }));
    expect(err.status).toBe(404);
    expect(err.code).toBe("model_not_found");
    expect(err.message).toBe("404 The model `gpt-9` does not exist or you do not have access to it.");
    expect(fake.pending).toBe(1);
    await client.chat.completions.create({ model: "gpt-4o", messages: USER });
    await client.chat.completions.create({ model: "gpt-5", messages: USER });
  });

  it("apiKey: a wrong key is a 401 that does not echo the key, for chat and for the model list", async () => {
    await startFake({ apiKey: KEY }, "sk-wrong-key-abcdefghijklmnop");
    fake.enqueue("kept");
    const err = await refusal(client.chat.completions.create({ model: "fake-model", messages: USER }));
    expect(err.status).toBe(401);
    expect(err.code).toBe("invalid_api_key");
    expect(err.message).toBe(
      "401 Incorrect API key provided: sk-...mnop. You can find your API key at https://platform.openai.com/account/api-keys.",
    );
    expect(err.message).not.toContain("wrong-key");
    expect(fake.pending).toBe(1);
    const listErr = await refusal(client.models.list());
    expect(listErr.status).toBe(401);

    const good = new OpenAI({ apiKey: KEY, baseURL: fake.baseURL, maxRetries: 0 });
    expect((await good.models.list()).data.map((m) => m.id)).toEqual(["fake-model"]);
    expect(
      (await good.chat.completions.create({ model: "fake-model", messages: USER })).choices[0]!.message.content,
    ).toBe("kept");
    const missing = await fetch(`${fake.baseURL}/models`);
    expect(missing.status).toBe(401);
  });
});

describe("streaming", () => {
  it("streams content in pieces, then finish_reason, then usage, then [DONE]", async () => {
    await startFake({ behaviours: { "gpt-5": { reasoning: true } } });
    const text = "A streamed answer that is long enough to need several chunks of forty characters.";
    fake.enqueue(text);
    const chunks = await collect(
      await client.chat.completions.create({
        model: "gpt-5",
        messages: USER,
        stream: true,
        stream_options: { include_usage: true },
      }),
    );
    expect(chunks[0]!.object).toBe("chat.completion.chunk");
    expect(chunks[0]!.choices[0]!.delta.role).toBe("assistant");
    const contentChunks = chunks.filter((c) => c.choices[0]?.delta.content);
    expect(contentChunks.length).toBeGreaterThan(1);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? "").join("")).toBe(text);
    const finishes = chunks.map((c) => c.choices[0]?.finish_reason).filter(Boolean);
    expect(finishes).toEqual(["stop"]);
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage!.completion_tokens_details!.reasoning_tokens).toBeGreaterThan(0);
    expect(last.usage!.completion_tokens).toBe(
      last.usage!.completion_tokens_details!.reasoning_tokens! + estimateTokens(text),
    );
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    expect(fake.chatRequests[0]!.status).toBe(200);

    fake.enqueue("no usage asked");
    const plain = await collect(await client.chat.completions.create({ model: "gpt-5", messages: USER, stream: true }));
    expect(plain.every((c) => c.usage === undefined && c.choices.length === 1)).toBe(true);
  });

  it("streams a tool call as a header delta then argument fragments", async () => {
    const args = { code: "import pandas as pd\nprint('a fairly long script body for fragments')" };
    fake.enqueue({ tool: "submit_code", args });
    const chunks = await collect(
      await client.chat.completions.create({
        model: "fake-model",
        messages: USER,
        tools: TOOLS,
        stream: true,
        stream_options: { include_usage: true },
      }),
    );
    const calls = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
    expect(calls[0]).toMatchObject({ index: 0, type: "function", function: { name: "submit_code", arguments: "" } });
    expect(calls[0]!.id).toMatch(/^call_/);
    expect(calls.length).toBeGreaterThan(2);
    expect(JSON.parse(calls.map((c) => c.function?.arguments ?? "").join(""))).toEqual(args);
    expect(chunks.map((c) => c.choices[0]?.finish_reason).filter(Boolean)).toEqual(["tool_calls"]);
    expect(chunks.at(-1)!.usage!.completion_tokens).toBeGreaterThan(0);
  });

  it("streams reasoning_content as its own deltas before the content", async () => {
    await startFake({ behaviours: { vllm: { reasoningIn: "reasoning_content", provider: "vllm" } } });
    fake.enqueue("The answer.");
    const chunks = await collect(
      await client.chat.completions.create({
        model: "vllm",
        messages: USER,
        stream: true,
        stream_options: { include_usage: true },
      }),
    );
    const deltas = chunks.map((c) => (c.choices[0]?.delta ?? {}) as Record<string, unknown>);
    const reasoning = deltas.map((d) => (d.reasoning_content as string | undefined) ?? "").join("");
    expect(reasoning).toBe(DEFAULT_REASONING_TEXT);
    const firstContent = deltas.findIndex((d) => typeof d.content === "string" && d.content !== "");
    const lastReasoning = deltas.map((d) => d.reasoning_content !== undefined).lastIndexOf(true);
    expect(lastReasoning).toBeLessThan(firstContent);
    expect(deltas.map((d) => (d.content as string | undefined) ?? "").join("")).toBe("The answer.");
    expect(chunks.at(-1)!.usage!.completion_tokens_details!.reasoning_tokens).toBe(
      estimateTokens(DEFAULT_REASONING_TEXT),
    );
  });

  it("streams a length cut-off", async () => {
    await startFake({ behaviours: { local: { cutOffAt: 50 } } });
    fake.enqueue("y".repeat(120));
    const chunks = await collect(
      await client.chat.completions.create({ model: "local", messages: USER, stream: true }),
    );
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? "").join("")).toBe("y".repeat(50));
    expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe("length");
  });

  it("chunkDelayMs paces the chunks", async () => {
    fake.enqueue({ content: "z".repeat(120), chunkDelayMs: 40 });
    const started = Date.now();
    const chunks = await collect(
      await client.chat.completions.create({ model: "fake-model", messages: USER, stream: true }),
    );
    // role, 3 content pieces, finish, [DONE]: five delays.
    expect(chunks).toHaveLength(5);
    expect(Date.now() - started).toBeGreaterThanOrEqual(5 * 40 - 10);
  });

  it("a slow stream outlives the client's timeout, which only covers the wait for the response head", async () => {
    fake.enqueue({ content: "s".repeat(120), chunkDelayMs: 60 });
    const impatient = new OpenAI({ apiKey: KEY, baseURL: fake.baseURL, maxRetries: 0, timeout: 100 });
    const chunks = await collect(
      await impatient.chat.completions.create({ model: "fake-model", messages: USER, stream: true }),
    );
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? "").join("")).toBe("s".repeat(120));
  });

  it("stallAfterChunks sends that many chunks, then keeps the connection open and silent", async () => {
    await startFake({ behaviours: { stuck: { stallAfterChunks: 2 } } });
    fake.enqueue("q".repeat(200));
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      { model: "stuck", messages: USER, stream: true },
      { signal: controller.signal },
    );
    const got: ChatCompletionChunk[] = [];
    const started = Date.now();
    const timer = setTimeout(() => controller.abort(), 300);
    try {
      // On abort the client's stream just ends: no error, no finish_reason, no [DONE].
      for await (const chunk of stream) got.push(chunk);
    } finally {
      clearTimeout(timer);
    }
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(got).toHaveLength(2);
    expect(got.every((c) => c.choices[0]!.finish_reason === null)).toBe(true);
    expect(got[1]!.choices[0]!.delta.content).toBe("q".repeat(40));
    expect(fake.chatRequests[0]!.status).toBe(200);
  });

  it("a stalled stream does not hold up close()", async () => {
    fake.enqueue({ content: "never finished", stallAfterChunks: 1 });
    const stream = await client.chat.completions.create({ model: "fake-model", messages: USER, stream: true });
    const iterator = stream[Symbol.asyncIterator]();
    expect((await iterator.next()).value.choices[0].delta.role).toBe("assistant");
    const pending = iterator.next().then(
      () => "ended",
      () => "failed",
    );
    await fake.close();
    expect(["ended", "failed"]).toContain(await pending);
  });
});

describe("recording", () => {
  it("requestsFor and describeRequest summarise what was asked and answered", async () => {
    await startFake({ behaviours: { "gpt-5": { reasoning: true } } });
    await refusal(
      client.chat.completions.create({ model: "gpt-5", messages: USER, tools: TOOLS, temperature: 0.5, stream: true }),
    );
    await client.chat.completions.create({
      model: "gpt-5",
      messages: USER,
      max_completion_tokens: 500,
      reasoning_effort: "low",
    });
    await client.chat.completions.create({
      model: "fake-model",
      messages: USER,
      response_format: { type: "json_object" },
    });
    await client.models.list();
    fake.enqueue({ drop: true });
    await refusal(client.chat.completions.create({ model: "fake-model", messages: USER }));
    expect(fake.requestsFor("gpt-5")).toHaveLength(2);
    expect(fake.requests.map(describeRequest)).toEqual([
      "POST chat gpt-5 stream tools temperature=0.5 -> 400",
      "POST chat gpt-5 max_completion_tokens=500 reasoning_effort=low -> 200",
      "POST chat fake-model response_format=json_object -> 200",
      "GET models -> 200",
      "POST chat fake-model -> no answer",
    ]);
  });

  it("models without a behaviour answer as before (no completion_tokens_details, no cut-off)", async () => {
    fake.enqueue("x".repeat(100));
    const res = await client.chat.completions.create({ model: "fake-model", messages: USER, max_completion_tokens: 1 });
    expect(res.choices[0]!.message.content).toHaveLength(100);
    expect(res.choices[0]!.finish_reason).toBe("stop");
    expect(res.usage).toEqual({
      prompt_tokens: estimateTokens("Write a script."),
      completion_tokens: 25,
      total_tokens: 25 + estimateTokens("Write a script."),
    });
  });

  it("behaviours can be set after start", async () => {
    fake.behaviours["fake-model"] = { jsonMode: false };
    const err = await refusal(
      client.chat.completions.create({ model: "fake-model", messages: USER, response_format: { type: "json_object" } }),
    );
    expect(err.status).toBe(400);
  });
});
