import { mkdtempSync, mkdirSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OpenAICoder } from "../../src/coders/openai/index.ts";
import { loadConfig } from "../../src/config.ts";
import { silentLogger } from "../../src/logger.ts";
import { executeRun } from "../../src/runs/execute.ts";
import { SECTION } from "../../src/search/prompts.ts";
import { SandboxExecutor } from "../../runner/executors/sandbox.ts";
import { FakeOpenAIServer, userText, type RecordedRequest } from "../fakes/openai-server.ts";
import { RecordingSink } from "../fakes/search-fakes.ts";

/** A small regression task the test makes itself: y = 3*x1 - 2*x2 + noise. */
function makeTask(): string {
  const dir = mkdtempSync(join(tmpdir(), "aide-openai-e2e-"));
  const input = join(dir, "input");
  mkdirSync(input);
  let seed = 42;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const rows = (from: number, n: number) =>
    Array.from({ length: n }, (_, i) => {
      const x1 = rand() * 10,
        x2 = rand() * 5;
      return { id: from + i, x1, x2, y: 3 * x1 - 2 * x2 + (rand() - 0.5) };
    });
  const train = rows(0, 120),
    test = rows(1000, 40);
  writeFileSync(
    join(input, "train.csv"),
    `id,x1,x2,y\n${train.map((r) => `${r.id},${r.x1},${r.x2},${r.y}`).join("\n")}\n`,
  );
  writeFileSync(join(input, "test.csv"), `id,x1,x2\n${test.map((r) => `${r.id},${r.x1},${r.x2}`).join("\n")}\n`);
  writeFileSync(join(input, "sample_submission.csv"), `id,y\n${test.map((r) => `${r.id},0`).join("\n")}\n`);
  return dir;
}

const script = (opts: { alpha: number; features: string; broken?: boolean }) => `import json
import pandas as pd
from sklearn.linear_model import Ridge
from sklearn.model_selection import cross_val_score

train = pd.read_csv("./input/train.csv")
test = pd.read_csv("./input/test.csv")
features = [${opts.features}]
${opts.broken ? 'features.append("x3")  # a column that does not exist\n' : ""}model = Ridge(alpha=${opts.alpha})
rmse = -cross_val_score(model, train[features], train["y"], cv=3, scoring="neg_root_mean_squared_error").mean()
print("cv rmse", rmse)
model.fit(train[features], train["y"])
pd.DataFrame({"id": test["id"], "y": model.predict(test[features])}).to_csv("./working/submission.csv", index=False)
print("AIDE_METRIC " + json.dumps({"name": "rmse", "value": float(rmse), "lower_is_better": True}))
`;

const reply = (plan: string, code: string) => `${plan}\n\n\`\`\`python\n${code}\`\`\`\n`;

let drafts = 0;
let improves = 0;
function respond(req: RecordedRequest) {
  const text = userText(req);
  if (req.body.tools) {
    const failed = text.includes("Traceback");
    return {
      tool: "submit_review",
      args: {
        is_bug: failed,
        summary: failed ? "KeyError: x3 is not a column." : "Ridge regression ran; CV RMSE reported.",
        metric: null,
        lower_is_better: true,
      },
    };
  }
  if (text.includes(`# ${SECTION.buggyCode}`) || text.includes(SECTION.buggyCode)) {
    return reply(
      "The script used a column x3 that does not exist. Drop it and keep x1 and x2.",
      script({ alpha: 1, features: '"x1", "x2"' }),
    );
  }
  if (text.includes(SECTION.previousSolution)) {
    improves++;
    return reply(
      `Lower the ridge penalty to ${1 / (improves + 1)}.`,
      script({ alpha: 1 / (improves + 1), features: '"x1", "x2"' }),
    );
  }
  drafts++;
  const broken = drafts === 2 || drafts === 4;
  return reply(
    `Draft ${drafts}: ridge regression on ${drafts % 2 ? "x1 only" : "both inputs"}.`,
    script({ alpha: 10 * drafts, features: drafts % 2 ? '"x1"' : '"x1", "x2"', broken }),
  );
}

describe("openai coder through a whole search (fake OpenAI server, real sandbox)", () => {
  const server = new FakeOpenAIServer({ defaultReply: respond, models: ["coder-model", "review-model"] });
  let baseURL = "";
  beforeAll(async () => {
    baseURL = await server.start();
  });
  afterAll(async () => server.close());

  it("drafts, debugs and improves, counting tokens and cost", async () => {
    // A rate limit and a reply without code on the way: both are retried, not fatal.
    server.enqueue({ status: 429, retryAfterMs: 50 }, "I would use ridge regression.");
    const dir = makeTask();
    const config = loadConfig({
      env: {},
      overrides: { search: { steps: 11, seed: 3 }, execution: { timeoutSec: 60, memoryMb: 2048 } },
    });
    const coder = new OpenAICoder({
      apiKey: "sk-test",
      baseURL,
      codeModel: "coder-model",
      reviewModel: "review-model",
      maxRetries: 2,
      timeoutMs: 10_000,
      prices: {
        "coder-model": { inputPerMTok: 1, outputPerMTok: 2 },
        "review-model": { inputPerMTok: 0.5, outputPerMTok: 1 },
      },
      logger: silentLogger,
    });
    const sink = new RecordingSink();
    const result = await executeRun({
      runId: "e2e",
      task: "Predict y from x1 and x2. Metric: RMSE (lower is better). Submit id,y.",
      inputDir: join(dir, "input"),
      runDir: join(dir, "run"),
      config,
      coder,
      executor: new SandboxExecutor({ logger: silentLogger }),
      sink,
      logger: silentLogger,
    });

    const nodes = result.journal.nodes;
    expect(nodes).toHaveLength(11);
    const stages = new Set(nodes.map((n) => n.stage));
    expect(stages).toEqual(new Set(["draft", "debug", "improve"]));
    expect(nodes.filter((n) => n.stage === "draft" && n.buggy)).toHaveLength(2);
    for (const n of nodes.filter((n) => n.stage === "debug")) expect(n.buggy).toBe(false);
    expect(result.lowerIsBetter).toBe(true);
    expect(result.best!.metric!.value).toBeLessThan(0.6);
    expect(nodes.every((n) => n.usage.promptTokens > 0 && n.usage.costUsd > 0)).toBe(true);
    expect(result.usage.promptTokens).toBe(nodes.reduce((s, n) => s + n.usage.promptTokens, 0));
    // The first proposal needed three requests (429, no code, good); its tokens count twice-answered replies.
    expect(server.chatRequests.length).toBe(11 * 2 + 2);
    const bestSubmission = readFileSync(join(dir, "run", result.best!.submissionPath!), "utf8");
    expect(bestSubmission.split("\n")[0]).toBe("id,y");
    expect(sink.events.filter((e) => e.type === "best.improved").length).toBeGreaterThan(1);
  });
});
