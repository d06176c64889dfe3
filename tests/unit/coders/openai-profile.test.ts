import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ModelError } from "../../../src/errors.ts";
import { silentLogger } from "../../../src/logger.ts";
import {
  OpenAICoder,
  ModelProfiles,
  isReasoningModel,
  splitReasoning,
  type OpenAICoderOptions,
} from "../../../src/coders/openai/index.ts";
import { changeFor, initialProfile } from "../../../src/coders/openai/model-profile.ts";
import { StepFailure } from "../../../src/search/step-failure.ts";
import type { ExecutionResult, PromptContext, ReviewInput } from "../../../src/search/types.ts";
import { FakeOpenAIServer, userText } from "../../fakes/openai-server.ts";

describe("model families", () => {
  it.each([
    ["o1", true],
    ["o3-mini", true],
    ["o4-mini-2025-04-16", true],
    ["gpt-5", true],
    ["gpt-5-mini", true],
    ["gpt-5.1", true],
    ["openai/o3", true],
    ["gpt-5-chat-latest", false],
    ["gpt-4o", false],
    ["o3x", false],
    ["qwen2.5-coder:14b", false],
  ])("%s is a reasoning model: %s", (model, expected) => {
    expect(isReasoningModel(model)).toBe(expected);
  });

  it("starts reasoning models without temperature and with max_completion_tokens, unknown ones with max_tokens", () => {
    expect(initialProfile("o3", { tools: true, stream: true })).toMatchObject({
      family: "reasoning",
      temperature: false,
      tokenLimitParam: "max_completion_tokens",
      reasoningEffort: true,
    });
    expect(initialProfile("gpt-4.1", { tools: true, stream: true })).toMatchObject({
      family: "chat",
      temperature: true,
      tokenLimitParam: "max_completion_tokens",
      reasoningEffort: false,
    });
    expect(initialProfile("llama3.1:8b", { tools: false, stream: false })).toMatchObject({
      family: "unknown",
      temperature: true,
      tokenLimitParam: "max_tokens",
      tools: false,
      stream: false,
    });
  });
});

describe("what a refusal teaches", () => {
  const sent = {
    temperature: 0.5,
    max_tokens: 100,
    tools: [{}],
    response_format: {},
    reasoning_effort: "low",
    stream: true,
    stream_options: {},
  };
  const note = (
    status: number,
    message: string,
    param: string | null = null,
    code: string | null = null,
    body: Record<string, unknown> = sent,
  ) => changeFor({ status, message, param, code }, body)?.note ?? null;

  it("reads OpenAI's unsupported_value and unsupported_parameter", () => {
    expect(
      note(
        400,
        "Unsupported value: 'temperature' does not support 0.5 with this model. Only the default (1) value is supported.",
        "temperature",
        "unsupported_value",
      ),
    ).toMatch(/no temperature/);
    expect(
      note(
        400,
        "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
        "max_tokens",
        "unsupported_parameter",
        { max_tokens: 1 },
      ),
    ).toMatch(/max_completion_tokens, not max_tokens/);
    expect(
      note(400, "Unrecognized request argument supplied: reasoning_effort", null, null, { reasoning_effort: "low" }),
    ).toMatch(/no reasoning_effort/);
  });

  it("reads the ways servers refuse tools, even as a 404 or a 500", () => {
    expect(note(400, "registry.ollama.ai/library/gemma2:latest does not support tools")).toMatch(/no tools/);
    expect(note(500, "tools param requires --jinja flag")).toMatch(/no tools/);
    expect(
      note(
        404,
        "No endpoints found that support tool use. To learn more about provider routing, visit: https://openrouter.ai/docs/provider-routing",
      ),
    ).toMatch(/no tools/);
    expect(note(400, '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set')).toMatch(
      /no tools/,
    );
  });

  it("reads streaming, JSON mode and Anthropic's temperature range", () => {
    expect(
      note(400, "stream_options is not supported", "stream_options", null, { stream: true, stream_options: {} }),
    ).toMatch(/no stream_options/);
    expect(note(400, "stream is not supported", "stream", null, { stream: true })).toMatch(/no streaming/);
    expect(
      note(400, "response_format is not supported by this model", "response_format", null, { response_format: {} }),
    ).toMatch(/no response_format/);
    expect(note(400, "temperature: range: 0..1", null, null, { temperature: 1.5 })).toMatch(/no temperature/);
  });

  it("learns nothing from what names no parameter, from a 500 that is not about tools, or from a parameter not sent", () => {
    expect(
      note(400, "This model's maximum context length is 16384 tokens.", "messages", "context_length_exceeded"),
    ).toBeNull();
    expect(note(500, "internal error")).toBeNull();
    expect(
      note(400, "Unsupported value: 'temperature' does not support 0.5", "temperature", "unsupported_value", {
        max_tokens: 1,
      }),
    ).toBeNull();
  });

  it("changes a profile once, and says so once", () => {
    const profiles = new ModelProfiles();
    const p = profiles.get("http://x/v1", "m", { tools: true, stream: true });
    const refusal = { status: 400, message: "does not support tools", param: null, code: null };
    expect(profiles.learn(p, refusal, { tools: [] }, silentLogger)).toBe(true);
    expect(profiles.learn(p, refusal, { tools: [] }, silentLogger)).toBe(false);
    expect(p.learnt).toEqual(["takes no tools: the review asks for JSON instead"]);
    expect(profiles.get("http://x/v1", "m", { tools: true, stream: true }).tools).toBe(false);
  });
});

describe("reasoning text", () => {
  it("takes <think> blocks out of the content, closed, unopened or cut off", () => {
    expect(
      splitReasoning("<think>plan: x\n```python\nprint(1)\n```</think>\nThe plan.\n```python\nimport os\n```"),
    ).toEqual({ visible: "The plan.\n```python\nimport os\n```", reasoning: "plan: x\n```python\nprint(1)\n```" });
    expect(splitReasoning("I thought a lot.</think>Answer.")).toEqual({
      visible: "Answer.",
      reasoning: "I thought a lot.",
    });
    expect(splitReasoning("<think>still thinking when the limit hit")).toEqual({
      visible: "",
      reasoning: "still thinking when the limit hit",
    });
    expect(splitReasoning("No tags at all.")).toEqual({ visible: "No tags at all.", reasoning: "" });
  });
});

const SCRIPT =
  "import pandas as pd\npd.DataFrame({'id': [1]}).to_csv('./working/submission.csv')\nprint('AIDE_METRIC {\"name\": \"acc\", \"value\": 0.9}')\n";
const ctx: PromptContext = {
  task: "Classify.",
  dataPreview: "",
  memory: [],
  guidance: [],
  siblings: [],
  journal: [],
  timeLimitSec: 600,
  packages: [],
  step: 0,
  totalSteps: 5,
};
const reviewInput: ReviewInput = {
  task: "Classify.",
  stage: "draft",
  plan: "p",
  code: SCRIPT,
  output: 'AIDE_METRIC {"name": "acc", "value": 0.9}',
  parsedMetric: { name: "acc", value: 0.9, lowerIsBetter: null },
  problems: [],
};
const result: ExecutionResult = {
  exitCode: 0,
  signal: null,
  timedOut: false,
  outOfMemory: false,
  durationMs: 10,
  output: reviewInput.output,
  outputCapped: false,
  workingDir: "/tmp/x",
};

describe("OpenAICoder against refusing and quirky models", () => {
  let fake: FakeOpenAIServer;
  beforeEach(async () => {
    fake = new FakeOpenAIServer({ models: ["m"] });
    await fake.start();
  });
  afterEach(async () => fake.close());
  const coder = (o: Partial<OpenAICoderOptions> = {}) =>
    new OpenAICoder({
      baseURL: fake.baseURL,
      codeModel: "m",
      reviewModel: "m",
      maxRetries: 0,
      timeoutMs: 10_000,
      prices: {},
      logger: silentLogger,
      temperature: 0.5,
      ...o,
    });

  it("reviews by JSON mode once tools are refused, and keeps doing so", async () => {
    fake.behaviours = { m: { provider: "ollama", tools: false } };
    fake.setDefault('{"is_bug": false, "summary": "It ran.", "metric": 0.9, "lower_is_better": false}');
    const c = coder();
    expect(await c.review(reviewInput, result)).toMatchObject({
      isBug: false,
      summary: "It ran.",
      metric: 0.9,
      lowerIsBetter: false,
    });
    await c.review(reviewInput, result);
    const kinds = fake.chatRequests.map((r) => [
      Array.isArray(r.body.tools),
      r.body.response_format?.type ?? null,
      r.status,
    ]);
    expect(kinds).toEqual([
      [true, null, 400],
      [false, "json_object", 200],
      [false, "json_object", 200],
    ]);
    expect(userText(fake.chatRequests[1]!)).toContain("Answer with one JSON object and nothing else");
  });

  it("turns to the JSON form when a model ignores the tool and writes prose", async () => {
    fake.setDefault((r) =>
      Array.isArray(r.body.tools)
        ? "The run looks fine to me."
        : '{"is_bug": false, "summary": "Fine.", "metric": null, "lower_is_better": null}',
    );
    const review = await coder().review(reviewInput, result);
    expect(review.summary).toBe("Fine.");
    expect(fake.chatRequests.map((r) => Array.isArray(r.body.tools))).toEqual([true, true, false]);
  });

  it("a review request refused for its prompt falls back to the run's own verdict", async () => {
    fake.setDefault({
      status: 400,
      body: {
        error: {
          message: "maximum context length exceeded",
          type: "invalid_request_error",
          param: "messages",
          code: "context_length_exceeded",
        },
      },
    });
    const review = await coder().review(reviewInput, result);
    expect(review.summary).toMatch(/judged from the run alone/);
    expect(review.isBug).toBe(false);
  });

  it("never runs a cut-off script: asks for a shorter one, and fails the step when every answer is cut", async () => {
    const good = `Plan.\n\n\`\`\`python\n${SCRIPT}\`\`\`\n`;
    fake.enqueue({ content: good, finishReason: "length" }, good);
    const proposal = await coder().propose({ kind: "draft" }, ctx);
    expect(proposal.code).toBe(SCRIPT);
    expect(userText(fake.chatRequests[1]!)).toContain("cut off at the output limit");
    fake.setDefault({
      content: good.slice(0, 40),
      finishReason: "length",
      usage: { prompt_tokens: 10, completion_tokens: 5 },
    });
    const err = await coder()
      .propose({ kind: "draft" }, ctx)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StepFailure);
    expect((err as StepFailure).reason).toMatch(
      /cut off at the model's output limit after 5 tokens \(finish_reason: length\)/,
    );
    expect((err as StepFailure).usage.completionTokens).toBe(15);
  });

  it("reads a whole completion sent to a streaming request, and names a page that is none", async () => {
    const whole = JSON.stringify({
      id: "x",
      object: "chat.completion",
      created: 1,
      model: "m",
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: `Plan.\n\n\`\`\`python\n${SCRIPT}\`\`\`\n` },
          finish_reason: "stop",
        },
      ],
      usage: { prompt_tokens: 7, completion_tokens: 3 },
    });
    fake.enqueue({ raw: whole });
    const proposal = await coder({ stream: true }).propose({ kind: "draft" }, ctx);
    expect(fake.chatRequests[0]!.body.stream).toBe(true);
    expect(proposal.code).toBe(SCRIPT);
    expect(proposal.usage.promptTokens).toBe(7);
    fake.enqueue({ raw: "<html>Service Unavailable</html>", contentType: "text/html" });
    const err = await coder({ stream: true })
      .propose({ kind: "draft" }, ctx)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelError);
    expect((err as ModelError).fatal).toBe(true);
    expect((err as ModelError).userMessage).toMatch(
      /answered with something that is not a chat completion; check the base URL/,
    );
  });

  it("keeps reasoning out of the plan and the code, and counts its tokens", async () => {
    fake.behaviours = {
      m: { reasoningIn: "reasoning_content", reasoningText: "Hmm, let me think about leakage first." },
    };
    fake.setDefault(`Logistic regression baseline.\n\n\`\`\`python\n${SCRIPT}\`\`\`\n`);
    const proposal = await coder({ stream: true }).propose({ kind: "draft" }, ctx);
    expect(proposal.plan).toBe("Logistic regression baseline.");
    expect(proposal.code).toBe(SCRIPT);
    expect(proposal.usage.reasoningTokens).toBeGreaterThan(0);
  });
});

describe("OpenAICoder prompt budget", () => {
  let fake: FakeOpenAIServer;
  beforeEach(async () => {
    fake = new FakeOpenAIServer({ models: ["m"] });
    await fake.start();
  });
  afterEach(async () => fake.close());

  it("sends a prompt trimmed to openai.maxPromptTokens, and the whole one without a budget", async () => {
    const big: PromptContext = {
      ...ctx,
      dataPreview: `train.csv columns:\n${"a_column_with_a_long_name, ".repeat(4000)}`,
    };
    fake.setDefault(`Plan.\n\n\`\`\`python\n${SCRIPT}\`\`\`\n`);
    const make = (maxPromptTokens: number | null) =>
      new OpenAICoder({
        baseURL: fake.baseURL,
        codeModel: "m",
        reviewModel: "m",
        maxRetries: 0,
        timeoutMs: 10_000,
        prices: {},
        logger: silentLogger,
        maxPromptTokens,
      });
    await make(2000).propose({ kind: "draft" }, big);
    await make(null).propose({ kind: "draft" }, big);
    const [trimmed, whole] = fake.chatRequests.map((r) => userText(r));
    expect(Math.ceil(trimmed!.length / 3.5)).toBeLessThanOrEqual(2000);
    expect(whole!.length).toBeGreaterThan(100_000);
    expect(trimmed).toContain("# Task description");
  });
});
