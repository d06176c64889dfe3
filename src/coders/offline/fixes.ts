/**
 * Debugging: recognise why a script failed from its output (and the node's flags) and turn that into a
 * recipe change. Unknown failures fall back to the safest simple recipe.
 */
import { type Recipe, clone, recipeKey, safestRecipe, withModel } from "./recipe.ts";
import { stepParam } from "./moves.ts";

export type FailureKind =
  | "timeout"
  | "memory"
  | "string_to_float"
  | "nan_inf"
  | "small_class"
  | "metric_mismatch"
  | "submission"
  | "missing_file"
  | "unknown_category"
  | "no_metric"
  | "unknown";

export interface Diagnosis {
  kind: FailureKind;
  /** The output line (or flag) that gave it away. */
  evidence: string;
}

/** What the debugger knows about the failed node. */
export interface FailedRun {
  output: string;
  timedOut?: boolean;
  killed?: boolean;
  exitCode?: number | null;
  submissionOk?: boolean;
  /** The search's own findings (e.g. a submission mismatch). */
  analysis?: string;
  hasMetric?: boolean;
}

const RULES: Array<[FailureKind, RegExp]> = [
  ["timeout", /TimeoutError|timed out|time limit exceeded|exceeded the time limit/i],
  ["memory", /MemoryError|Unable to allocate|out of memory|std::bad_alloc|\bKilled\b|OOM/],
  [
    "string_to_float",
    /could not convert (?:string )?.*to float|invalid literal for int\(\)|Unable to parse string|Cannot cast object|argument must be a string or a (?:real )?number|'<' not supported between instances of 'str'|dtype\('<U\d*'\)/i,
  ],
  [
    "nan_inf",
    /Input (?:X |y )?contains (?:NaN|infinity)|contains NaN|array must not contain infs or NaNs|too large for dtype\('float|Input contains infinity/i,
  ],
  [
    "small_class",
    /least populated class in y has only \d+ member|n_splits=\d+ cannot be greater than the number of members|should be greater than or equal to the number of folds|has only \d+ members?, which is less than n_splits/i,
  ],
  [
    "metric_mismatch",
    /multiclass format is not supported|Target is multiclass but average|Only one class present in y_true|multi_class must be in|y_true and y_pred contain different number of classes|continuous format is not supported|Classification metrics can't handle|y_true contains only one label|Number of classes in y_true not equal|mix of (?:binary|multiclass|continuous)/i,
  ],
  [
    "submission",
    /submission mismatch|submission (?:has|is missing|does not match|columns|rows|ids)|does not match the sample|Length of values \(\d+\) does not match length of index|sample submission/i,
  ],
  [
    "missing_file",
    /FileNotFoundError|No such file or directory|could not tell the training and test|no CSV files found/i,
  ],
  ["unknown_category", /Found unknown categor(?:y|ies)/i],
];

/** The error's last line (e.g. "ValueError: ..."), or the last non-empty line of the output. */
export function lastErrorLine(output: string): string {
  const lines = output
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  for (let i = lines.length - 1; i >= 0; i--) {
    const l = lines[i] ?? "";
    if (/^[\w.]*(?:Error|Exception|Interrupt|Exit)\b.*/.test(l) || /^[\w.]+(?:Error|Exception):/.test(l))
      return l.slice(0, 300);
  }
  return (lines[lines.length - 1] ?? "").slice(0, 300);
}

/** All recognised failures, most specific first. */
export function diagnose(run: FailedRun): Diagnosis[] {
  const found: Diagnosis[] = [];
  const text = `${run.output}\n${run.analysis ?? ""}`;
  if (run.timedOut) found.push({ kind: "timeout", evidence: "the script hit the time limit" });
  if (run.killed) found.push({ kind: "memory", evidence: "the script was killed (memory or output limit)" });
  for (const [kind, re] of RULES) {
    if (found.some((d) => d.kind === kind)) continue;
    const line = text.split(/\r?\n/).find((l) => re.test(l));
    if (line) found.push({ kind, evidence: line.trim().slice(0, 200) });
  }
  if (!found.length && run.submissionOk === false && !/Traceback/.test(run.output) && run.exitCode === 0) {
    found.push({ kind: "submission", evidence: "the submission did not match the expected format" });
  }
  if (!found.length && run.hasMetric === false && !/Traceback/.test(run.output)) {
    found.push({ kind: "no_metric", evidence: "no AIDE_METRIC line was printed" });
  }
  if (!found.length) found.push({ kind: "unknown", evidence: lastErrorLine(run.output) || "no output" });
  return found;
}

/** A lighter version of the recipe: fewer rows, folds, trees; a fast model instead of a slow one. */
export function lighter(recipe: Recipe): Recipe {
  let r = clone(recipe);
  if (r.model === "svm" || r.model === "knn" || r.model === "gradient_boosting") {
    const keep = r.safety;
    r = withModel(r, "hist_gb");
    r.encoding = "ordinal";
    r.safety = keep;
  }
  r.maxRows = r.maxRows === null ? 50000 : Math.max(1000, Math.round(r.maxRows / 2));
  r.folds = Math.min(r.folds, 3);
  r.interactions = false;
  r.maxOneHot = Math.min(r.maxOneHot, 10);
  for (const p of ["n_estimators", "max_iter"] as const) {
    const v = r.params[p];
    if (v !== undefined) r.params[p] = stepParam(p, stepParam(p, v, -1) ?? v, -1) ?? v;
  }
  return r;
}

interface FixResult {
  recipe: Recipe;
  sentence: string;
}

function applyFix(kind: FailureKind, recipe: Recipe): FixResult | null {
  const r = clone(recipe);
  switch (kind) {
    case "timeout":
    case "memory": {
      const l = lighter(recipe);
      return {
        recipe: l,
        sentence: `Make the run lighter: ${l.model !== recipe.model ? `switch to ${l.model}, ` : ""}train on at most ${l.maxRows} rows, ${l.folds}-fold CV and fewer trees/iterations.`,
      };
    }
    case "string_to_float":
      r.safety.stringsAsCategories = true;
      if (r.model === "hist_gb") r.encoding = "ordinal";
      else if (r.encoding === "target") r.encoding = "onehot";
      return {
        recipe: r,
        sentence:
          "Treat every non-numeric column as a category (no numeric or date parsing of text) so no string reaches the model.",
      };
    case "nan_inf":
      r.safety.sanitize = true;
      return {
        recipe: r,
        sentence: "Replace infinities, clip extreme values and fill any remaining NaN right before the model.",
      };
    case "small_class":
      r.safety.plainKFold = true;
      r.folds = Math.min(r.folds, 3);
      return { recipe: r, sentence: "Use plain 3-fold CV, since a class has too few members for stratified folds." };
    case "metric_mismatch":
      r.safety.metricFallback = true;
      return {
        recipe: r,
        sentence:
          "Compute the metric defensively (per-class averaging, falling back to accuracy/RMSE if it still cannot be computed).",
      };
    case "submission":
      r.safety.positionalSubmission = true;
      return {
        recipe: r,
        sentence:
          "Build the submission from a copy of sample_submission.csv row by row, so columns, order and row count match exactly.",
      };
    case "missing_file":
      r.safety.broadFileSearch = true;
      return {
        recipe: r,
        sentence:
          "Search ./input recursively for data files of any tabular extension and tell train and test apart by their columns.",
      };
    case "unknown_category":
      r.encoding = "onehot";
      return {
        recipe: r,
        sentence: "One-hot encode categories with unknown values ignored, so categories seen only in test cannot fail.",
      };
    case "no_metric":
    case "unknown":
      return null;
  }
}

/** The safest recipe, keeping (and extending) the safety switches the failed recipe already had. */
function fallback(recipe: Recipe | null, escalate: boolean): Recipe {
  const r = safestRecipe();
  if (recipe) {
    for (const k of Object.keys(r.safety) as Array<keyof Recipe["safety"]>)
      r.safety[k] = r.safety[k] || recipe.safety[k];
    r.maxRows = recipe.maxRows;
  }
  if (escalate) {
    r.safety = {
      sanitize: true,
      stringsAsCategories: true,
      plainKFold: true,
      positionalSubmission: true,
      broadFileSearch: true,
      metricFallback: true,
    };
    r.folds = 3;
  }
  return r;
}

export interface DebugPlan {
  recipe: Recipe;
  plan: string;
  diagnoses: Diagnosis[];
}

/**
 * The fixed recipe for a failed run. Applies every recognised fix (so a failure with two causes is fixed
 * in one go); if nothing is recognised, or the fixes change nothing, falls back to the safest recipe.
 */
export function planDebug(parentRecipe: Recipe | null, run: FailedRun): DebugPlan {
  const diagnoses = diagnose(run);
  const what = diagnoses[0]?.evidence ?? "the run failed";
  if (!parentRecipe) {
    const recipe = fallback(null, false);
    return {
      recipe,
      diagnoses,
      plan: `The failed script (${what}) was not written by the offline coder; replace it with the safest simple pipeline: linear model, median imputation, scaling and one-hot encoding.`,
    };
  }
  let recipe = parentRecipe;
  const sentences: string[] = [];
  for (const d of diagnoses) {
    const fix = applyFix(d.kind, recipe);
    if (fix && recipeKey(fix.recipe) !== recipeKey(recipe)) {
      recipe = fix.recipe;
      sentences.push(fix.sentence);
    }
  }
  if (sentences.length) {
    return { recipe, diagnoses, plan: `Fix the failure (${what}): ${sentences.join(" ")}` };
  }
  const safest = fallback(parentRecipe, false);
  const escalate = recipeKey(safest) === recipeKey(parentRecipe);
  const next = escalate ? fallback(parentRecipe, true) : safest;
  if (recipeKey(next) === recipeKey(parentRecipe)) {
    const l = lighter(next);
    return {
      recipe: l,
      diagnoses,
      plan: `Unrecognised failure (${what}); the safest pipeline already failed, so retry it on fewer rows with 3-fold CV.`,
    };
  }
  return {
    recipe: next,
    diagnoses,
    plan: escalate
      ? `Unrecognised failure (${what}); switch on every safety measure: categories as strings, sanitised inputs, plain K-fold, positional submission, broad file search, metric fallback.`
      : `Unrecognised failure (${what}); fall back to the safest simple pipeline: linear model with median imputation, standard scaling and one-hot encoding, with sanitised inputs and a metric fallback.`,
  };
}
