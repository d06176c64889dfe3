/**
 * The offline coder's Python sources (src/coders/offline/python): every file compiles with py_compile, the
 * placeholders fill strictly, and the helpers of a rendered script pass tests/python/test_offline_helpers.py
 * under Python's own unittest.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { MODEL_KINDS, type Recipe, baseRecipe, safestRecipe } from "../../../src/coders/offline/recipe.ts";
import {
  type ScriptOptions,
  fillPlaceholders,
  pythonSource,
  renderModel,
  renderScript,
} from "../../../src/coders/offline/script.ts";

const PYTHON = "/usr/bin/python3";
const SOURCE_DIR = fileURLToPath(new URL("../../../src/coders/offline/python/", import.meta.url));
const PYTHON_TESTS = fileURLToPath(new URL("../../python/", import.meta.url));
const PLACEHOLDER = /^# @@\w+@@$|\{\{\w+\}\}/m;

const SOURCES = readdirSync(SOURCE_DIR, { recursive: true, encoding: "utf8" })
  .filter((f) => f.endsWith(".py"))
  .sort();

const CLASSIFY: ScriptOptions = {
  plan: "p",
  metric: "roc_auc",
  taskType: "classification",
  wantsProbability: true,
  timeLimitSec: 600,
  seed: 42,
};
const OPEN: ScriptOptions = {
  plan: "a plan\nover two lines",
  metric: null,
  taskType: null,
  wantsProbability: false,
  timeLimitSec: 5,
  seed: 7,
};

/** A recipe of every family with its default hyperparameters, one with none (the fallbacks), and the safest. */
function recipes(): Recipe[] {
  const out: Recipe[] = [];
  for (const model of MODEL_KINDS) {
    out.push(baseRecipe(model), { ...baseRecipe(model), params: {} });
  }
  return [...out, safestRecipe()];
}

let dir = "";

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "offline-python-"));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** py_compile on the files, with the bytecode kept out of the source tree. */
function pyCompile(files: string[]) {
  return spawnSync(PYTHON, ["-m", "py_compile", ...files], {
    encoding: "utf8",
    env: { ...process.env, PYTHONPYCACHEPREFIX: join(dir, "pycache") },
  });
}

function writeTemp(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe("the offline coder's Python files", () => {
  it("are the skeleton, the helpers and one make_model per model family", () => {
    expect(SOURCES).toEqual([
      "helpers.py",
      "models/forest.py",
      "models/gradient_boosting.py",
      "models/hist_gb.py",
      "models/knn.py",
      "models/linear.py",
      "models/svm.py",
      "solution.py",
    ]);
    for (const file of SOURCES) expect(pythonSource(file)).toBe(readFileSync(join(SOURCE_DIR, file), "utf8"));
  });

  it("compile: the helpers as they are, the other files once filled", () => {
    const raw = SOURCES.filter((f) => !PLACEHOLDER.test(pythonSource(f)));
    expect(raw).toEqual(["helpers.py"]);
    const r = pyCompile(raw.map((f) => join(SOURCE_DIR, f)));
    expect(r.status, r.stderr).toBe(0);

    const filled: string[] = [];
    recipes().forEach((recipe, i) => {
      filled.push(writeTemp(`model-${i}.py`, renderModel(recipe)));
      filled.push(writeTemp(`script-${i}.py`, renderScript(recipe, i % 2 ? OPEN : CLASSIFY)));
    });
    const c = pyCompile(filled);
    expect(c.status, c.stderr).toBe(0);
  });

  it("render into scripts with every placeholder filled and every line of the sources used", () => {
    const scripts = recipes().map((r) => renderScript(r, CLASSIFY));
    for (const script of scripts) expect(script).not.toMatch(PLACEHOLDER);
    const all = new Set(scripts.flatMap((s) => s.split("\n")));
    for (const file of SOURCES) {
      const plain = pythonSource(file)
        .split("\n")
        .filter((l) => !PLACEHOLDER.test(l));
      expect(
        plain.filter((l) => !all.has(l)),
        file,
      ).toEqual([]);
    }
  });

  it("put the recipe, the plan, the configuration and the model into the skeleton", () => {
    const recipe = baseRecipe("extra_trees");
    recipe.params = { n_estimators: 600, max_depth: 0, max_features: 0, min_samples_leaf: 2.4 };
    recipe.maxRows = 5000;
    const script = renderScript(recipe, OPEN);
    const lines = script.split("\n");
    expect(lines[0]).toMatch(/^# AIDE_OFFLINE_RECIPE \{"version":1,"model":"extra_trees"/);
    expect(lines[1]).toBe("# Plan: a plan over two lines");
    for (const line of [
      "METRIC = None  # the task's metric; None = accuracy for classification, RMSE for regression",
      "TIME_BUDGET_SEC = 30",
      'MODEL = "extra_trees"',
      "MAX_ROWS = 5000",
      "WANT_PROBA = False  # the task asks for probabilities",
      "    from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor",
      "        n_estimators=600,",
      "        max_depth=None,",
      '        max_features="sqrt",',
      "        min_samples_leaf=2,",
    ]) {
      expect(lines).toContain(line);
    }
    expect(script.indexOf("def make_model(")).toBeGreaterThan(script.indexOf("def main():"));
    expect(script.trimEnd().endsWith('if __name__ == "__main__":\n    main()')).toBe(true);
    expect(script.match(/^import numpy as np$/gm)).toHaveLength(1);
  });
});

describe("filling placeholders", () => {
  it("replaces slot lines with blocks and tokens with text", () => {
    const text = "# @@head@@\nX = {{x}}  # {{x}} again\n";
    expect(fillPlaceholders(text, { head: "a = 1\nb = 2\n\n", x: "None" }, "t")).toBe(
      "a = 1\nb = 2\nX = None  # None again\n",
    );
  });

  it("takes a slot only alone on its line", () => {
    expect(fillPlaceholders("x = 1  # @@head@@\n", {}, "t")).toBe("x = 1  # @@head@@\n");
  });

  it("is strict", () => {
    expect(() => fillPlaceholders("X = {{x}}\n", {}, "t.py")).toThrow("t.py: no value for the placeholder x");
    expect(() => fillPlaceholders("X = {{x}}\n", { x: "1", y: "2" }, "t.py")).toThrow("t.py: no placeholder for y");
    expect(() => fillPlaceholders("X = {{x}}\n", { x: "1\n2" }, "t.py")).toThrow("more than one line");
  });
});

/** Runs tests/python/test_offline_helpers.py against a script; unittest reports on stderr. */
function runHelperTests(name: string, script: string) {
  return spawnSync(PYTHON, ["-m", "unittest", "discover", "-v", "-s", PYTHON_TESTS, "-p", "test_offline_*.py"], {
    cwd: dir,
    encoding: "utf8",
    timeout: 120_000,
    env: { ...process.env, AIDE_OFFLINE_SCRIPT: writeTemp(name, script), PYTHONDONTWRITEBYTECODE: "1" },
  });
}

describe("the helpers of a rendered script under Python's unittest", () => {
  const script = renderScript(baseRecipe("linear"), OPEN);

  it("pass tests/python/test_offline_helpers.py", () => {
    const r = runHelperTests("solution.py", script);
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    const ran = Number(/^Ran (\d+) tests?/m.exec(r.stderr)?.[1] ?? 0);
    expect(ran).toBeGreaterThanOrEqual(35);
    expect(r.stderr).toMatch(/^OK$/m);
    expect(r.stderr).toMatch(/test_main \(test_offline_helpers\.WholeScript\.test_main\) \.\.\. ok/);
  });

  it("fail when a helper misbehaves", () => {
    const broken = script.replace('"rmse": True, "mse"', '"rmse": False, "mse"');
    expect(broken).not.toBe(script);
    const r = runHelperTests("broken.py", broken);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/FAIL: test_metric_line_is_a_json_object_with_the_direction/);
  });
});
