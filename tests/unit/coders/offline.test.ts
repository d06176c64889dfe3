import { describe, expect, it } from "vitest";
import type { Action, ExecutionResult, PromptContext, ReviewInput, SolutionNode } from "../../../src/search/types.ts";
import { OfflineCoder, planImprove } from "../../../src/coders/offline/index.ts";
import {
  type Recipe,
  baseRecipe,
  describe as describeRecipe,
  effectiveKey,
  parseRecipe,
  recipeComment,
  recipeKey,
  withModel,
} from "../../../src/coders/offline/recipe.ts";
import { candidateMoves } from "../../../src/coders/offline/moves.ts";
import { diagnose, lastErrorLine, planDebug } from "../../../src/coders/offline/fixes.ts";
import { readGuidance, tagsFor } from "../../../src/coders/offline/guidance.ts";
import { metricFromHint, metricFromText, readDataFacts, readTask } from "../../../src/coders/offline/task-reading.ts";
import { renderScript } from "../../../src/coders/offline/script.ts";

const TASK =
  "Predict whether a customer churns. Submit the probability of churn.\n\nEvaluation: ROC AUC on the test set (higher is better).";

function node(id: number, code: string, extra: Partial<SolutionNode> = {}): SolutionNode {
  return {
    id,
    parentId: null,
    step: id,
    stage: "draft",
    plan: "p",
    code,
    metric: { name: "roc_auc", value: 0.7, lowerIsBetter: false },
    buggy: false,
    analysis: "",
    execTimeMs: 1,
    exitCode: 0,
    timedOut: false,
    killed: false,
    output: "",
    submissionOk: true,
    submissionPath: null,
    usage: { promptTokens: 0, completionTokens: 0, costUsd: 0 },
    coder: "offline (no model)",
    createdAt: "",
    finishedAt: "",
    ...extra,
  };
}

function ctx(extra: Partial<PromptContext> = {}): PromptContext {
  return {
    task: TASK,
    dataPreview: "",
    memory: [],
    guidance: [],
    siblings: [],
    journal: [],
    timeLimitSec: 600,
    packages: [],
    step: 0,
    totalSteps: 20,
    ...extra,
  };
}

const coder = new OfflineCoder();

async function propose(action: Action, c: PromptContext) {
  const p = await coder.propose(action, c);
  const recipe = parseRecipe(p.code);
  expect(recipe).not.toBeNull();
  return { ...p, recipe: recipe! };
}

/** Field paths whose values differ between two recipes. */
function diffPaths(a: Recipe, b: Recipe): string[] {
  const out: string[] = [];
  const walk = (x: unknown, y: unknown, path: string) => {
    if (x && y && typeof x === "object" && typeof y === "object") {
      const keys = new Set([...Object.keys(x as object), ...Object.keys(y as object)]);
      for (const k of keys)
        walk((x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k], path ? `${path}.${k}` : k);
    } else if (x !== y) out.push(path);
  };
  walk(a, b, "");
  return out;
}

describe("recipes", () => {
  it("round-trip through the script's comment line", () => {
    const r = baseRecipe("hist_gb");
    r.params.learning_rate = 0.05;
    const code = renderScript(r, {
      plan: "x",
      metric: "roc_auc",
      taskType: "classification",
      wantsProbability: true,
      timeLimitSec: 600,
      seed: 42,
    });
    expect(code.split("\n")[0]).toBe(recipeComment(r));
    expect(parseRecipe(code)).toEqual(r);
  });

  it("returns null for scripts from other coders or broken lines", () => {
    expect(parseRecipe("import pandas as pd\nprint(1)")).toBeNull();
    expect(parseRecipe("# AIDE_OFFLINE_RECIPE {not json")).toBeNull();
    expect(parseRecipe('# AIDE_OFFLINE_RECIPE {"model": "transformer"}')).toBeNull();
  });

  it("fills defaults for partial recipes and describes them in one line", () => {
    const r = parseRecipe('# AIDE_OFFLINE_RECIPE {"model": "random_forest"}');
    expect(r?.params.n_estimators).toBe(300);
    expect(describeRecipe(r!)).not.toContain("\n");
    expect(describeRecipe(r!)).toMatch(/random forest/);
  });

  it("treats recipes that run identically as equal", () => {
    const a = baseRecipe("random_forest");
    const b = { ...a, scaling: "standard" as const };
    expect(recipeKey(a)).not.toBe(recipeKey(b));
    expect(effectiveKey(a)).toBe(effectiveKey(b));
  });
});

describe("task reading", () => {
  it("finds metrics in task text, specific names first", () => {
    expect(metricFromText("Evaluation: root mean squared logarithmic error")).toBe("rmsle");
    expect(metricFromText("Scored by RMSE (lower is better).")).toBe("rmse");
    expect(metricFromText("Submissions are evaluated on mean absolute percentage error")).toBe("mape");
    expect(metricFromText("We use accuracy on the test set")).toBe("accuracy");
    expect(metricFromText("Evaluated with macro F1.")).toBe("f1_macro");
    expect(metricFromText("Metric: multi-class logarithmic loss")).toBe("log_loss");
    expect(metricFromText("Predict the value.")).toBeNull();
  });

  it("prefers the evaluation line over other mentions", () => {
    expect(metricFromText("Accuracy of the sensor varies.\nEvaluation: area under the ROC curve")).toBe("roc_auc");
  });

  it("reads a metric hint and the direction", () => {
    expect(metricFromHint("AUC")).toBe("roc_auc");
    expect(metricFromHint("logloss")).toBe("log_loss");
    const t = readTask("Predict y.", "rmse");
    expect(t).toMatchObject({ metric: "rmse", lowerIsBetter: true, taskType: "regression", wantsProbability: false });
    expect(readTask(TASK)).toMatchObject({ metric: "roc_auc", lowerIsBetter: false, wantsProbability: true });
  });

  it("reads the data facts a script printed", () => {
    const facts = readDataFacts(
      'x\nAIDE_DATA_FACTS {"rows": 100, "numeric": 3, "low_cat": 0, "high_cat": 0, "dates": 0, "missing": false, "task": "regression", "n_classes": 0, "target_skew": 2.1, "target_min": 0}\n',
    );
    expect(facts).toMatchObject({
      rows: 100,
      hasCategorical: false,
      hasMissing: false,
      exact: true,
      skewedTarget: true,
      taskType: "regression",
    });
  });
});

describe("draft", () => {
  it("starts with a simple linear model with imputation, scaling and one-hot", async () => {
    const p = await propose({ kind: "draft" }, ctx());
    expect(p.recipe.model).toBe("linear");
    expect(p.recipe.scaling).toBe("standard");
    expect(p.recipe.encoding).toBe("onehot");
    expect(p.recipe.imputation).toBe("median");
    expect(p.code).toContain('METRIC = "roc_auc"');
    expect(p.code).toContain("AIDE_METRIC");
    expect(p.code).toContain("./working/submission.csv");
    expect(p.usage).toEqual({ promptTokens: 0, completionTokens: 0, costUsd: 0 });
  });

  it("uses model families not drafted yet", async () => {
    const journal: SolutionNode[] = [];
    const models: string[] = [];
    for (let i = 0; i < 5; i++) {
      const p = await propose({ kind: "draft" }, ctx({ journal, step: i }));
      models.push(p.recipe.model);
      journal.push(node(i, p.code));
    }
    expect(new Set(models).size).toBe(5);
    expect(models[0]).toBe("linear");
    expect(models).toContain("hist_gb");
    expect(models).toContain("random_forest");
  });

  it("counts the drafts in flight (a draft's siblings) as drafted, so parallel drafts differ", async () => {
    const models: string[] = [];
    const siblings: PromptContext["siblings"] = [];
    for (let i = 0; i < 3; i++) {
      const p = await propose({ kind: "draft" }, ctx({ siblings: [...siblings], step: i }));
      models.push(p.recipe.model);
      siblings.push({ plan: p.plan, code: p.code });
    }
    expect(models).toEqual(["linear", "hist_gb", "random_forest"]);
  });

  it("is deterministic given the context", async () => {
    const journal = [node(0, (await propose({ kind: "draft" }, ctx())).code)];
    const a = await coder.propose({ kind: "draft" }, ctx({ journal, step: 1 }));
    const b = await coder.propose({ kind: "draft" }, ctx({ journal, step: 1 }));
    expect(a).toEqual(b);
  });

  it("moves the scripts' own seed with the run's seed and nothing else", async () => {
    const plain = await coder.propose({ kind: "draft" }, ctx());
    const seeded = await new OfflineCoder({ seed: 3 }).propose({ kind: "draft" }, ctx());
    expect(plain.code).toMatch(/^SEED = 42\b/m);
    expect(seeded.code).toMatch(/^SEED = 45\b/m);
    expect(seeded.plan).toBe(plain.plan);
    expect(parseRecipe(seeded.code)).toEqual(parseRecipe(plain.code));
    expect(seeded.code.replace(/^SEED = \d+/m, "")).toBe(plain.code.replace(/^SEED = \d+/m, ""));
  });
  it("drafts the model the guidance asks for", async () => {
    const p = await propose({ kind: "draft" }, ctx({ guidance: ["try a random forest please"] }));
    expect(p.recipe.model).toBe("random_forest");
    expect(p.plan).toMatch(/guidance/);
  });
});

describe("improve", () => {
  const parentRecipe = baseRecipe("hist_gb");
  const parentCode = renderScript(parentRecipe, {
    plan: "x",
    metric: "roc_auc",
    taskType: "classification",
    wantsProbability: true,
    timeLimitSec: 600,
    seed: 42,
  });

  it("changes exactly one thing and says so in one sentence", async () => {
    const parent = node(3, parentCode);
    const p = await propose({ kind: "improve", parent: 3 }, ctx({ parent, journal: [parent] }));
    const changed = diffPaths(parentRecipe, p.recipe);
    expect(changed.length).toBeGreaterThan(0);
    // One knob; the learning-rate move scales the number of rounds with it.
    const knobs = new Set(changed.map((c) => (c === "params.max_iter" || c === "params.learning_rate" ? "lr" : c)));
    expect(knobs.size).toBe(1);
    expect(p.plan.split(/(?<=\.)\s+(?=[A-Z])/).length).toBe(1);
  });

  it("walks through different changes across repeated improves of the same parent", async () => {
    const parent = node(3, parentCode);
    const journal: SolutionNode[] = [parent];
    const keys = new Set<string>();
    for (let i = 0; i < 8; i++) {
      const siblings = journal.filter((n) => n.parentId === 3).map((n) => ({ plan: n.plan, code: n.code }));
      const p = await propose({ kind: "improve", parent: 3 }, ctx({ parent, journal, siblings, step: 4 + i }));
      keys.add(effectiveKey(p.recipe));
      journal.push(node(4 + i, p.code, { parentId: 3, stage: "improve", plan: p.plan }));
    }
    expect(keys.size).toBe(8);
    expect(keys.has(effectiveKey(parentRecipe))).toBe(false);
  });

  it("avoids a change a sibling already proposed", async () => {
    const parent = node(3, parentCode);
    const first = await propose({ kind: "improve", parent: 3 }, ctx({ parent, journal: [parent] }));
    const second = await propose(
      { kind: "improve", parent: 3 },
      ctx({ parent, journal: [parent], siblings: [{ plan: first.plan, code: first.code }] }),
    );
    expect(effectiveKey(second.recipe)).not.toBe(effectiveKey(first.recipe));
  });

  it("follows guidance, latest first", async () => {
    const parent = node(3, parentCode);
    const p = await propose(
      { kind: "improve", parent: 3 },
      ctx({ parent, journal: [parent], guidance: ["use random forest", "more trees"] }),
    );
    expect(p.recipe.model).toBe("hist_gb");
    expect(p.recipe.params.max_iter).toBeGreaterThan(parentRecipe.params.max_iter!);
    const q = await propose(
      { kind: "improve", parent: 3 },
      ctx({ parent, journal: [parent], guidance: ["more trees", "switch to a linear model"] }),
    );
    expect(q.recipe.model).toBe("linear");
  });

  it("drafts a fresh design when the parent has no recipe", async () => {
    const parent = node(3, "print('hello')");
    const p = await propose({ kind: "improve", parent: 3 }, ctx({ parent, journal: [parent] }));
    expect(p.recipe.model).toBe("linear");
    expect(p.plan).toMatch(/not written by the offline coder/);
  });

  it("does not offer preprocessing changes the data facts rule out", () => {
    const facts = readDataFacts(
      'AIDE_DATA_FACTS {"rows": 500, "numeric": 10, "low_cat": 0, "high_cat": 0, "dates": 0, "missing": false, "task": "regression", "n_classes": 0, "target_skew": 0.1, "target_min": -3}',
    )!;
    const ids = candidateMoves(baseRecipe("linear"), { taskType: "regression", hints: facts }).map((m) => m.id);
    expect(ids).not.toContain("encoding:target");
    expect(ids).not.toContain("dates:rich");
    expect(ids).not.toContain("missing_indicators");
    expect(ids).not.toContain("log_target");
    expect(ids).not.toContain("class_weight");
    expect(ids).toContain("interactions");
  });

  it("combines two changes once every single change was tried", () => {
    const r = baseRecipe("knn");
    const hints = { rows: 100, hasCategorical: false, hasMissing: false, hasDates: false, exact: true };
    const singles = new Set(
      candidateMoves(r, { taskType: "classification", hints }).map((m) => effectiveKey(m.recipe)),
    );
    const res = planImprove(r, (x) => singles.has(effectiveKey(x)), [], { taskType: "classification", hints });
    expect(singles.has(effectiveKey(res.recipe))).toBe(false);
    expect(res.plan).toMatch(/combine two/);
  });
});

describe("debug", () => {
  const recipe = withModel(baseRecipe("linear"), "svm");
  const code = renderScript(recipe, {
    plan: "x",
    metric: null,
    taskType: null,
    wantsProbability: false,
    timeLimitSec: 600,
    seed: 42,
  });
  const failed = (output: string, extra: Partial<SolutionNode> = {}) =>
    node(7, code, { buggy: true, metric: null, exitCode: 1, output, ...extra });

  const cases: Array<[string, Partial<SolutionNode>, (r: Recipe) => boolean]> = [
    [
      "Traceback (most recent call last):\nValueError: could not convert string to float: 'abc'",
      {},
      (r) => r.safety.stringsAsCategories,
    ],
    [
      "Traceback (most recent call last):\nValueError: Input X contains infinity or a value too large for dtype('float64').",
      {},
      (r) => r.safety.sanitize,
    ],
    [
      "Traceback (most recent call last):\nValueError: The least populated class in y has only 1 member, which is too few.",
      {},
      (r) => r.safety.plainKFold,
    ],
    [
      "Traceback (most recent call last):\nValueError: Target is multiclass but average='binary'.",
      {},
      (r) => r.safety.metricFallback,
    ],
    [
      "Traceback (most recent call last):\nFileNotFoundError: [Errno 2] No such file or directory: './input/train.csv'",
      {},
      (r) => r.safety.broadFileSearch,
    ],
    [
      "Traceback (most recent call last):\nValueError: submission mismatch: sample_submission has 10 rows but test has 9",
      {},
      (r) => r.safety.positionalSubmission,
    ],
    [
      "Traceback (most recent call last):\nMemoryError: Unable to allocate 3.2 GiB",
      {},
      (r) => r.maxRows !== null && r.model === "hist_gb",
    ],
    ["fold 1/5: accuracy = 0.9", { timedOut: true, exitCode: null }, (r) => r.maxRows !== null && r.folds <= 3],
  ];
  for (const [output, extra, check] of cases) {
    it(`fixes: ${lastErrorLine(output) || "timeout"}`, async () => {
      const parent = failed(output, extra);
      const p = await propose({ kind: "debug", parent: 7 }, ctx({ parent, journal: [parent] }));
      expect(check(p.recipe)).toBe(true);
      expect(p.plan).toMatch(/^Fix the failure/);
    });
  }

  it("falls back to the safest simple recipe for unknown failures", async () => {
    const parent = failed("Traceback (most recent call last):\nZeroDivisionError: division by zero");
    const p = await propose({ kind: "debug", parent: 7 }, ctx({ parent, journal: [parent] }));
    expect(p.recipe.model).toBe("linear");
    expect(p.recipe.safety.sanitize).toBe(true);
    expect(p.plan).toMatch(/ZeroDivisionError/);
  });

  it("escalates when the safest recipe itself failed", () => {
    const first = planDebug(baseRecipe("linear"), { output: "Traceback\nZeroDivisionError: x" });
    const second = planDebug(first.recipe, { output: "Traceback\nZeroDivisionError: x" });
    expect(recipeKey(second.recipe)).not.toBe(recipeKey(first.recipe));
    expect(second.recipe.safety.stringsAsCategories).toBe(true);
  });

  it("diagnoses from node flags and the search's analysis", () => {
    expect(diagnose({ output: "", killed: true })[0]?.kind).toBe("memory");
    expect(diagnose({ output: "done", exitCode: 0, submissionOk: false })[0]?.kind).toBe("submission");
    expect(diagnose({ output: "done", exitCode: 0, hasMetric: false })[0]?.kind).toBe("no_metric");
  });
});

describe("guidance", () => {
  it("maps simple requests to move tags", () => {
    expect(tagsFor("try gradient boosting")).toEqual(["model:gradient_boosting"]);
    expect(tagsFor("use random forest")).toContain("model:random_forest");
    expect(tagsFor("linear model")).toContain("model:linear");
    expect(tagsFor("more trees")).toContain("more_trees");
    expect(tagsFor("target encoding")).toContain("encoding:target");
    expect(tagsFor("one-hot the categories")).toContain("encoding:onehot");
    expect(tagsFor("scale features")).toContain("scaling");
    expect(tagsFor("log target")).toContain("log_target");
    expect(tagsFor("simpler model")).toContain("simpler");
    expect(tagsFor("hello there")).toEqual([]);
  });

  it("uses the latest guidance that it understands", () => {
    expect(readGuidance(["use random forest", "thanks!"])?.model).toBe("random_forest");
    expect(readGuidance(["use random forest", "try svm"])?.model).toBe("svm");
    expect(readGuidance([])).toBeNull();
  });
});

describe("review", () => {
  const result = (output: string, exitCode = 0): ExecutionResult => ({
    exitCode,
    signal: null,
    timedOut: false,
    outOfMemory: false,
    durationMs: 10,
    output,
    outputCapped: false,
    workingDir: "/tmp/x",
  });
  const input = (output: string, extra: Partial<ReviewInput> = {}): ReviewInput => ({
    task: TASK,
    stage: "improve",
    plan: "Increase the number of trees from 300 to 400. More text.",
    code: "",
    output,
    parsedMetric: { name: "roc_auc", value: 0.81234567, lowerIsBetter: false },
    problems: [],
    ...extra,
  });

  it("summarises a good run with the change and the metric", async () => {
    const r = await coder.review(input("AIDE_METRIC {...}"), result("AIDE_METRIC {...}"));
    expect(r.isBug).toBe(false);
    expect(r.summary).toMatch(/Increase the number of trees/);
    expect(r.summary).toMatch(/roc_auc = 0\.81235/);
    expect(r.metric).toBeNull();
    expect(r.lowerIsBetter).toBeNull();
    expect(r.usage).toEqual({ promptTokens: 0, completionTokens: 0, costUsd: 0 });
  });

  it("states a direction only when the line or the metric's name tells one", async () => {
    const named = await coder.review(
      input("ok", { parsedMetric: { name: "rmse", value: 0.5, lowerIsBetter: null } }),
      result("ok"),
    );
    expect(named.summary).toMatch(/rmse = 0\.50000 \(lower is better\)\.$/);
    expect(named.lowerIsBetter).toBeNull();
    const bare = await coder.review(
      input("ok", { parsedMetric: { name: "score", value: 0.5, lowerIsBetter: null } }),
      result("ok"),
    );
    expect(bare.summary).toMatch(/score = 0\.50000\.$/);
    expect(bare.summary).not.toMatch(/is better/);
  });

  it("flags tracebacks, missing metrics and the search's problems", async () => {
    const tb = "Traceback (most recent call last):\n  File x\nKeyError: 'target'";
    const a = await coder.review(input(tb, { parsedMetric: null }), result(tb, 1));
    expect(a.isBug).toBe(true);
    expect(a.summary).toContain("KeyError: 'target'");
    const b = await coder.review(input("ok", { parsedMetric: null }), result("ok"));
    expect(b.isBug).toBe(true);
    expect(b.summary).toMatch(/no AIDE_METRIC/);
    const c = await coder.review(input("ok", { problems: ["submission has 3 rows, expected 4"] }), result("ok"));
    expect(c.isBug).toBe(true);
    expect(c.summary).toMatch(/expected 4/);
  });
});

describe("moves", () => {
  it("lists changes most promising first without duplicates", () => {
    const hints = { rows: null, hasCategorical: true, hasMissing: true, hasDates: true, exact: false };
    const moves = candidateMoves(baseRecipe("random_forest"), { taskType: "classification", hints });
    const ids = moves.map((m) => m.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids[0]).toBe("param:n_estimators:up");
    for (let i = 1; i < moves.length; i++) expect(moves[i - 1]!.priority).toBeGreaterThanOrEqual(moves[i]!.priority);
  });
});
