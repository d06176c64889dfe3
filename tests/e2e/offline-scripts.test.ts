/**
 * Runs scripts written by the offline coder for real, with /usr/bin/python3 and scikit-learn, on small
 * datasets that tests/python/offline_datasets.py generates (no shared benchmark data needed).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Action, PromptContext, SolutionNode } from "../../src/search/types.ts";
import { OfflineCoder, parseRecipe } from "../../src/coders/offline/index.ts";
import { readDataFacts } from "../../src/coders/offline/task-reading.ts";

const PYTHON = "/usr/bin/python3";

function pythonReady(): boolean {
  const r = spawnSync(PYTHON, ["-c", "import sklearn, pandas, numpy"], { encoding: "utf8" });
  return r.status === 0;
}

/** Writes the datasets: each gets input/{train,test,sample_submission}.csv and answers.csv. */
const GENERATOR = fileURLToPath(new URL("../python/offline_datasets.py", import.meta.url));

const TASKS: Record<string, string> = {
  binary: "Predict which customers churn. Submit the probability of churn.\nEvaluation: ROC AUC (higher is better).",
  regression: "Predict y from five numeric inputs.\nEvaluation: root mean squared error (lower is better).",
  multiclass: "Predict the medal of each row.\nEvaluation: accuracy.",
  probcols: "Predict the probability of each medal.\nEvaluation: multi-class log loss.",
};

let root = "";

// npm test installs Debian's Python ML stack (scripts/ensure-deps.sh): a missing one is a failure, not a skip.
beforeAll(() => {
  if (!pythonReady()) throw new Error(`${PYTHON} with scikit-learn, pandas and numpy is not available`);
  root = mkdtempSync(join(tmpdir(), "offline-scripts-"));
  const r = spawnSync(PYTHON, [GENERATOR, root], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`data generation failed: ${r.stderr}`);
});

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

function ctxFor(task: string, journal: SolutionNode[], step: number, parent?: SolutionNode): PromptContext {
  return {
    task,
    dataPreview: "",
    memory: [],
    guidance: [],
    parent,
    siblings: [],
    journal,
    timeLimitSec: 300,
    packages: ["scikit-learn", "pandas", "numpy"],
    step,
    totalSteps: 10,
  };
}

interface Run {
  output: string;
  status: number | null;
  metric: { name: string; value: number; lower_is_better: boolean } | null;
  submission: string[][];
  dir: string;
}

let runCounter = 0;
function runScript(dataset: string, code: string): Run {
  const dir = join(root, `${dataset}-run${runCounter++}`);
  mkdirSync(join(dir, "working"), { recursive: true });
  symlinkSync(join(root, dataset, "input"), join(dir, "input"));
  writeFileSync(join(dir, "runfile.py"), code);
  const r = spawnSync(PYTHON, ["runfile.py"], { cwd: dir, encoding: "utf8", timeout: 240_000 });
  const output = `${r.stdout ?? ""}${r.stderr ?? ""}`;
  const lines = output.split("\n").filter((l) => l.startsWith("AIDE_METRIC "));
  const metric = lines.length === 1 ? JSON.parse(lines[0]!.slice("AIDE_METRIC ".length)) : null;
  let submission: string[][] = [];
  try {
    submission = readCsv(join(dir, "working", "submission.csv"));
  } catch {
    submission = [];
  }
  return { output, status: r.status, metric, submission, dir };
}

/** Minimal CSV reader: the generated files have no quoted fields. */
function readCsv(path: string): string[][] {
  return readFileSync(path, "utf8")
    .trim()
    .split(/\r?\n/)
    .map((l) => l.split(","));
}

function expectMatchesSample(run: Run, dataset: string): void {
  const sample = readCsv(join(root, dataset, "input", "sample_submission.csv"));
  expect(run.submission.length, run.output).toBe(sample.length);
  expect(run.submission[0]).toEqual(sample[0]);
  expect(run.submission.map((r) => r[0])).toEqual(sample.map((r) => r[0]));
}

async function draft(coder: OfflineCoder, dataset: string, journal: SolutionNode[]) {
  return coder.propose({ kind: "draft" }, ctxFor(TASKS[dataset]!, journal, journal.length));
}

function asNode(
  id: number,
  code: string,
  run: Run,
  parentId: number | null = null,
  stage: SolutionNode["stage"] = "draft",
): SolutionNode {
  return {
    id,
    parentId,
    step: id,
    stage,
    plan: "",
    code,
    metric: run.metric
      ? { name: run.metric.name, value: run.metric.value, lowerIsBetter: run.metric.lower_is_better }
      : null,
    buggy: run.metric === null,
    analysis: "",
    execTimeMs: 0,
    exitCode: run.status,
    timedOut: false,
    killed: false,
    output: run.output,
    submissionOk: run.submission.length > 0,
    submissionPath: null,
    usage: { promptTokens: 0, completionTokens: 0, costUsd: 0 },
    coder: "offline (no model)",
    createdAt: "",
    finishedAt: "",
  };
}

describe("offline coder scripts run for real", () => {
  const coder = new OfflineCoder();

  it("binary classification with categories, missing values and a date: AUC on probabilities", async () => {
    const journal: SolutionNode[] = [];
    for (let i = 0; i < 2; i++) {
      const p = await draft(coder, "binary", journal);
      const run = runScript("binary", p.code);
      expect(run.status, run.output).toBe(0);
      expect(run.metric).toMatchObject({ name: "roc_auc", lower_is_better: false });
      expect(run.metric!.value).toBeGreaterThan(0.65);
      expect(run.output).toMatch(/fold 1\/5/);
      expectMatchesSample(run, "binary");
      const probs = run.submission.slice(1).map((r) => Number(r[1]));
      expect(probs.every((v) => v >= 0 && v <= 1)).toBe(true);
      expect(new Set(probs).size).toBeGreaterThan(10);
      // The facts line the script prints is what the coder reads back: 630 training rows with gaps, categories and a date.
      expect(readDataFacts(run.output)).toMatchObject({
        exact: true,
        rows: 630,
        taskType: "classification",
        hasCategorical: true,
        hasMissing: true,
        hasDates: true,
      });
      journal.push(asNode(i, p.code, run));
    }
    expect(parseRecipe(journal[1]!.code)?.model).not.toBe(parseRecipe(journal[0]!.code)?.model);
  });

  it("regression: RMSE well below a constant predictor's, and an improve step runs", async () => {
    const p = await draft(coder, "regression", []);
    const run = runScript("regression", p.code);
    expect(run.status, run.output).toBe(0);
    expect(run.metric).toMatchObject({ name: "rmse", lower_is_better: true });
    expectMatchesSample(run, "regression");
    // The target's standard deviation is about 4.9: a constant prediction scores about that.
    expect(run.metric!.value).toBeLessThan(3.5);
    const parent = asNode(0, p.code, run);
    const action: Action = { kind: "improve", parent: 0 };
    const imp = await coder.propose(action, ctxFor(TASKS.regression!, [parent], 1, parent));
    const run2 = runScript("regression", imp.code);
    expect(run2.status, run2.output).toBe(0);
    expect(run2.metric?.name).toBe("rmse");
    expectMatchesSample(run2, "regression");
  });

  it("multiclass with string labels: writes the original labels", async () => {
    const journal: SolutionNode[] = [];
    const p0 = await draft(coder, "multiclass", journal);
    journal.push(asNode(0, p0.code, runScript("multiclass", p0.code)));
    const p1 = await draft(coder, "multiclass", journal);
    for (const [code, run] of [
      [p0.code, runScript("multiclass", p0.code)],
      [p1.code, runScript("multiclass", p1.code)],
    ] as const) {
      expect(run.status, `${parseRecipe(code)?.model}\n${run.output}`).toBe(0);
      expect(run.metric).toMatchObject({ name: "accuracy", lower_is_better: false });
      // The majority class covers roughly 45% of rows.
      expect(run.metric!.value).toBeGreaterThan(0.6);
      expectMatchesSample(run, "multiclass");
      const labels = new Set(run.submission.slice(1).map((r) => r[1]));
      expect([...labels].every((l) => ["gold", "silver", "bronze"].includes(l!))).toBe(true);
      expect(labels.size).toBe(3);
    }
  });

  it("multiclass with one probability column per class: log loss, rows sum to one", async () => {
    const p = await draft(coder, "probcols", []);
    const run = runScript("probcols", p.code);
    expect(run.status, run.output).toBe(0);
    expect(run.metric).toMatchObject({ name: "log_loss", lower_is_better: true });
    // A uniform guess scores ln(3) = 1.0986.
    expect(run.metric!.value).toBeLessThan(0.8);
    expectMatchesSample(run, "probcols");
    for (const row of run.submission.slice(1)) {
      const sum = row.slice(1).reduce((s, v) => s + Number(v), 0);
      expect(sum).toBeCloseTo(1, 5);
    }
  });

  it("a debug step after a failure produces a script that runs", async () => {
    const p = await draft(coder, "binary", []);
    const failed: SolutionNode = {
      ...asNode(0, p.code, runScript("binary", p.code)),
      buggy: true,
      metric: null,
      exitCode: 1,
      output: "Traceback (most recent call last):\nValueError: Input X contains NaN.",
    };
    const fix = await coder.propose({ kind: "debug", parent: 0 }, ctxFor(TASKS.binary!, [failed], 1, failed));
    expect(parseRecipe(fix.code)?.safety.sanitize).toBe(true);
    const run = runScript("binary", fix.code);
    expect(run.status, run.output).toBe(0);
    expect(run.metric?.name).toBe("roc_auc");
    expectMatchesSample(run, "binary");
  });
});
