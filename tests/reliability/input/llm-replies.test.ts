/**
 * Bad input, part 5: oversized and malformed answers of the model endpoint, through the openai coder in a whole
 * search (executeRun with the bubblewrap sandbox) against the fake OpenAI server.
 *
 * - Answers a script cannot come from (megabytes of prose, a code block over the size limit, no code, empty
 *   answers, truncated JSON, no answer in time): the coder asks again a bounded number of times, then that step
 *   is a buggy node saying why in one clear sentence, and the search goes on.
 * - What no later step can fix (a foreign answer that means a wrong base URL, 500 and 429 storms after the
 *   client's retries): the run fails with `run.failed` carrying one clear sentence.
 * - Unusable reviews (truncated tool-call JSON, the wrong tool, invalid arguments, a megabyte of summary): the
 *   node still gets a review derived from the run, saying why, and the search goes on.
 * After every failure the same coder, endpoint and executor run a good search (the process is healthy).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_SCRIPT_CHARS, MAX_SUMMARY_CHARS, OpenAICoder } from "../../../src/coders/openai/index.ts";
import { loadConfig } from "../../../src/config.ts";
import { silentLogger } from "../../../src/logger.ts";
import { executeRun } from "../../../src/runs/execute.ts";
import type { RunEvent, SolutionNode } from "../../../src/search/types.ts";
import { selectExecutor } from "../../../runner/executors/select.ts";
import { FakeOpenAIServer, userText, type FakeReply, type RecordedRequest } from "../../fakes/openai-server.ts";
import { SECTION } from "../../../src/search/prompts.ts";
import { RecordingSink } from "../../fakes/search-fakes.ts";
import { tinyTaskFiles, tinyTaskScript } from "./archives.ts";

const server = new FakeOpenAIServer({ models: ["code-model", "review-model"] });
let root: string;
let inputDir: string;
let baseURL = "";
let seq = 0;
const executor = await selectExecutor("sandbox", { logger: silentLogger });

const fenced = (code: string) => `A simple baseline: predict the majority class.\n\n\`\`\`python\n${code}\n\`\`\`\n`;
const goodReview = {
  tool: "submit_review",
  args: {
    is_bug: false,
    summary: "Majority baseline ran and printed its accuracy.",
    metric: null,
    lower_is_better: false,
  },
};

/** Proposals get `propose`; the n-th review request gets `review(n)`. */
function responder(propose: FakeReply, review: (n: number) => FakeReply = () => goodReview): FakeReply {
  let reviews = 0;
  // Reviews are asked with the tool, or (after two answers without it) for the JSON object: both get `review`.
  return (req: RecordedRequest) =>
    req.body?.tools || userText(req).includes(SECTION.reviewedRun) ? review(++reviews) : propose;
}

async function search(
  reply: FakeReply,
  steps = 1,
  timeoutSec = 10,
): Promise<{ events: RunEvent[]; nodes: readonly SolutionNode[]; error: unknown }> {
  server.setDefault(reply);
  // Whole (not streamed) answers: the raw bodies below are what a non-streaming server sends.
  const coder = new OpenAICoder({
    apiKey: "sk-test",
    baseURL,
    codeModel: "code-model",
    reviewModel: "review-model",
    maxRetries: 1,
    timeoutMs: timeoutSec * 1000,
    stream: false,
    prices: {},
    logger: silentLogger,
  });
  const config = loadConfig({
    env: {},
    overrides: { search: { steps, parallel: 1 }, execution: { timeoutSec: 60, memoryMb: 512 } },
  });
  const sink = new RecordingSink();
  const runDir = join(root, `run-${++seq}`);
  try {
    const result = await executeRun({
      runId: `llm-${seq}`,
      task: "Predict y. Metric: accuracy.",
      inputDir,
      runDir,
      config,
      coder,
      executor,
      sink,
      logger: silentLogger,
    });
    return { events: sink.events, nodes: result.journal.nodes, error: null };
  } catch (error) {
    return { events: sink.events, nodes: sink.nodes, error };
  }
}

async function expectHealthy(): Promise<void> {
  const { events, nodes, error } = await search(responder(fenced(tinyTaskScript())));
  expect(error).toBeNull();
  expect(events.at(-1)?.type).toBe("run.finished");
  expect(nodes[0]?.buggy).toBe(false);
}

beforeAll(async () => {
  baseURL = await server.start();
  root = mkdtempSync(join(tmpdir(), "aide-rel-llm-"));
  inputDir = join(root, "input");
  mkdirSync(inputDir);
  for (const [name, data] of Object.entries(tinyTaskFiles())) writeFileSync(join(inputDir, name), data);
});

afterAll(async () => {
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

const MB = 1024 * 1024;
const completion = (choices: unknown[]) =>
  JSON.stringify({
    id: "chatcmpl-x",
    object: "chat.completion",
    created: 1,
    model: "code-model",
    choices,
    usage: { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 },
  });

const STEP_LOCAL: Array<[string, FakeReply, RegExp, number?]> = [
  [
    "5 MB of prose and no code",
    `I would approach this carefully. ${"Consider the data. ".repeat((5 * MB) / 19)}`,
    /gave no usable script in 3 answers \(the last time the answer had no Python code block\)/,
  ],
  [
    "a code block over the size limit",
    fenced(`x = 1\n`.repeat(60_000)),
    new RegExp(`its script had 3\\d{5} characters, more than the ${MAX_SCRIPT_CHARS} allowed`),
  ],
  [
    "prose with no code fence",
    "Use gradient boosting with target encoding; tune the depth.",
    /no usable script .*had no Python code block/,
  ],
  ["an answer with no choices", { raw: completion([]) }, /no usable script .*the answer was empty/],
  [
    "a message whose content is a number",
    { raw: completion([{ index: 0, message: { role: "assistant", content: 42 }, finish_reason: "stop" }]) },
    /no usable script/,
  ],
  [
    "truncated JSON",
    {
      raw: '{"id":"chatcmpl-x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"```python\\nimport',
    },
    /answered with JSON that cannot be read \(cut off or malformed\)/,
  ],
  ["no answer within the timeout", { delayMs: 4000, reply: "late" }, /did not answer within 2 s \(2 attempts\)/, 2],
];

const FATAL: Array<[string, FakeReply, RegExp]> = [
  [
    "an HTML error page with status 200",
    { raw: "<html><body><h1>502 Bad Gateway</h1></body></html>", contentType: "text/html" },
    /answered with something that is not a chat completion; check the base URL/,
  ],
  [
    "JSON that is not a completion",
    { raw: JSON.stringify({ result: "ok", data: [1, 2, 3] }) },
    /answered with something that is not a chat completion/,
  ],
  ["HTTP 500 on every request", { status: 500 }, /kept failing \(HTTP 500\) after 2 attempts/],
  [
    "HTTP 429 on every request",
    { status: 429, retryAfterMs: 20 },
    /kept rate-limiting requests \(429\) after 2 attempts/,
  ],
];

/** Bounded: at most 3 answers, each with at most one transport retry; an oversized answer is not sent back whole. */
function expectBounded(before: number): void {
  expect(server.chatRequests.length - before).toBeLessThanOrEqual(6);
  for (const r of server.chatRequests.slice(before)) expect(JSON.stringify(r.body).length).toBeLessThan(64 * 1024);
}

function expectOneSentence(message: string): void {
  expect(message).not.toMatch(/\n|TypeError|Cannot read|undefined|sk-test/);
  expect(message.length).toBeLessThan(400);
}

describe("malformed and oversized answers to proposals", () => {
  it.each(STEP_LOCAL)(
    "%s: that step is a buggy node saying why in one sentence, and the run goes on",
    async (_what, reply, expected, timeoutSec) => {
      const before = server.chatRequests.length;
      const { events, nodes, error } = await search(responder(reply), 1, timeoutSec ?? 10);
      expect(error).toBeNull();
      expect(events.at(-1)?.type).toBe("run.finished");
      expect(nodes).toHaveLength(1);
      const node = nodes[0]!;
      expect(node.buggy).toBe(true);
      expect(node.code).toBe("");
      const reason = node.analysis.replace(/^No script was run: /, "");
      if (process.env.AIDE_SHOW_ERRORS) console.info(`[${_what}] ${reason}`);
      expect(reason).toMatch(expected);
      expectOneSentence(reason);
      // The model's answer is kept with the node, cut to a few kilobytes.
      expect(node.output.length).toBeLessThan(8 * 1024);
      expectBounded(before);
      await expectHealthy();
    },
    60_000,
  );

  it.each(FATAL)(
    "%s: the run fails with one clear sentence, and the next run works",
    async (_what, reply, expected) => {
      const before = server.chatRequests.length;
      const { events, error } = await search(responder(reply), 1);
      expect(error).not.toBeNull();
      const last = events.at(-1);
      expect(last?.type).toBe("run.failed");
      const message = last?.type === "run.failed" ? last.error : "";
      if (process.env.AIDE_SHOW_ERRORS) console.info(`[${_what}] ${message}`);
      expect(message).toMatch(expected);
      expectOneSentence(message);
      expectBounded(before);
      await expectHealthy();
    },
    60_000,
  );

  it("text parts instead of a string (some compatible servers) still give a script", async () => {
    const parts = {
      raw: completion([
        {
          index: 0,
          message: { role: "assistant", content: [{ type: "text", text: fenced(tinyTaskScript()) }] },
          finish_reason: "stop",
        },
      ]),
    };
    const { error, nodes } = await search(responder(parts));
    expect(error).toBeNull();
    expect(nodes[0]?.buggy).toBe(false);
  });
});

describe("malformed reviews", () => {
  it("truncated tool JSON, the wrong tool, invalid arguments and a megabyte of summary: each node says why, the search goes on", async () => {
    const review = (n: number): FakeReply => {
      if (n <= 3) return { tool: "submit_review", args: '{"is_bug": false, "summary": "ran fi' };
      if (n <= 6) return { tool: "delete_everything", args: { path: "/" } };
      if (n <= 9)
        return { tool: "submit_review", args: { is_bug: "maybe", summary: "", metric: "high", lower_is_better: 3 } };
      return {
        tool: "submit_review",
        args: { is_bug: false, summary: "Fine. ".repeat(MB / 6), metric: null, lower_is_better: false },
      };
    };
    const { events, nodes, error } = await search(responder(fenced(tinyTaskScript()), review), 4);
    expect(error).toBeNull();
    expect(events.at(-1)?.type).toBe("run.finished");
    expect(nodes).toHaveLength(4);
    expect(nodes[0]!.analysis).toMatch(
      /review model failed to give a usable review \(the tool arguments were not valid JSON\)/,
    );
    // Two answers without the tool, then the JSON form is asked for, and answered with the wrong tool again.
    expect(nodes[1]!.analysis).toMatch(/review model failed to give a usable review \(no JSON object in the answer\)/);
    expect(nodes[2]!.analysis).toMatch(
      /review model failed to give a usable review \(is_bug was missing or not a boolean\)/,
    );
    expect(nodes[3]!.analysis.length).toBeLessThanOrEqual(MAX_SUMMARY_CHARS + 200);
    // Judged from the run: the scripts worked, so the nodes are good.
    expect(nodes.every((n) => !n.buggy && n.metric?.name === "accuracy")).toBe(true);
  }, 120_000);
});
