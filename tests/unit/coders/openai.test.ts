import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ModelError } from "../../../src/errors.ts";
import { StepFailure } from "../../../src/search/step-failure.ts";
import { silentLogger } from "../../../src/logger.ts";
import {
  OpenAICoder,
  checkModels,
  ModelProfiles,
  type ModelCheckOptions,
  type ModelCheckReport,
  costOf,
  DEFAULT_PRICES,
  priceOf,
  redact,
  toModelError,
  usageCost,
  type OpenAICoderOptions,
} from "../../../src/coders/openai/index.ts";
import { APIConnectionError } from "openai";
import type { ExecutionResult, PromptContext, ReviewInput } from "../../../src/search/types.ts";
import { FakeOpenAIServer, userText } from "../../fakes/openai-server.ts";

const API_KEY = "sk-test-SECRET-0123456789abcdef";

const SCRIPT = [
  "import pandas as pd",
  "df = pd.read_csv('./input/train.csv')",
  "df.head(1).to_csv('./working/submission.csv', index=False)",
  'print(\'AIDE_METRIC {"name": "acc", "value": 0.9, "lower_is_better": false}\')',
].join("\n");
const GOOD_REPLY = `I will train a small logistic regression baseline. It validates on a 20% hold-out.\n\n\`\`\`python\n${SCRIPT}\n\`\`\`\n`;

const ctx: PromptContext = {
  task: "Classify iris flowers.",
  dataPreview: "train.csv: 150 rows",
  memory: [],
  guidance: ["Prefer linear models."],
  siblings: [],
  journal: [],
  timeLimitSec: 600,
  packages: ["pandas", "scikit-learn"],
  step: 0,
  totalSteps: 5,
};

const reviewInput: ReviewInput = {
  task: "Classify iris flowers.",
  stage: "draft",
  plan: "Logistic regression.",
  code: SCRIPT,
  output: 'AIDE_METRIC {"name": "acc", "value": 0.9, "lower_is_better": false}',
  parsedMetric: { name: "acc", value: 0.9, lowerIsBetter: false },
  problems: [],
};

const execResult: ExecutionResult = {
  exitCode: 0,
  signal: null,
  timedOut: false,
  outOfMemory: false,
  durationMs: 1234,
  output: reviewInput.output,
  outputCapped: false,
  workingDir: "/tmp/node-0",
};

let fake: FakeOpenAIServer;
let baseURL: string;

beforeEach(async () => {
  fake = new FakeOpenAIServer({ models: ["gpt-4o", "gpt-4o-mini"] });
  baseURL = await fake.start();
});

afterEach(async () => {
  await fake.close();
});

function coder(overrides: Partial<OpenAICoderOptions> = {}): OpenAICoder {
  return new OpenAICoder({
    apiKey: API_KEY,
    baseURL,
    codeModel: "gpt-4o",
    reviewModel: "gpt-4o-mini",
    maxRetries: 2,
    timeoutMs: 10_000,
    prices: DEFAULT_PRICES,
    logger: silentLogger,
    ...overrides,
  });
}

async function catchError(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error("expected a rejection");
}

/** A port that refuses connections: bound once, then closed. */
async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe("pricing", () => {
  const M = 1_000_000;

  it("prices exact names, case-insensitively", () => {
    expect(costOf("gpt-4o", { promptTokens: M, completionTokens: M }, DEFAULT_PRICES)).toBeCloseTo(12.5);
    expect(priceOf("GPT-4.1-Mini", DEFAULT_PRICES)).toEqual({ inputPerMTok: 0.4, outputPerMTok: 1.6 });
    expect(priceOf("o3-pro", DEFAULT_PRICES)).toEqual({ inputPerMTok: 20, outputPerMTok: 80 });
    expect(priceOf("o3", DEFAULT_PRICES)).toEqual({ inputPerMTok: 2, outputPerMTok: 8 });
    expect(priceOf("gpt-5.1", DEFAULT_PRICES)).toEqual({ inputPerMTok: 1.25, outputPerMTok: 10 });
  });

  it("prices dated snapshots (both styles) and provider prefixes as their model", () => {
    expect(priceOf("gpt-4o-2024-08-06", DEFAULT_PRICES)).toEqual(DEFAULT_PRICES["gpt-4o"]);
    expect(priceOf("gpt-4o-mini-2024-07-18", DEFAULT_PRICES)).toEqual(DEFAULT_PRICES["gpt-4o-mini"]);
    expect(priceOf("o3-pro-2025-06-10", DEFAULT_PRICES)).toEqual(DEFAULT_PRICES["o3-pro"]);
    expect(priceOf("gpt-4-0613", { "gpt-4": { inputPerMTok: 30, outputPerMTok: 60 } })).toEqual({
      inputPerMTok: 30,
      outputPerMTok: 60,
    });
    expect(priceOf("openai/gpt-4.1", DEFAULT_PRICES)).toEqual(DEFAULT_PRICES["gpt-4.1"]);
    expect(priceOf("openrouter/openai/o4-mini-2025-04-16", DEFAULT_PRICES)).toEqual(DEFAULT_PRICES["o4-mini"]);
    // A snapshot listed exactly keeps its own price.
    expect(priceOf("gpt-4o-2024-05-13", DEFAULT_PRICES)).toEqual({ inputPerMTok: 5, outputPerMTok: 15 });
  });

  it("matches nothing else: no prefix matching, no made-up snapshots", () => {
    for (const model of [
      "gpt-5-chat-latest",
      "gpt-4o-audio-preview",
      "gpt-4o-realtime-preview-2024-12-17",
      "o3-deep-research",
      "gpt-4o-2024-13-01",
      "gpt-4o-1399",
      "gpt-4",
      "llama3.1:8b",
      "gpt-4o/extra",
    ]) {
      expect(priceOf(model, DEFAULT_PRICES), model).toBeNull();
    }
  });

  it("lets a configured table override and extend the defaults, prefixed names included", () => {
    const prices = {
      ...DEFAULT_PRICES,
      "gpt-4o": { inputPerMTok: 1, outputPerMTok: 1 },
      "openai/gpt-4o": { inputPerMTok: 3, outputPerMTok: 3 },
      "llama3.1:8b": { inputPerMTok: 0, outputPerMTok: 0 },
    };
    expect(priceOf("gpt-4o-2024-08-06", prices)).toEqual({ inputPerMTok: 1, outputPerMTok: 1 });
    expect(priceOf("openai/gpt-4o", prices)).toEqual({ inputPerMTok: 3, outputPerMTok: 3 });
    expect(priceOf("LLAMA3.1:8B", prices)).toEqual({ inputPerMTok: 0, outputPerMTok: 0 });
  });

  it("usageCost says when the cost is unknown; costOf stays 0 for unpriced models", () => {
    expect(usageCost("o3", { promptTokens: 500_000, completionTokens: 250_000 }, DEFAULT_PRICES)).toEqual({
      costUsd: 3,
    });
    expect(usageCost("llama3.1:8b", { promptTokens: 5000, completionTokens: 5000 }, DEFAULT_PRICES)).toEqual({
      costUsd: 0,
      costUnknown: true,
    });
    expect(usageCost("llama3.1:8b", { promptTokens: 0, completionTokens: 0 }, DEFAULT_PRICES)).toEqual({ costUsd: 0 });
    expect(
      usageCost(
        "llama3.1:8b",
        { promptTokens: 5000, completionTokens: 5000 },
        { "llama3.1:8b": { inputPerMTok: 0, outputPerMTok: 0 } },
      ),
    ).toEqual({ costUsd: 0 });
    expect(costOf("llama3.1:8b", { promptTokens: 5000, completionTokens: 5000 }, DEFAULT_PRICES)).toBe(0);
  });

  it("marks the usage of an unpriced model's proposal as cost unknown", async () => {
    fake.enqueue({ content: GOOD_REPLY, usage: { prompt_tokens: 1000, completion_tokens: 200 } });
    const p = await coder({ codeModel: "llama3.1:8b" }).propose({ kind: "draft" }, ctx);
    expect(p.usage).toMatchObject({ promptTokens: 1000, completionTokens: 200, costUsd: 0, costUnknown: true });
  });
});

describe("OpenAICoder.propose", () => {
  it("returns plan, code, tokens and cost from one completion", async () => {
    fake.enqueue({ content: GOOD_REPLY, usage: { prompt_tokens: 1000, completion_tokens: 200 } });
    const c = coder();
    expect(c.name).toBe("openai:gpt-4o");
    const proposal = await c.propose({ kind: "draft" }, ctx);
    expect(proposal.code).toBe(`${SCRIPT}\n`);
    expect(proposal.plan).toBe("I will train a small logistic regression baseline. It validates on a 20% hold-out.");
    expect(proposal.usage.promptTokens).toBe(1000);
    expect(proposal.usage.completionTokens).toBe(200);
    expect(proposal.usage.costUsd).toBeCloseTo((1000 * 2.5 + 200 * 10) / 1e6, 10);

    expect(fake.chatRequests).toHaveLength(1);
    const req = fake.chatRequests[0]!;
    expect(req.body.model).toBe("gpt-4o");
    expect(req.body.temperature).toBeUndefined();
    const text = userText(req);
    expect(text).toContain("Classify iris flowers.");
    expect(text).toContain("# Guidance from the team");
    expect(text).toContain("Prefer linear models.");
  });

  it("sends the API key in the Authorization header, and the temperature when set", async () => {
    fake.enqueue(GOOD_REPLY);
    await coder({ temperature: 0.3 }).propose({ kind: "draft" }, ctx);
    const req = fake.chatRequests[0]!;
    expect(req.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(req.body.temperature).toBe(0.3);
  });

  it("sends a placeholder key when none is configured (local endpoints)", async () => {
    fake.enqueue(GOOD_REPLY);
    const proposal = await coder({ apiKey: undefined, codeModel: "llama3.1:8b" }).propose({ kind: "draft" }, ctx);
    expect(fake.chatRequests[0]!.headers.authorization).toMatch(/^Bearer \S+/);
    expect(proposal.usage.costUsd).toBe(0);
    expect(proposal.usage.promptTokens).toBeGreaterThan(0);
  });

  it("asks again when the reply has no code, and sums tokens over all attempts", async () => {
    fake.enqueue(
      { content: "I would use a random forest.", usage: { prompt_tokens: 100, completion_tokens: 10 } },
      { content: GOOD_REPLY, usage: { prompt_tokens: 150, completion_tokens: 90 } },
    );
    const proposal = await coder().propose({ kind: "draft" }, ctx);
    expect(proposal.code).toBe(`${SCRIPT}\n`);
    expect(proposal.usage.promptTokens).toBe(250);
    expect(proposal.usage.completionTokens).toBe(100);
    expect(fake.chatRequests).toHaveLength(2);
    const second = fake.chatRequests[1]!.body.messages as Array<{ role: string; content: string }>;
    expect(second.at(-2)).toEqual({ role: "assistant", content: "I would use a random forest." });
    expect(second.at(-1)!.content).toMatch(/no Python code block/);
  });

  it("fails only the step after a bounded number of code-less replies, keeping the answer and the tokens", async () => {
    fake.setDefault({ content: "Just prose, no code.", usage: { prompt_tokens: 100, completion_tokens: 10 } });
    const err = await catchError(coder().propose({ kind: "draft" }, ctx));
    expect(err).toBeInstanceOf(StepFailure);
    const failure = err as StepFailure;
    expect(failure.reason).toMatch(
      /no usable script in 3 answers \(the last time the answer had no Python code block\)/,
    );
    expect(failure.answer).toBe("Just prose, no code.");
    expect(failure.usage).toMatchObject({ promptTokens: 300, completionTokens: 30 });
    expect(failure.requestFailed).toBe(false);
    expect(fake.chatRequests).toHaveLength(3);
  });

  it("uses the improve prompt with the parent's code", async () => {
    fake.enqueue(GOOD_REPLY);
    await coder().propose(
      { kind: "improve", parent: 0 },
      {
        ...ctx,
        parent: {
          id: 0,
          parentId: null,
          step: 0,
          stage: "draft",
          plan: "p",
          code: "print('PARENT_MARKER')",
          metric: null,
          buggy: false,
          analysis: "",
          execTimeMs: 0,
          exitCode: 0,
          timedOut: false,
          killed: false,
          output: "",
          submissionOk: true,
          submissionPath: null,
          usage: { promptTokens: 0, completionTokens: 0, costUsd: 0 },
          coder: "x",
          createdAt: "",
          finishedAt: "",
        },
      },
    );
    expect(userText(fake.chatRequests[0]!)).toContain("PARENT_MARKER");
  });

  it("waits out a 429 with Retry-After and then succeeds", async () => {
    fake.enqueue({ status: 429, retryAfter: 1 }, GOOD_REPLY);
    const started = Date.now();
    const proposal = await coder().propose({ kind: "draft" }, ctx);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(proposal.code).toBe(`${SCRIPT}\n`);
    expect(fake.chatRequests).toHaveLength(2);
  });

  it("retries a 500 and then succeeds", async () => {
    fake.enqueue({ status: 500, retryAfterMs: 20 }, GOOD_REPLY);
    const proposal = await coder().propose({ kind: "draft" }, ctx);
    expect(proposal.code).toBe(`${SCRIPT}\n`);
    expect(fake.chatRequests).toHaveLength(2);
  });

  it("throws a ModelError after bounded attempts when the server keeps failing", async () => {
    fake.setDefault({ status: 500, retryAfterMs: 10 });
    const err = await catchError(coder({ maxRetries: 2 }).propose({ kind: "draft" }, ctx));
    expect(err).toBeInstanceOf(ModelError);
    expect((err as ModelError).userMessage).toBe(
      `The model endpoint at ${baseURL} kept failing (HTTP 500) after 3 attempts.`,
    );
    expect(fake.chatRequests).toHaveLength(3);
  });

  it("maps 401 to a clear message without the key", async () => {
    fake.setDefault({
      status: 401,
      body: { error: { message: `Incorrect API key provided: ${API_KEY}`, type: "invalid_request_error" } },
    });
    const err = await catchError(coder().propose({ kind: "draft" }, ctx));
    expect(err).toBeInstanceOf(ModelError);
    expect((err as ModelError).userMessage).toMatch(/rejected the API key \(401/);
    expect(String((err as Error).message)).not.toContain(API_KEY);
    expect(String((err as Error).stack)).not.toContain(API_KEY);
    expect(fake.chatRequests).toHaveLength(1);
  });

  it("maps 404 to an unknown-model message", async () => {
    fake.setDefault({
      status: 404,
      body: {
        error: { message: "The model `nope` does not exist", type: "invalid_request_error", code: "model_not_found" },
      },
    });
    const err = await catchError(coder({ codeModel: "nope" }).propose({ kind: "draft" }, ctx));
    expect((err as ModelError).userMessage).toBe(
      `Model "nope" was not found at ${baseURL} (404); check the model name and the base URL.`,
    );
  });

  it("fails with a clear ModelError when the endpoint is unreachable, never showing the key", async () => {
    const port = await closedPort();
    const url = `http://127.0.0.1:${port}/v1`;
    const err = await catchError(coder({ baseURL: url, maxRetries: 1 }).propose({ kind: "draft" }, ctx));
    expect(err).toBeInstanceOf(ModelError);
    expect((err as ModelError).userMessage).toBe(`Cannot reach the model endpoint at ${url}: connection refused.`);
    expect((err as Error).message).not.toContain(API_KEY);
    expect(JSON.stringify(err)).not.toContain(API_KEY);
  });

  it("passes an abort through instead of wrapping it", async () => {
    fake.setDefault({ delayMs: 2000, reply: GOOD_REPLY });
    const controller = new AbortController();
    const p = coder().propose({ kind: "draft" }, ctx, controller.signal);
    setTimeout(() => controller.abort(), 50);
    const err = await catchError(p);
    expect(err).not.toBeInstanceOf(ModelError);
  });
});

describe("OpenAICoder.review", () => {
  it("forces the submit_review tool and reads its arguments", async () => {
    fake.enqueue({
      tool: "submit_review",
      args: {
        is_bug: false,
        summary: "Logistic regression reached 0.9 accuracy.",
        metric: 0.9,
        lower_is_better: false,
      },
      usage: { prompt_tokens: 500, completion_tokens: 40 },
    });
    const review = await coder().review(reviewInput, execResult);
    expect(review).toEqual({
      isBug: false,
      summary: "Logistic regression reached 0.9 accuracy.",
      metric: 0.9,
      lowerIsBetter: false,
      usage: { promptTokens: 500, completionTokens: 40, costUsd: (500 * 0.15 + 40 * 0.6) / 1e6 },
    });
    const req = fake.chatRequests[0]!;
    expect(req.body.model).toBe("gpt-4o-mini");
    expect(req.body.tool_choice).toEqual({ type: "function", function: { name: "submit_review" } });
    expect(req.body.tools).toHaveLength(1);
    const params = req.body.tools[0].function.parameters;
    expect(req.body.tools[0].function.name).toBe("submit_review");
    expect(params.required).toEqual(["is_bug", "summary", "metric", "lower_is_better"]);
    expect(params.properties.metric.type).toEqual(["number", "null"]);
    expect(userText(req)).toContain("Classify iris flowers.");
  });

  it("asks again after malformed arguments and sums tokens", async () => {
    fake.enqueue(
      {
        tool: "submit_review",
        args: '{"is_bug": false, "summary": "ok", ',
        usage: { prompt_tokens: 10, completion_tokens: 5 },
      },
      {
        tool: "submit_review",
        args: { is_bug: true, summary: "It crashed.", metric: null, lower_is_better: null },
        usage: { prompt_tokens: 20, completion_tokens: 6 },
      },
    );
    const review = await coder().review(reviewInput, execResult);
    expect(review.isBug).toBe(true);
    expect(review.summary).toBe("It crashed.");
    expect(review.metric).toBeNull();
    expect(review.lowerIsBetter).toBeNull();
    expect(review.usage.promptTokens).toBe(30);
    expect(review.usage.completionTokens).toBe(11);
    expect(fake.chatRequests).toHaveLength(2);
    expect(userText(fake.chatRequests[1]!)).toMatch(/could not be used \(the tool arguments were not valid JSON\)/);
  });

  it("falls back to a review derived from the run when the tool is never called", async () => {
    fake.setDefault({ content: "Looks fine to me.", usage: { prompt_tokens: 10, completion_tokens: 3 } });
    const ok = await coder().review(reviewInput, execResult);
    expect(fake.chatRequests).toHaveLength(3);
    expect(ok.isBug).toBe(false);
    expect(ok.metric).toBe(0.9);
    expect(ok.lowerIsBetter).toBe(false);
    expect(ok.summary).toMatch(/review model failed/);
    expect(ok.usage.promptTokens).toBe(30);

    const bad = await coder().review({ ...reviewInput, problems: ["Traceback: ValueError"] }, execResult);
    expect(bad.isBug).toBe(true);
    expect(bad.summary).toContain("ValueError");

    const none = await coder().review({ ...reviewInput, parsedMetric: null }, execResult);
    expect(none.isBug).toBe(true);
    expect(none.metric).toBeNull();
  });

  it("accepts the review as JSON in the content from servers that ignore tool_choice", async () => {
    fake.enqueue('{"is_bug": false, "summary": "Fine.", "metric": 0.8, "lower_is_better": false}');
    const review = await coder().review(reviewInput, execResult);
    expect(review.summary).toBe("Fine.");
    expect(review.metric).toBe(0.8);
    expect(fake.chatRequests).toHaveLength(1);
  });

  it("throws a ModelError (not a fallback) when the endpoint is down", async () => {
    fake.setDefault({ status: 503, retryAfterMs: 5 });
    const err = await catchError(coder({ maxRetries: 1 }).review(reviewInput, execResult));
    expect(err).toBeInstanceOf(ModelError);
    expect(fake.chatRequests).toHaveLength(2);
  });
});

function check(overrides: Partial<ModelCheckOptions> = {}): Promise<ModelCheckReport> {
  return checkModels({
    apiKey: API_KEY,
    baseURL,
    codeModel: "gpt-4o",
    reviewModel: "gpt-4o-mini",
    temperature: 0.5,
    maxOutputTokens: null,
    reasoningEffort: null,
    tools: true,
    stream: false,
    timeoutMs: 5000,
    maxRetries: 0,
    profiles: new ModelProfiles(),
    logger: silentLogger,
    ...overrides,
  });
}

describe("checkModels", () => {
  it("lists the models, pings each, and checks the review model's tool call", async () => {
    fake.setDefault((req) =>
      req.body.tools
        ? { tool: "submit_review", args: { is_bug: false, summary: "check", metric: 1, lower_is_better: null } }
        : "OK",
    );
    const report = await check();
    expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      "GET /v1/models",
      "POST /v1/chat/completions",
      "POST /v1/chat/completions",
      "POST /v1/chat/completions",
    ]);
    expect(fake.requests[0]!.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(report.models.map((m) => [m.model, m.roles, m.listed, m.review ?? null])).toEqual([
      ["gpt-4o", ["code"], true, null],
      ["gpt-4o-mini", ["review"], true, "tool call"],
    ]);
    expect(report.models[0]!.sends).toContain("temperature 0.5");
  });

  it("reports a model the endpoint does not know in one line", async () => {
    fake.enqueue({
      status: 404,
      body: {
        error: {
          message: "The model `mystery` does not exist",
          type: "invalid_request_error",
          code: "model_not_found",
        },
      },
    });
    const err = await catchError(check({ codeModel: "mystery" }));
    expect(err).toBeInstanceOf(ModelError);
    expect((err as ModelError).userMessage).toMatch(/^Model "mystery" was not found/);
  });

  it("reports an unreachable endpoint in one line", async () => {
    const url = `http://127.0.0.1:${await closedPort()}/v1`;
    const err = await catchError(check({ baseURL: url }));
    expect(err).toBeInstanceOf(ModelError);
    expect((err as ModelError).userMessage).toBe(`Cannot reach the model endpoint at ${url}: connection refused.`);
  });

  it("reports a rejected key without showing it", async () => {
    fake.modelsError = { status: 401 };
    const err = await catchError(check());
    expect((err as ModelError).userMessage).toMatch(/rejected the API key/);
    expect((err as Error).message).not.toContain(API_KEY);
  });
});

describe("error mapping", () => {
  it("a request that times out fails its step only, saying so", async () => {
    fake.setDefault({ delayMs: 1500, reply: GOOD_REPLY });
    const err = await catchError(
      coder({ timeoutMs: 200, maxRetries: 0, stream: false }).propose({ kind: "draft" }, ctx),
    );
    expect(err).toBeInstanceOf(StepFailure);
    expect((err as StepFailure).reason).toBe(
      `The model endpoint at ${baseURL} did not answer within 200 ms (1 attempt).`,
    );
    expect((err as StepFailure).requestFailed).toBe(true);
  });

  it("names DNS failures and hides credentials in the URL", () => {
    const cause = Object.assign(new TypeError("fetch failed"), {
      cause: Object.assign(new Error("getaddrinfo ENOTFOUND nowhere.invalid"), { code: "ENOTFOUND" }),
    });
    const err = toModelError(new APIConnectionError({ cause }), {
      baseURL: "https://user:pw@nowhere.invalid/v1?api-key=abc",
      model: "m",
      apiKey: API_KEY,
      maxRetries: 0,
      timeoutMs: 1000,
    });
    expect(err.userMessage).toBe(
      "Cannot reach the model endpoint at https://nowhere.invalid/v1: host not found (DNS lookup failed).",
    );
  });

  it("redacts the key from server messages", () => {
    expect(redact(`bad key ${API_KEY} given`, API_KEY)).toBe("bad key [redacted] given");
    expect(redact("Incorrect API key provided: sk-abc1234567*****wxyz", undefined)).not.toContain("sk-abc");
  });
});
