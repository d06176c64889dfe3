/**
 * The offline coder's design space. A Recipe is everything that distinguishes one generated script from
 * another: preprocessing choices, the model family and its hyperparameters, and a few safety switches that
 * debugging turns on. Recipes are plain JSON so they can ride along in the script as a comment and be read
 * back later (the coder keeps no state of its own).
 */

export const MODEL_KINDS = [
  "linear",
  "random_forest",
  "extra_trees",
  "hist_gb",
  "gradient_boosting",
  "svm",
  "knn",
] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

export const PARAM_NAMES = [
  "C",
  "alpha",
  "n_estimators",
  "learning_rate",
  "max_iter",
  "max_depth",
  "max_leaf_nodes",
  "min_samples_leaf",
  "max_features",
  "l2_regularization",
  "subsample",
  "epsilon",
  "n_neighbors",
] as const;
export type ParamName = (typeof PARAM_NAMES)[number];

/**
 * Hyperparameters by name. Conventions: `max_depth` 0 means unlimited; `max_features` 0 means "sqrt".
 * Only the names that the model uses are present.
 */
export type HyperParams = Partial<Record<ParamName, number>>;

export type Imputation = "median" | "mean" | "constant";
export type Scaling = "standard" | "robust" | "quantile" | "none";
export type Encoding = "onehot" | "ordinal" | "target";
export type DateFeatures = "ordinal" | "parts" | "rich";

/** Switches that debugging turns on; all false in a fresh draft. */
export interface Safety {
  /** Replace inf with NaN, clip extreme values and impute everything once more right before the model. */
  sanitize: boolean;
  /** Treat every non-numeric column as a category (no numeric or date parsing of strings). */
  stringsAsCategories: boolean;
  /** Plain (unstratified) K-fold. */
  plainKFold: boolean;
  /** Fill the submission row by row in the sample's order instead of matching ids. */
  positionalSubmission: boolean;
  /** Look for data files of any tabular extension and fall back to the largest files. */
  broadFileSearch: boolean;
  /** If the task's metric cannot be computed, fall back to accuracy / RMSE instead of failing. */
  metricFallback: boolean;
}

export interface Recipe {
  version: 1;
  model: ModelKind;
  params: HyperParams;
  imputation: Imputation;
  scaling: Scaling;
  encoding: Encoding;
  /** Categorical columns with at most this many distinct values are one-hot/ordinal encoded; others get frequency encoding. */
  maxOneHot: number;
  dates: DateFeatures;
  missingIndicators: boolean;
  /** Degree-2 polynomial features of the numeric columns (for linear, SVM and kNN models). */
  interactions: boolean;
  /** Fit regression models on log1p(target) and invert the predictions. */
  logTarget: boolean;
  /** Balanced class weights (as sample weights) for classification. */
  classWeight: boolean;
  folds: number;
  /** Train on at most this many rows (a random subsample); null = all rows. */
  maxRows: number | null;
  safety: Safety;
}

export const MODEL_LABELS: Record<ModelKind, string> = {
  linear: "linear model (logistic / ridge regression)",
  random_forest: "random forest",
  extra_trees: "extra trees",
  hist_gb: "histogram gradient boosting",
  gradient_boosting: "gradient boosting",
  svm: "support vector machine (RBF kernel)",
  knn: "k-nearest neighbours",
};

/** Models whose inputs should be scaled (distance or penalty based). */
export function needsScaling(model: ModelKind): boolean {
  return model === "linear" || model === "svm" || model === "knn";
}

export function isTreeModel(model: ModelKind): boolean {
  return !needsScaling(model);
}

/** Default hyperparameters of each model family, as the offline coder drafts them. */
export function defaultParams(model: ModelKind): HyperParams {
  switch (model) {
    case "linear":
      return { C: 1, alpha: 1 };
    case "random_forest":
      return { n_estimators: 300, max_depth: 0, min_samples_leaf: 1, max_features: 0.5 };
    case "extra_trees":
      return { n_estimators: 400, max_depth: 0, min_samples_leaf: 2, max_features: 0.7 };
    case "hist_gb":
      return { learning_rate: 0.1, max_iter: 200, max_leaf_nodes: 15, min_samples_leaf: 20, l2_regularization: 0 };
    case "gradient_boosting":
      return { n_estimators: 300, learning_rate: 0.05, max_depth: 3, subsample: 0.8, min_samples_leaf: 3 };
    case "svm":
      return { C: 3, epsilon: 0.1 };
    case "knn":
      return { n_neighbors: 10 };
  }
}

export function defaultSafety(): Safety {
  return {
    sanitize: false,
    stringsAsCategories: false,
    plainKFold: false,
    positionalSubmission: false,
    broadFileSearch: false,
    metricFallback: false,
  };
}

/** A recipe for `model` with the preprocessing that suits that family. */
export function baseRecipe(model: ModelKind): Recipe {
  const scaled = needsScaling(model);
  return {
    version: 1,
    model,
    params: defaultParams(model),
    imputation: "median",
    scaling: scaled ? "standard" : "none",
    encoding: model === "hist_gb" ? "ordinal" : "onehot",
    maxOneHot: 20,
    dates: "parts",
    missingIndicators: !scaled,
    interactions: false,
    logTarget: false,
    classWeight: false,
    folds: 5,
    maxRows: null,
    safety: defaultSafety(),
  };
}

/** The most conservative recipe: what debugging falls back to when it does not recognise a failure. */
export function safestRecipe(): Recipe {
  const r = baseRecipe("linear");
  r.safety = { ...defaultSafety(), sanitize: true, metricFallback: true };
  return r;
}

/** Switches model family, resetting the hyperparameters to the new family's defaults. */
export function withModel(recipe: Recipe, model: ModelKind): Recipe {
  const next = clone(recipe);
  next.model = model;
  next.params = defaultParams(model);
  if (needsScaling(model) && next.scaling === "none") next.scaling = "standard";
  if (model !== "linear" && model !== "svm" && model !== "knn") next.interactions = false;
  return next;
}

export function clone(recipe: Recipe): Recipe {
  return JSON.parse(JSON.stringify(recipe)) as Recipe;
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
}

export function paramText(name: ParamName, value: number | undefined): string {
  if (value === undefined) return "default";
  if (name === "max_depth" && value === 0) return "unlimited";
  if (name === "max_features" && value === 0) return "sqrt";
  return fmt(value);
}

/** One-line plan: what the script does. */
export function describe(recipe: Recipe): string {
  const parts: string[] = [];
  const params = (Object.keys(recipe.params) as ParamName[])
    .filter((k) => !(recipe.model === "linear" && (k === "C" || k === "alpha") && recipe.params[k] === 1))
    .map((k) => `${k}=${paramText(k, recipe.params[k])}`);
  parts.push(MODEL_LABELS[recipe.model] + (params.length ? ` (${params.join(", ")})` : ""));
  parts.push(`${recipe.imputation} imputation${recipe.missingIndicators ? " + missing indicators" : ""}`);
  if (recipe.scaling !== "none") parts.push(`${recipe.scaling} scaling`);
  parts.push(`${recipe.encoding === "onehot" ? "one-hot" : recipe.encoding} encoding of categories`);
  parts.push(`${recipe.dates} date features`);
  if (recipe.interactions) parts.push("degree-2 interaction features");
  if (recipe.logTarget) parts.push("log1p target");
  if (recipe.classWeight) parts.push("balanced class weights");
  if (recipe.maxRows !== null) parts.push(`train on at most ${recipe.maxRows} rows`);
  const safe = (Object.keys(recipe.safety) as Array<keyof Safety>).filter((k) => recipe.safety[k]);
  if (safe.length) parts.push(`safety: ${safe.join(", ")}`);
  return `${parts.join("; ")}; ${recipe.folds}-fold CV.`;
}

/** Canonical text of a recipe, for equality checks. */
export function recipeKey(recipe: Recipe): string {
  return JSON.stringify(canonical(recipe));
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value as Record<string, unknown>).sort()) {
      out[k] = canonical((value as Record<string, unknown>)[k]);
    }
    return out;
  }
  return value;
}

/**
 * Key of what a recipe actually does: fields a model ignores (scaling and polynomial features for trees)
 * are normalised, so two recipes that would run identically compare equal.
 */
export function effectiveKey(recipe: Recipe): string {
  const r = clone(recipe);
  if (isTreeModel(r.model)) {
    r.scaling = "none";
    r.interactions = false;
  }
  return recipeKey(r);
}

export const RECIPE_MARKER = "# AIDE_OFFLINE_RECIPE ";

export function recipeComment(recipe: Recipe): string {
  return RECIPE_MARKER + JSON.stringify(recipe);
}

/**
 * Reads the recipe back from a script written by this coder. Returns null when the script has no recipe
 * line (another coder wrote it) or the line does not describe a valid recipe. Missing fields of older
 * recipes are filled with defaults.
 */
export function parseRecipe(code: string | undefined): Recipe | null {
  if (!code) return null;
  const line = code.split("\n").find((l) => l.startsWith(RECIPE_MARKER));
  if (!line) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(line.slice(RECIPE_MARKER.length));
  } catch {
    return null;
  }
  return validateRecipe(raw);
}

function oneOf<T extends string>(value: unknown, options: readonly T[], fallback: T): T {
  return typeof value === "string" && (options as readonly string[]).includes(value) ? (value as T) : fallback;
}

function num(value: unknown, fallback: number, min: number, max: number): number {
  return typeof value === "number" && Number.isFinite(value) ? Math.min(max, Math.max(min, value)) : fallback;
}

function bool(value: unknown, fallback: boolean): boolean {
  return typeof value === "boolean" ? value : fallback;
}

export function validateRecipe(raw: unknown): Recipe | null {
  if (!raw || typeof raw !== "object") return null;
  const o = raw as Record<string, unknown>;
  if (typeof o.model !== "string" || !(MODEL_KINDS as readonly string[]).includes(o.model)) return null;
  const model = o.model as ModelKind;
  const base = baseRecipe(model);
  const params: HyperParams = {};
  if (o.params && typeof o.params === "object") {
    for (const [k, v] of Object.entries(o.params as Record<string, unknown>)) {
      if ((PARAM_NAMES as readonly string[]).includes(k) && typeof v === "number" && Number.isFinite(v)) {
        params[k as ParamName] = v;
      }
    }
  }
  const s = (o.safety && typeof o.safety === "object" ? o.safety : {}) as Record<string, unknown>;
  const maxRows = o.maxRows === null || o.maxRows === undefined ? null : num(o.maxRows, 0, 100, 1e9);
  return {
    version: 1,
    model,
    params: Object.keys(params).length ? params : base.params,
    imputation: oneOf(o.imputation, ["median", "mean", "constant"] as const, base.imputation),
    scaling: oneOf(o.scaling, ["standard", "robust", "quantile", "none"] as const, base.scaling),
    encoding: oneOf(o.encoding, ["onehot", "ordinal", "target"] as const, base.encoding),
    maxOneHot: Math.round(num(o.maxOneHot, base.maxOneHot, 2, 200)),
    dates: oneOf(o.dates, ["ordinal", "parts", "rich"] as const, base.dates),
    missingIndicators: bool(o.missingIndicators, base.missingIndicators),
    interactions: bool(o.interactions, base.interactions),
    logTarget: bool(o.logTarget, base.logTarget),
    classWeight: bool(o.classWeight, base.classWeight),
    folds: Math.round(num(o.folds, base.folds, 2, 10)),
    maxRows: maxRows === null ? null : Math.round(maxRows),
    safety: {
      sanitize: bool(s.sanitize, false),
      stringsAsCategories: bool(s.stringsAsCategories, false),
      plainKFold: bool(s.plainKFold, false),
      positionalSubmission: bool(s.positionalSubmission, false),
      broadFileSearch: bool(s.broadFileSearch, false),
      metricFallback: bool(s.metricFallback, false),
    },
  };
}
