/**
 * Whole `aide run --coder openai` searches against the ways real providers answer: reasoning models that refuse a
 * temperature and max_tokens, local servers that refuse tools (Ollama's 400, llama.cpp's 500, OpenRouter's 404),
 * reasoning text in `<think>` tags or in `reasoning_content`, answers cut off at the output limit, Gemini's array
 * error bodies, slow streams and a stream that stalls, a request refused for its prompt, and a key revoked in the
 * middle of a run. Each is an 8-step search on an RMSE task whose scripts never say `lower_is_better`: it must
 * complete and deliver its lowest node. The real `openai` client talks to the fake over HTTP; scripts run in the
 * bubblewrap sandbox.
 *
 * Set AIDE_PROVIDER_REPORT=<file> to have each case's requests (kind and HTTP status) written there.
 */
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { runCommand } from "../../cli/commands/run.ts";
import { ModelError } from "../../src/errors.ts";
import { SECTION } from "../../src/search/prompts.ts";
import {
  describeRequest,
  FakeOpenAIServer,
  userText,
  type FakeReply,
  type ModelBehaviour,
  type RecordedRequest,
} from "../fakes/openai-server.ts";

const STEPS = 8;
const TASK = "Predict y from x1 and x2. The submission has columns id,y. Metric: RMSE.";

/** y = 3*x1 - 2*x2 + noise; 150 training rows, 40 test rows. */
function makeData(root: string): string {
  const input = join(root, "input");
  mkdirSync(input, { recursive: true });
  let seed = 7;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const rows = (from: number, n: number) =>
    Array.from({ length: n }, (_, i) => {
      const x1 = rand() * 10;
      const x2 = rand() * 5;
      return { id: from + i, x1, x2, y: 3 * x1 - 2 * x2 + (rand() - 0.5) };
    });
  const train = rows(0, 150);
  const test = rows(1000, 40);
  writeFileSync(
    join(input, "train.csv"),
    `id,x1,x2,y\n${train.map((r) => `${r.id},${r.x1},${r.x2},${r.y}`).join("\n")}\n`,
  );
  writeFileSync(join(input, "test.csv"), `id,x1,x2\n${test.map((r) => `${r.id},${r.x1},${r.x2}`).join("\n")}\n`);
  writeFileSync(join(input, "sample_submission.csv"), `id,y\n${test.map((r) => `${r.id},0`).join("\n")}\n`);
  return input;
}

/** A ridge regression whose CV RMSE rises with alpha; it prints the metric without its direction. */
const script = (alpha: number, broken = false) => `import json
import pandas as pd
from sklearn.linear_model import Ridge
from sklearn.model_selection import cross_val_score

train = pd.read_csv("./input/train.csv")
test = pd.read_csv("./input/test.csv")
features = ["x1", "x2"${broken ? ', "x3"' : ""}]
model = Ridge(alpha=${alpha})
rmse = -cross_val_score(model, train[features], train["y"], cv=3, scoring="neg_root_mean_squared_error").mean()
model.fit(train[features], train["y"])
pd.DataFrame({"id": test["id"], "y": model.predict(test[features])}).to_csv("./working/submission.csv", index=False)
print("AIDE_METRIC " + json.dumps({"name": "rmse", "value": float(rmse)}))
`;

const answer = (plan: string, code: string) => `${plan}\n\n\`\`\`python\n${code}\`\`\`\n`;

/**
 * The model's side of a search: pings of the start-up check, drafts with alphas far apart (the second one
 * broken), improvements that lower alpha, fixes, and reviews (a tool call when tools are offered, else the JSON).
 */
function modelResponder() {
  let drafts = 0;
  let improves = 0;
  return (req: RecordedRequest): FakeReply => {
    const text = userText(req);
    const body = req.body as { tools?: unknown[]; response_format?: unknown };
    if (text.includes("Reply with the single word OK")) return "OK";
    if (text.includes('{"ok": true}')) return '{"ok": true}';
    if (text.includes("Call the submit_review tool with"))
      return { tool: "submit_review", args: { is_bug: false, summary: "check", metric: 1, lower_is_better: null } };
    if (text.includes(SECTION.reviewedRun)) {
      const failed = text.includes("Traceback");
      const verdict = {
        is_bug: failed,
        summary: failed ? "KeyError: x3 is not a column." : "Ridge regression ran; CV RMSE reported.",
        metric: null,
        lower_is_better: null,
      };
      return Array.isArray(body.tools) && body.tools.length > 0
        ? { tool: "submit_review", args: verdict }
        : JSON.stringify(verdict);
    }
    if (text.includes(SECTION.buggyCode))
      return answer("The script used a column x3 that does not exist; drop it.", script(5));
    if (text.includes(SECTION.previousSolution)) {
      improves++;
      return answer(`Lower the ridge penalty to ${(1 / (improves + 1)).toFixed(3)}.`, script(1 / (improves + 1)));
    }
    drafts++;
    return answer(
      `Draft ${drafts}: ridge regression with alpha ${[300, 30, 100, 10, 1000][(drafts - 1) % 5]}.`,
      script([300, 30, 100, 10, 1000][(drafts - 1) % 5]!, drafts === 2),
    );
  };
}

interface Case {
  name: string;
  model: string;
  behaviour?: ModelBehaviour;
  /** Extra config for the run (openai.*). */
  openai?: Record<string, unknown>;
  /** Wraps the responder, e.g. to cut the first answer off. */
  wrap?: (respond: (r: RecordedRequest) => FakeReply) => (r: RecordedRequest) => FakeReply;
  check?: (requests: RecordedRequest[], journal: Journal) => void;
}

interface JournalNode {
  id: number;
  plan: string;
  code: string;
  buggy: boolean;
  analysis: string;
  output: string;
  metric: { name: string; value: number; lowerIsBetter: boolean } | null;
  usage: { promptTokens: number; completionTokens: number; reasoningTokens?: number };
}
interface Journal {
  lowerIsBetter: boolean | null;
  bestNodeId: number | null;
  finishReason: string;
  error?: string;
  nodes: JournalNode[];
}

const chat = (requests: RecordedRequest[]) => requests.filter((r) => r.path.endsWith("/chat/completions"));
const statuses = (requests: RecordedRequest[]) => chat(requests).map((r) => r.status);

const CASES: Case[] = [
  {
    name: "OpenAI reasoning model (o3): no temperature, max_completion_tokens, reasoning_effort",
    model: "o3",
    behaviour: { reasoning: true },
    openai: { temperature: 0.5, maxOutputTokens: 16000, reasoningEffort: "low" },
    check: (requests, journal) => {
      for (const r of chat(requests)) {
        expect(r.body.temperature).toBeUndefined();
        expect(r.body.max_tokens).toBeUndefined();
        expect(r.body.max_completion_tokens).toBe(16000);
        expect(r.body.reasoning_effort).toBe("low");
      }
      expect(statuses(requests).every((s) => s === 200)).toBe(true);
      expect(journal.nodes.every((n) => (n.usage.reasoningTokens ?? 0) > 0)).toBe(true);
    },
  },
  {
    name: "a reasoning deployment under a name of its own (Azure): temperature and max_tokens refused, then learnt",
    model: "prod-reasoner",
    behaviour: { reasoning: true, provider: "azure" },
    openai: { temperature: 0.5, maxOutputTokens: 16000 },
    check: (requests) => {
      const refused = chat(requests).filter((r) => r.status === 400);
      // Learnt once for the process: the temperature, then max_tokens; never sent again after that.
      expect(refused.map((r) => describeRequest(r))).toHaveLength(2);
      const after = chat(requests).slice(chat(requests).lastIndexOf(refused.at(-1)!) + 1);
      expect(after.length).toBeGreaterThan(STEPS);
      for (const r of after) {
        expect(r.body.temperature).toBeUndefined();
        expect(r.body.max_completion_tokens).toBe(16000);
      }
    },
  },
  {
    name: "Ollama model without tools: the review asks for JSON",
    model: "qwen2.5-coder:14b",
    behaviour: { provider: "ollama", tools: false },
    check: (requests) => {
      const withTools = chat(requests).filter((r) => Array.isArray(r.body.tools));
      expect(withTools.map((r) => r.status)).toEqual([400]);
      expect(
        chat(requests).filter((r) => r.body.response_format?.type === "json_object").length,
      ).toBeGreaterThanOrEqual(STEPS);
    },
  },
  {
    name: "llama.cpp without --jinja: tools answered with HTTP 500",
    model: "local-gguf",
    behaviour: { provider: "llamacpp", tools: false, jsonMode: false },
    openai: { maxRetries: 0 },
    check: (requests) => {
      expect(
        chat(requests)
          .filter((r) => Array.isArray(r.body.tools))
          .map((r) => r.status),
      ).toEqual([500]);
      expect(
        chat(requests)
          .filter((r) => r.body.response_format !== undefined)
          .map((r) => r.status),
      ).toEqual([400]);
    },
  },
  {
    name: "OpenRouter route without tool use: HTTP 404 for tools only",
    model: "openrouter-model",
    behaviour: { provider: "openrouter", tools: false },
    check: (requests) => {
      expect(
        chat(requests)
          .filter((r) => Array.isArray(r.body.tools))
          .map((r) => r.status),
      ).toEqual([404]);
    },
  },
  {
    name: "DeepSeek-R1 style <think> reasoning in the content",
    model: "deepseek-r1:14b",
    behaviour: { provider: "ollama", reasoningIn: "think-tags" },
    check: (_requests, journal) => {
      for (const n of journal.nodes) {
        expect(n.plan).not.toMatch(/think|draft idea|throwaway/i);
        expect(n.code).not.toContain("draft idea");
      }
    },
  },
  {
    name: "vLLM reasoning_content, without streaming",
    model: "Qwen/QwQ-32B",
    behaviour: { provider: "vllm", reasoningIn: "reasoning_content", stream: false },
    check: (requests, journal) => {
      expect(
        chat(requests)
          .filter((r) => r.body.stream === true)
          .map((r) => r.status),
      ).toEqual([400]);
      for (const n of journal.nodes) expect(n.plan).not.toMatch(/throwaway|draft idea/);
      expect(journal.nodes.every((n) => (n.usage.reasoningTokens ?? 0) > 0)).toBe(true);
    },
  },
  {
    name: "answers cut off at the output limit (finish_reason: length)",
    model: "short-writer",
    wrap: (respond) => {
      let proposals = 0;
      return (r) => {
        const reply = respond(r);
        const text = userText(r);
        const isProposal =
          !text.includes(SECTION.reviewedRun) &&
          !text.includes("Reply with the single word OK") &&
          !text.includes("submit_review tool with") &&
          !text.includes('{"ok": true}');
        if (!isProposal || typeof reply !== "string") return reply;
        proposals++;
        // Every other proposal is first cut off in the middle of its script (the fence is left open).
        if (proposals % 2 === 1)
          return { content: reply.slice(0, Math.floor(reply.length * 0.6)), finishReason: "length" };
        return reply;
      };
    },
    check: (requests, journal) => {
      // No node runs a cut-off script: every script ends with its metric line.
      for (const n of journal.nodes.filter((n) => n.code)) expect(n.code.trimEnd().endsWith("}))")).toBe(true);
      const nudged = chat(requests).filter((r) => userText(r).includes("cut off at the output limit"));
      expect(nudged.length).toBeGreaterThanOrEqual(STEPS);
    },
  },
  {
    name: "Anthropic's OpenAI-compatible endpoint: a temperature above 1 refused, then not sent",
    model: "claude-sonnet-4-5",
    behaviour: { provider: "anthropic" },
    openai: { temperature: 1.5 },
    check: (requests) => {
      expect(statuses(requests).filter((s) => s !== 200)).toEqual([400]);
      const refused = chat(requests).find((r) => r.status === 400)!;
      expect(refused.body.temperature).toBe(1.5);
      expect(
        chat(requests)
          .filter((r) => r.status === 200)
          .every((r) => r.body.temperature === undefined),
      ).toBe(true);
    },
  },
  {
    name: "Gemini's OpenAI-compatible endpoint: array error bodies",
    model: "gemini-2.5-flash",
    behaviour: { provider: "gemini", streamOptions: false, errorBodyAsArray: true },
    check: (requests) => {
      expect(
        chat(requests)
          .filter((r) => r.body.stream_options !== undefined)
          .map((r) => r.status),
      ).toEqual([400]);
      expect(
        chat(requests)
          .filter((r) => r.status === 200)
          .every((r) => r.body.stream_options === undefined),
      ).toBe(true);
    },
  },
  {
    name: "a slow local model that streams for longer than the idle timeout in all",
    model: "slow-local",
    behaviour: { provider: "ollama", chunkDelayMs: 60 },
    openai: { idleTimeoutSec: 1 },
    check: (requests) => {
      expect(statuses(requests).every((s) => s === 200)).toBe(true);
    },
  },
  {
    name: "one answer stalls mid-stream and one request is refused for its prompt: only those steps fail",
    model: "flaky",
    openai: { idleTimeoutSec: 1, maxRetries: 0 },
    wrap: (respond) => {
      let proposals = 0;
      return (r) => {
        const text = userText(r);
        const isProposal =
          !text.includes(SECTION.reviewedRun) &&
          !text.includes("Reply with the single word OK") &&
          !text.includes("submit_review tool with") &&
          !text.includes('{"ok": true}');
        if (!isProposal) return respond(r);
        proposals++;
        if (proposals === 3)
          return {
            status: 400,
            body: {
              error: {
                message: "This model's maximum context length is 16384 tokens.",
                type: "invalid_request_error",
                param: "messages",
                code: "context_length_exceeded",
              },
            },
          };
        const reply = respond(r) as string;
        if (proposals === 5) return { content: reply, stallAfterChunks: 2 };
        return reply;
      };
    },
    check: (_requests, journal) => {
      const failed = journal.nodes.filter((n) => n.code === "");
      expect(failed).toHaveLength(2);
      expect(failed.some((n) => /maximum context length/.test(n.analysis))).toBe(true);
      expect(failed.some((n) => /stopped writing: no token for 1 s/.test(n.analysis))).toBe(true);
    },
  },
];

describe("aide run --coder openai against real providers' behaviours (fake server, real client, real sandbox)", () => {
  const server = new FakeOpenAIServer({ models: CASES.map((c) => c.model) });
  let root = "";
  const env = { ...process.env };
  beforeAll(async () => {
    await server.start();
    root = mkdtempSync(join(tmpdir(), "aide-providers-"));
  });
  afterAll(async () => {
    await server.close();
  });
  afterEach(() => {
    process.env = { ...env };
  });

  /** Runs one 8-step search with the case's model and config; returns the journal and the requests it made. */
  async function run(c: Case, dir: string, options: { steps?: number } = {}) {
    const input = makeData(dir);
    const respond = modelResponder();
    server.behaviours = c.behaviour ? { [c.model]: c.behaviour } : {};
    server.setDefault(c.wrap ? c.wrap(respond) : respond);
    const first = server.requests.length;
    const configPath = join(dir, "aide.yaml");
    writeFileSync(configPath, JSON.stringify({ openai: { stream: true, ...c.openai } }));
    process.env.AIDE_CONFIG = configPath;
    delete process.env.OPENAI_API_KEY;
    const out = join(dir, "out");
    const sink = { write: () => true, isTTY: false } as unknown as NodeJS.WriteStream;
    const flags = {
      task: TASK,
      data: input,
      steps: String(options.steps ?? STEPS),
      coder: "openai",
      baseUrl: server.baseURL,
      codeModel: c.model,
      reviewModel: c.model,
      executor: "sandbox",
      timeout: "60s",
      memory: "2048",
      out,
    };
    const outcome = await runCommand(flags, sink).then(
      (summary) => ({ summary, error: null as unknown }),
      (error: unknown) => ({ summary: null, error }),
    );
    const requests = server.requests.slice(first);
    if (!existsSync(join(out, "journal.json")))
      throw new Error(
        `no journal.json; the run failed with: ${String(outcome.error)}\n${requests.map(describeRequest).join("\n")}`,
      );
    const journal = JSON.parse(readFileSync(join(out, "journal.json"), "utf8")) as Journal;
    if (process.env.AIDE_PROVIDER_REPORT) {
      const best = journal.nodes.find((n) => n.id === journal.bestNodeId);
      appendFileSync(
        process.env.AIDE_PROVIDER_REPORT,
        `## ${c.name}\n` +
          requests.map((r) => `- ${describeRequest(r)}`).join("\n") +
          `\n- delivered: ${journal.finishReason}${journal.error ? ` (${journal.error})` : ""}, ${journal.nodes.length} nodes, best node ${journal.bestNodeId} rmse ${best?.metric?.value ?? "-"}\n\n`,
      );
    }
    return { ...outcome, requests, journal, out };
  }

  for (const c of CASES) {
    it(c.name, async () => {
      const dir = mkdtempSync(join(root, "case-"));
      const { summary, error, requests, journal } = await run(c, dir);
      expect(error).toBeNull();
      expect(summary!.nodes).toBe(STEPS);
      expect(journal.nodes).toHaveLength(STEPS);
      expect(journal.lowerIsBetter).toBe(true);
      const ranked = journal.nodes.filter((n) => !n.buggy && n.metric);
      expect(ranked.length).toBeGreaterThan(2);
      const lowest = ranked.reduce((a, b) => (b.metric!.value < a.metric!.value ? b : a));
      expect(journal.bestNodeId).toBe(lowest.id);
      expect(readFileSync(join(dir, "out", "best_solution.py"), "utf8")).toBe(lowest.code);
      c.check?.(requests, journal);
    }, 180_000);
  }

  it("a key revoked mid-run ends the run at once, and its journal, best node and reason are still written", async () => {
    const dir = mkdtempSync(join(root, "case-"));
    let chats = 0;
    const c: Case = {
      name: "a key revoked mid-run",
      model: "gpt-4.1",
      wrap: (respond) => (r) => {
        chats++;
        if (chats > 14)
          return {
            status: 401,
            body: {
              error: {
                message: "Incorrect API key provided: sk-...abcd.",
                type: "invalid_request_error",
                param: null,
                code: "invalid_api_key",
              },
            },
          };
        return respond(r);
      },
    };
    const started = Date.now();
    const { error, journal, requests } = await run(c, dir, { steps: 20 });
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(error).toBeInstanceOf(ModelError);
    expect((error as ModelError).userMessage).toMatch(/rejected the API key \(401/);
    // One 401, no retries of it, no further requests.
    expect(chat(requests).filter((r) => r.status === 401)).toHaveLength(1);
    expect(chat(requests).at(-1)!.status).toBe(401);
    expect(journal.finishReason).toBe("failed");
    expect(journal.error).toMatch(/rejected the API key/);
    expect(journal.nodes.length).toBeGreaterThanOrEqual(4);
    expect(journal.bestNodeId).not.toBeNull();
    expect(readFileSync(join(dir, "out", "best_solution.py"), "utf8")).toContain("Ridge");
  }, 180_000);
});
