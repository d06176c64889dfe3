/**
 * Improvement moves: each move is exactly one atomic change to a Recipe (switch model, step one
 * hyperparameter along its ladder, change one preprocessing choice). `candidateMoves` lists them in order of
 * promise for the recipe at hand; guidance tags pull matching moves to the front.
 */
import {
  type ModelKind,
  type ParamName,
  type Recipe,
  MODEL_LABELS,
  clone,
  isTreeModel,
  needsScaling,
  paramText,
  withModel,
} from "./recipe.ts";
import type { DataHints } from "./task-reading.ts";

export interface Move {
  /** Stable id, e.g. "param:n_estimators:up", "model:hist_gb", "encoding:target". */
  id: string;
  /** One sentence saying what changed. */
  sentence: string;
  /** Tags that guidance can ask for (see guidance.ts). */
  tags: string[];
  /** Higher is tried first. */
  priority: number;
  recipe: Recipe;
}

export interface MoveContext {
  taskType: "classification" | "regression" | null;
  hints: DataHints;
}

/** Ordered values each hyperparameter steps through; one move = one step. */
const LADDERS: Record<ParamName, number[]> = {
  C: [0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30, 100, 300],
  alpha: [0.01, 0.1, 0.3, 1, 3, 10, 30, 100, 300],
  n_estimators: [100, 200, 300, 400, 600, 800, 1200],
  learning_rate: [0.01, 0.02, 0.03, 0.05, 0.1, 0.2],
  max_iter: [100, 200, 300, 500, 800, 1200],
  max_depth: [2, 3, 4, 5, 6, 8, 10, 16, 24, 0],
  max_leaf_nodes: [7, 15, 31, 63],
  min_samples_leaf: [1, 2, 3, 5, 10, 20, 40, 80],
  max_features: [0, 0.3, 0.5, 0.7, 1],
  l2_regularization: [0, 0.1, 1, 10],
  subsample: [0.6, 0.7, 0.8, 0.9, 1],
  epsilon: [0.01, 0.05, 0.1, 0.2, 0.5],
  n_neighbors: [3, 5, 7, 10, 15, 20, 30, 50],
};

/** Position on a ladder of a value that may lie between rungs. */
function rungIndex(ladder: number[], value: number): number {
  let best = 0;
  ladder.forEach((v, i) => {
    if (Math.abs(v - value) < Math.abs((ladder[best] ?? 0) - value)) best = i;
  });
  return best;
}

/** The value one rung up or down, or null at the end of the ladder. */
export function stepParam(name: ParamName, value: number, dir: 1 | -1): number | null {
  const ladder = LADDERS[name];
  const next = ladder[rungIndex(ladder, value) + dir];
  return next === undefined ? null : next;
}

const PARAM_WORDS: Partial<Record<ParamName, string>> = {
  C: "the inverse regularisation strength C",
  alpha: "the ridge penalty alpha",
  n_estimators: "the number of trees",
  learning_rate: "the learning rate",
  max_iter: "the number of boosting iterations",
  max_depth: "the maximum tree depth",
  max_leaf_nodes: "the maximum leaves per tree",
  min_samples_leaf: "the minimum samples per leaf",
  max_features: "the share of features tried per split",
  l2_regularization: "the L2 regularisation",
  subsample: "the row subsample per tree",
  epsilon: "the SVR epsilon",
  n_neighbors: "the number of neighbours",
};

/** Whether a larger value of the parameter makes the model more flexible (for "simpler"/"more complex" tags). */
const MORE_FLEXIBLE_WHEN_UP: Record<ParamName, boolean> = {
  C: true,
  alpha: false,
  n_estimators: true,
  learning_rate: true,
  max_iter: true,
  max_depth: true,
  max_leaf_nodes: true,
  min_samples_leaf: false,
  max_features: true,
  l2_regularization: false,
  subsample: true,
  epsilon: false,
  n_neighbors: false,
};

function paramMove(recipe: Recipe, name: ParamName, dir: 1 | -1, priority: number): Move | null {
  const current = recipe.params[name];
  if (current === undefined) return null;
  let next = stepParam(name, current, dir);
  if (name === "max_depth" && current === 0 && dir === -1) next = 16;
  if (name === "max_depth" && current === 0 && dir === 1) next = null;
  if (next === null || next === current) return null;
  const r = clone(recipe);
  r.params[name] = next;
  const flexible = MORE_FLEXIBLE_WHEN_UP[name] === (dir === 1);
  const tags = [`param:${name}`, `param:${name}:${dir === 1 ? "up" : "down"}`, flexible ? "complex" : "simpler"];
  if (name === "n_estimators" || name === "max_iter") tags.push(dir === 1 ? "more_trees" : "fewer_trees");
  if (name === "learning_rate" && dir === -1) tags.push("lr_down");
  const verb = dir === 1 ? "Increase" : "Decrease";
  const words = PARAM_WORDS[name] ?? name;
  return {
    id: `param:${name}:${dir === 1 ? "up" : "down"}`,
    sentence: `${verb} ${words} (${name}) from ${paramText(name, current)} to ${paramText(name, next)}, keeping everything else the same.`,
    tags,
    priority,
    recipe: r,
  };
}

/** Learning rate down with proportionally more boosting rounds: the usual one-knob trade for accuracy. */
function slowerLearningMove(recipe: Recipe, roundsParam: "max_iter" | "n_estimators", priority: number): Move | null {
  const lr = recipe.params.learning_rate;
  const rounds = recipe.params[roundsParam];
  if (lr === undefined || rounds === undefined) return null;
  const nextLr = stepParam("learning_rate", lr, -1);
  if (nextLr === null) return null;
  const scaled = Math.min(2400, Math.round((rounds * lr) / nextLr / 50) * 50);
  const r = clone(recipe);
  r.params.learning_rate = nextLr;
  r.params[roundsParam] = scaled;
  return {
    id: "slower_learning",
    sentence: `Lower the learning rate from ${paramText("learning_rate", lr)} to ${paramText("learning_rate", nextLr)} and scale ${roundsParam} from ${rounds} to ${scaled} to match (same budget of shrinkage, finer steps).`,
    tags: ["param:learning_rate", "lr_down", "more_trees"],
    priority,
    recipe: r,
  };
}

function change(
  recipe: Recipe,
  id: string,
  sentence: string,
  tags: string[],
  priority: number,
  edit: (r: Recipe) => void,
): Move {
  const r = clone(recipe);
  edit(r);
  return { id, sentence, tags, priority, recipe: r };
}

/** Param moves of each family with their priorities (higher first). */
function paramPlan(model: ModelKind, taskType: MoveContext["taskType"]): Array<[ParamName | "slower", 1 | -1, number]> {
  switch (model) {
    case "linear": {
      const reg: ParamName = taskType === "regression" ? "alpha" : "C";
      const other: ParamName = reg === "C" ? "alpha" : "C";
      const plan: Array<[ParamName | "slower", 1 | -1, number]> = [
        [reg, -1, 80],
        [reg, 1, 79],
      ];
      if (taskType === null) plan.push([other, -1, 40], [other, 1, 39]);
      return plan;
    }
    case "hist_gb":
      return [
        ["slower", -1, 90],
        ["max_leaf_nodes", -1, 78],
        ["min_samples_leaf", 1, 76],
        ["l2_regularization", 1, 70],
        ["max_leaf_nodes", 1, 60],
        ["min_samples_leaf", -1, 58],
        ["max_iter", 1, 50],
      ];
    case "gradient_boosting":
      return [
        ["slower", -1, 88],
        ["max_depth", 1, 80],
        ["n_estimators", 1, 74],
        ["max_depth", -1, 72],
        ["subsample", -1, 60],
        ["min_samples_leaf", 1, 56],
      ];
    case "random_forest":
    case "extra_trees":
      return [
        ["n_estimators", 1, 82],
        ["min_samples_leaf", 1, 78],
        ["max_features", 1, 74],
        ["max_features", -1, 72],
        ["min_samples_leaf", -1, 60],
        ["max_depth", -1, 50],
      ];
    case "svm":
      return [
        ["C", 1, 86],
        ["C", -1, 80],
        ["epsilon", -1, taskType === "classification" ? 0 : 60],
        ["epsilon", 1, taskType === "classification" ? 0 : 55],
      ];
    case "knn":
      return [
        ["n_neighbors", 1, 82],
        ["n_neighbors", -1, 78],
      ];
  }
}

/** Order in which other model families are proposed as a switch (strongest general performers first). */
const SWITCH_ORDER: ModelKind[] = [
  "hist_gb",
  "gradient_boosting",
  "svm",
  "random_forest",
  "extra_trees",
  "linear",
  "knn",
];

/** Every one-change neighbour of `recipe`, most promising first. */
export function candidateMoves(recipe: Recipe, ctx: MoveContext): Move[] {
  const moves: Move[] = [];
  const push = (m: Move | null) => {
    if (m) moves.push(m);
  };
  const { hints } = ctx;
  const taskType = ctx.taskType ?? hints.taskType ?? null;
  /** With exact facts, a preprocessing move that cannot change anything is not offered at all. */
  const relevant = (known: boolean | undefined) => !hints.exact || known !== false;

  for (const [name, dir, priority] of paramPlan(recipe.model, taskType)) {
    if (priority <= 0) continue;
    if (name === "slower")
      push(slowerLearningMove(recipe, recipe.model === "hist_gb" ? "max_iter" : "n_estimators", priority));
    else push(paramMove(recipe, name, dir, priority));
  }

  const catBoost = hints.hasCategorical ? 20 : 0;
  const cats = relevant(hints.hasCategorical);
  if (cats && recipe.encoding !== "target") {
    push(
      change(
        recipe,
        "encoding:target",
        "Encode categorical columns with smoothed out-of-fold target means instead of " +
          `${recipe.encoding === "onehot" ? "one-hot" : "ordinal"} codes.`,
        ["encoding:target", "encoding"],
        45 + catBoost,
        (r) => {
          r.encoding = "target";
        },
      ),
    );
  }
  if (cats && recipe.encoding !== "onehot") {
    push(
      change(
        recipe,
        "encoding:onehot",
        "Encode low-cardinality categorical columns one-hot instead of " +
          `${recipe.encoding === "target" ? "target means" : "ordinal codes"}.`,
        ["encoding:onehot", "encoding"],
        44 + catBoost,
        (r) => {
          r.encoding = "onehot";
        },
      ),
    );
  }
  if (cats && recipe.encoding !== "ordinal" && isTreeModel(recipe.model)) {
    push(
      change(
        recipe,
        "encoding:ordinal",
        `Encode categorical columns as ordinal codes${recipe.model === "hist_gb" ? " (native categorical splits)" : ""} instead of ${recipe.encoding === "onehot" ? "one-hot" : "target means"}.`,
        ["encoding:ordinal", "encoding"],
        40 + catBoost,
        (r) => {
          r.encoding = "ordinal";
        },
      ),
    );
  }
  if (relevant(hints.hasDates) && recipe.dates !== "rich") {
    push(
      change(
        recipe,
        "dates:rich",
        "Add richer date features (day of year, quarter, weekend flag, cyclic month, hour) for date columns.",
        ["dates"],
        hints.hasDates ? 62 : 20,
        (r) => {
          r.dates = "rich";
        },
      ),
    );
  }
  if (relevant(hints.hasMissing))
    push(
      change(
        recipe,
        "missing_indicators",
        `${recipe.missingIndicators ? "Remove" : "Add"} missing-value indicator columns for numeric features with gaps.`,
        ["missing"],
        hints.hasMissing ? 52 : 18,
        (r) => {
          r.missingIndicators = !r.missingIndicators;
        },
      ),
    );
  if (relevant(hints.hasMissing) && recipe.imputation !== "mean") {
    push(
      change(
        recipe,
        "imputation:mean",
        `Impute missing numbers with the column mean instead of the ${recipe.imputation}.`,
        ["imputation"],
        hints.hasMissing ? 34 : 12,
        (r) => {
          r.imputation = "mean";
        },
      ),
    );
  }
  if (needsScaling(recipe.model)) {
    if (!recipe.interactions && (!hints.exact || (hints.numericColumns ?? 0) <= 40)) {
      push(
        change(
          recipe,
          "interactions",
          "Add degree-2 polynomial and interaction features of the numeric columns.",
          ["interactions", "complex"],
          66,
          (r) => {
            r.interactions = true;
          },
        ),
      );
    } else {
      push(
        change(
          recipe,
          "interactions:off",
          "Drop the degree-2 polynomial features.",
          ["interactions", "simpler"],
          45,
          (r) => {
            r.interactions = false;
          },
        ),
      );
    }
    if (recipe.scaling !== "quantile") {
      push(
        change(
          recipe,
          "scaling:quantile",
          `Map numeric features through a quantile transform to a normal shape instead of ${recipe.scaling} scaling.`,
          ["scaling"],
          48,
          (r) => {
            r.scaling = "quantile";
          },
        ),
      );
    }
    if (recipe.scaling !== "standard") {
      push(
        change(
          recipe,
          "scaling:standard",
          `Use standard scaling of numeric features instead of ${recipe.scaling === "none" ? "none" : recipe.scaling}.`,
          ["scaling"],
          recipe.scaling === "none" ? 90 : 42,
          (r) => {
            r.scaling = "standard";
          },
        ),
      );
    }
    if (recipe.scaling !== "robust") {
      push(
        change(
          recipe,
          "scaling:robust",
          "Use robust (median/IQR) scaling of numeric features.",
          ["scaling"],
          30,
          (r) => {
            r.scaling = "robust";
          },
        ),
      );
    }
  } else if (recipe.scaling === "none") {
    push(
      change(recipe, "scaling:standard", "Standardise numeric features before the model.", ["scaling"], 5, (r) => {
        r.scaling = "standard";
      }),
    );
  }
  if (taskType !== "classification" && (recipe.logTarget || relevant(hints.skewedTarget))) {
    push(
      change(
        recipe,
        "log_target",
        recipe.logTarget
          ? "Fit on the raw target instead of log1p(target)."
          : "Fit on log1p(target) and invert the predictions, to tame a skewed regression target.",
        ["log_target"],
        hints.skewedTarget ? 64 : taskType === "regression" ? 36 : 10,
        (r) => {
          r.logTarget = !r.logTarget;
        },
      ),
    );
  }
  if (taskType !== "regression" && (recipe.classWeight || relevant(hints.imbalanced))) {
    push(
      change(
        recipe,
        "class_weight",
        recipe.classWeight
          ? "Drop the balanced class weights."
          : "Weight classes inversely to their frequency (balanced sample weights).",
        ["class_weight"],
        hints.imbalanced ? 46 : taskType === "classification" ? 32 : 10,
        (r) => {
          r.classWeight = !r.classWeight;
        },
      ),
    );
  }
  if (hints.hasCategorical && relevant(hints.hasHighCardinality)) {
    const next = recipe.maxOneHot < 50 ? 50 : 10;
    push(
      change(
        recipe,
        "max_onehot",
        `Treat categorical columns with up to ${next} distinct values as low-cardinality (was ${recipe.maxOneHot}).`,
        ["encoding"],
        22,
        (r) => {
          r.maxOneHot = next;
        },
      ),
    );
  }

  SWITCH_ORDER.filter((m) => m !== recipe.model).forEach((m, i) => {
    const r = withModel(recipe, m);
    if (m === "hist_gb" && r.encoding === "onehot") r.encoding = "ordinal";
    if (!needsScaling(m)) r.scaling = "none";
    if (!needsScaling(m) && recipe.model !== m && needsScaling(recipe.model)) r.missingIndicators = true;
    push({
      id: `model:${m}`,
      sentence: `Switch the model from ${MODEL_LABELS[recipe.model]} to ${MODEL_LABELS[m]} with default settings, keeping the preprocessing.`,
      tags: [`model:${m}`, ...(m === "linear" ? ["simpler"] : [])],
      priority: 28 - i,
      recipe: r,
    });
  });

  return moves.sort((a, b) => b.priority - a.priority);
}

/**
 * Picks the most promising move, preferring moves whose tags match `wanted` (from guidance), skipping any
 * whose resulting recipe is in `seen` (already evaluated anywhere in the journal, or proposed by a sibling).
 */
export function chooseMove(moves: Move[], seen: (r: Recipe) => boolean, wanted: string[] = []): Move | null {
  const fresh = moves.filter((m) => !seen(m.recipe));
  if (wanted.length) {
    const hit = fresh.find((m) => m.tags.some((t) => wanted.includes(t)));
    if (hit) return hit;
  }
  return fresh[0] ?? null;
}
