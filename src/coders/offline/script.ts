/**
 * Renders a Recipe into a self-contained Python script for a tabular CSV task. The script finds its data
 * under ./input, works out ids, targets, task type and metric from the files, cross-validates the recipe's
 * pipeline, prints `AIDE_METRIC {...}` and writes ./working/submission.csv in the sample submission's shape.
 *
 * The Python is in ./python, read once on first use: solution.py is the script's skeleton (header,
 * configuration, slots), helpers.py the functions every script shares (inlined, so a script stays one
 * file), models/*.py one `make_model` per model family. Two kinds of placeholder, filled here:
 *   - `# @@name@@` alone on a line: replaced by a block of lines (the recipe comment, a whole file);
 *   - `{{name}}` within a line: replaced by one line of text, mostly a Python literal from the recipe.
 * Filling is strict: a placeholder without a value, or a value without a placeholder, is an error.
 */
import { readFileSync } from "node:fs";
import { type ModelKind, type ParamName, type Recipe, recipeComment, paramText } from "./recipe.ts";
import type { MetricId } from "./task-reading.ts";

export interface ScriptOptions {
  /** One-line plan, repeated as a comment at the top of the script. */
  plan: string;
  /** Metric named by the task, or null to let the script choose from the target. */
  metric: MetricId | null;
  taskType: "classification" | "regression" | null;
  wantsProbability: boolean;
  timeLimitSec: number;
  /** The seed of the script's own folds and models (`SEED`). */
  seed: number;
}

const sources = new Map<string, string>();

/** The text of a file under ./python (e.g. "models/svm.py"), read once. */
export function pythonSource(file: string): string {
  let text = sources.get(file);
  if (text === undefined) {
    text = readFileSync(new URL(`./python/${file}`, import.meta.url), "utf8");
    sources.set(file, text);
  }
  return text;
}

const PLACEHOLDER = /^# @@(\w+)@@$|\{\{(\w+)\}\}/gm;

/** Fills the placeholders of `text` (see the file comment); `where` names it in errors. */
export function fillPlaceholders(text: string, values: Readonly<Record<string, string>>, where: string): string {
  const unused = new Set(Object.keys(values));
  const filled = text.replace(PLACEHOLDER, (_match, slot: string | undefined, token: string | undefined) => {
    const name = slot ?? token ?? "";
    const value = values[name];
    if (value === undefined) throw new Error(`${where}: no value for the placeholder ${name}`);
    unused.delete(name);
    if (slot) return value.replace(/\n+$/, "");
    if (value.includes("\n")) throw new Error(`${where}: the value of {{${name}}} is more than one line`);
    return value;
  });
  if (unused.size) throw new Error(`${where}: no placeholder for ${[...unused].join(", ")}`);
  return filled;
}

function fillFile(file: string, values: Readonly<Record<string, string>>): string {
  return fillPlaceholders(pythonSource(file), values, `python/${file}`);
}

function py(value: unknown): string {
  if (value === null || value === undefined) return "None";
  if (typeof value === "boolean") return value ? "True" : "False";
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : "None";
  return JSON.stringify(String(value));
}

const INT_PARAMS: ParamName[] = [
  "n_estimators",
  "max_iter",
  "max_depth",
  "max_leaf_nodes",
  "min_samples_leaf",
  "n_neighbors",
];

/** Python float/int literal for a hyperparameter, honouring the 0 = None / 0 = "sqrt" conventions. */
function param(recipe: Recipe, name: ParamName, fallback: number): string {
  const v = recipe.params[name] ?? fallback;
  if (name === "max_depth" && v === 0) return "None";
  if (name === "max_features" && v === 0) return '"sqrt"';
  if (name === "max_features" && v >= 1) return "1.0";
  const text = paramText(name, v);
  if (INT_PARAMS.includes(name)) return String(Math.max(1, Math.round(v)));
  return text.includes(".") || text.includes("e") ? text : `${text}.0`;
}

interface ModelSource {
  file: string;
  /** The hyperparameters the file's placeholders name, with the value used when the recipe has none. */
  params: Partial<Record<ParamName, number>>;
  /** Other placeholders of the file. */
  names?: Record<string, string>;
}

const FOREST_PARAMS = { n_estimators: 300, max_depth: 0, min_samples_leaf: 1, max_features: 0.5 };

const MODEL_SOURCES: Record<ModelKind, ModelSource> = {
  linear: { file: "models/linear.py", params: { alpha: 1, C: 1 } },
  random_forest: {
    file: "models/forest.py",
    params: FOREST_PARAMS,
    names: { model: "random_forest", forest: "RandomForest" },
  },
  extra_trees: {
    file: "models/forest.py",
    params: FOREST_PARAMS,
    names: { model: "extra_trees", forest: "ExtraTrees" },
  },
  hist_gb: {
    file: "models/hist_gb.py",
    params: { learning_rate: 0.1, max_iter: 200, max_leaf_nodes: 15, min_samples_leaf: 20, l2_regularization: 0 },
  },
  gradient_boosting: {
    file: "models/gradient_boosting.py",
    params: { n_estimators: 300, learning_rate: 0.05, max_depth: 3, subsample: 0.8, min_samples_leaf: 3 },
  },
  svm: { file: "models/svm.py", params: { C: 3, epsilon: 0.1 } },
  knn: { file: "models/knn.py", params: { n_neighbors: 10 } },
};

/** The recipe's `make_model` function: its family's file with the hyperparameters filled in. */
export function renderModel(recipe: Recipe): string {
  const source = MODEL_SOURCES[recipe.model];
  const values: Record<string, string> = { ...source.names };
  for (const [name, fallback] of Object.entries(source.params) as Array<[ParamName, number]>) {
    values[name] = param(recipe, name, fallback);
  }
  return fillFile(source.file, values);
}

/** Values of the configuration block of solution.py. */
function configValues(recipe: Recipe, opts: ScriptOptions): Record<string, string> {
  const s = recipe.safety;
  const values: Record<string, unknown> = {
    metric: opts.metric,
    task_type: opts.taskType,
    want_proba: opts.wantsProbability,
    time_budget_sec: Math.max(30, Math.round(opts.timeLimitSec)),
    seed: opts.seed,
    model: recipe.model,
    imputation: recipe.imputation,
    scaling: recipe.scaling,
    encoding: recipe.encoding,
    max_onehot: recipe.maxOneHot,
    dates: recipe.dates,
    missing_indicators: recipe.missingIndicators,
    interactions: recipe.interactions,
    log_target: recipe.logTarget,
    class_weight: recipe.classWeight,
    folds: recipe.folds,
    max_rows: recipe.maxRows,
    sanitize: s.sanitize,
    strings_as_categories: s.stringsAsCategories,
    plain_kfold: s.plainKFold,
    positional_submission: s.positionalSubmission,
    broad_file_search: s.broadFileSearch,
    metric_fallback: s.metricFallback,
  };
  return Object.fromEntries(Object.entries(values).map(([name, value]) => [name, py(value)]));
}

/** The full Python script for a recipe. */
export function renderScript(recipe: Recipe, opts: ScriptOptions): string {
  return fillFile("solution.py", {
    recipe: recipeComment(recipe),
    plan: opts.plan.replace(/\s+/g, " ").trim(),
    ...configValues(recipe, opts),
    helpers: pythonSource("helpers.py"),
    make_model: renderModel(recipe),
  });
}
