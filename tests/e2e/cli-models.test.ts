/**
 * The `aide` command against a fake OpenAI-compatible server, as a user meets it: `aide models check` saying what
 * an endpoint's models take, and `aide run --coder openai` ending at once, with its outputs, when the model
 * fails for good (it used to print its line and then wait out the warm interpreter's ten-minute idle timer).
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SECTION } from "../../src/search/prompts.ts";
import { FakeOpenAIServer, userText } from "../fakes/openai-server.ts";

const run = promisify(execFile);
const BIN = join(import.meta.dirname, "../../bin/aide.mjs");
const EXAMPLE = join(import.meta.dirname, "../../examples/loan-default");

async function aide(args: string[], env: Record<string, string> = {}) {
  const started = Date.now();
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], {
      env: { ...process.env, OPENAI_API_KEY: "", AIDE_CONFIG: "", ...env },
      timeout: 300_000,
    });
    return { code: 0, stdout, stderr, ms: Date.now() - started };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr, ms: Date.now() - started };
  }
}

const SCRIPT = `import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
train = pd.read_csv("./input/train.csv")
test = pd.read_csv("./input/test.csv")
X = train.select_dtypes("number").drop(columns=["id", "default"], errors="ignore").fillna(0)
y = train["default"]
auc = cross_val_score(LogisticRegression(max_iter=200), X, y, cv=3, scoring="roc_auc").mean()
model = LogisticRegression(max_iter=200).fit(X, y)
sub = pd.read_csv("./input/sample_submission.csv")
sub.iloc[:, 1] = model.predict_proba(test[X.columns].fillna(0))[:, 1]
sub.to_csv("./working/submission.csv", index=False)
print('AIDE_METRIC {"name": "roc_auc", "value": %f}' % auc)
`;

describe("aide models check and aide run --coder openai (spawned CLI, fake server)", () => {
  const server = new FakeOpenAIServer({
    strictModels: true,
    models: ["qwen2.5-coder:14b", "prod-reasoner", "gpt-4.1"],
    behaviours: {
      "qwen2.5-coder:14b": { provider: "ollama", tools: false },
      "prod-reasoner": { reasoning: true, provider: "azure" },
    },
  });
  beforeAll(async () => {
    await server.start();
  });
  afterAll(async () => server.close());

  it("tells what a local model without tools takes and what aide will send it", async () => {
    server.setDefault((req) => (userText(req).includes('{"ok": true}') ? '{"ok": true}' : "OK"));
    const r = await aide(["models", "check", "--base-url", server.baseURL, "--code-model", "qwen2.5-coder:14b"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Endpoint ${server.baseURL}: answers, lists 3 models.`);
    expect(r.stdout).toContain("qwen2.5-coder:14b (code and review model)");
    expect(r.stdout).toContain("review verdict by: JSON mode");
    expect(r.stdout).toContain("learnt: takes no tools: the review asks for JSON instead");
    expect(r.stdout).toMatch(
      /aide sends: temperature 0\.5, .*max_tokens|aide sends: temperature 0\.5, no output limit/,
    );
  });

  it("learns what a reasoning deployment under its own name refuses", async () => {
    server.setDefault((req) =>
      (req.body.tools ?? []).length
        ? { tool: "submit_review", args: { is_bug: false, summary: "check", metric: 1, lower_is_better: null } }
        : "OK",
    );
    const r = await aide(["models", "check", "--base-url", server.baseURL, "--code-model", "prod-reasoner", "--json"]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.models[0].learnt).toContain("takes no temperature but its default");
    expect(report.models[0].review).toBe("tool call");
    expect(report.models[0].sends[0]).toBe("no temperature (the model's default)");
  });

  it("says in one line when a model does not exist, and exits 1", async () => {
    const r = await aide(["models", "check", "--base-url", server.baseURL, "--code-model", "no-such-model"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/^aide: Model "no-such-model" was not found at http:\/\/127\.0\.0\.1:\d+\/v1 \(404\)/);
  });

  it("a run whose key is refused mid-run exits at once, with its journal, best node and why it ended", async () => {
    let proposals = 0;
    server.setDefault((req) => {
      const text = userText(req);
      if (text.includes("Reply with the single word OK")) return "OK";
      if ((req.body.tools ?? []).length)
        return {
          tool: "submit_review",
          args: { is_bug: false, summary: "Logistic regression ran.", metric: null, lower_is_better: null },
        };
      if (text.includes(SECTION.reviewedRun))
        return '{"is_bug": false, "summary": "ok", "metric": null, "lower_is_better": null}';
      proposals++;
      if (proposals > 2)
        return {
          status: 401,
          body: {
            error: {
              message: "Incorrect API key provided: sk-...wxyz.",
              type: "invalid_request_error",
              param: null,
              code: "invalid_api_key",
            },
          },
        };
      return `Logistic regression on the numeric columns.\n\n\`\`\`python\n${SCRIPT}\`\`\`\n`;
    });
    const out = mkdtempSync(join(tmpdir(), "aide-cli-models-"));
    const r = await aide([
      "run",
      "--task",
      join(EXAMPLE, "task.md"),
      "--data",
      join(EXAMPLE, "input"),
      "--steps",
      "10",
      "--coder",
      "openai",
      "--base-url",
      server.baseURL,
      "--code-model",
      "gpt-4.1",
      "--review-model",
      "gpt-4.1",
      "--executor",
      "sandbox",
      "--out",
      out,
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/^aide: The model endpoint at .* rejected the API key \(401 Unauthorized\)/);
    // The bug was an exit ten minutes later; a generous bound, not a benchmark.
    expect(r.ms).toBeLessThan(90_000);
    expect(r.stdout).toContain("Failed: 2 nodes");
    const journal = JSON.parse(readFileSync(join(out, "journal.json"), "utf8"));
    expect(journal.finishReason).toBe("failed");
    expect(journal.error).toMatch(/rejected the API key/);
    expect(journal.nodes).toHaveLength(2);
    expect(journal.bestNodeId).not.toBeNull();
    expect(existsSync(join(out, "best_solution.py"))).toBe(true);
  }, 120_000);
});
