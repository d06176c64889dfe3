/**
 * Drafting: a space of designs. The first draft of a run is deliberately simple (linear model with
 * imputation, scaling and one-hot encoding); later drafts use other model families not drafted yet, then
 * preprocessing variants. Deterministic given the journal.
 */
import { type ModelKind, type Recipe, MODEL_LABELS, baseRecipe, clone, describe } from "./recipe.ts";
import type { DataHints } from "./task-reading.ts";
import type { GuidanceIntent } from "./guidance.ts";
import { candidateMoves, type MoveContext } from "./moves.ts";

/** Model families in the order drafts try them. */
export const DRAFT_ORDER: ModelKind[] = [
  "linear",
  "hist_gb",
  "random_forest",
  "svm",
  "gradient_boosting",
  "extra_trees",
  "knn",
];

/** SVMs and kNN scale badly; only draft them when the data is known or likely to be small. */
function suitsData(model: ModelKind, hints: DataHints): boolean {
  if (model !== "svm" && model !== "knn") return true;
  return hints.rows === null || hints.rows <= 20000;
}

export interface DraftInput {
  /** Recipes of earlier drafts (null where a draft was not written by this coder). */
  earlierDrafts: Array<Recipe | null>;
  seen: (r: Recipe) => boolean;
  guidance: GuidanceIntent | null;
  moveContext: MoveContext;
  step: number;
}

export interface DraftPlan {
  recipe: Recipe;
  plan: string;
}

function applyGuidanceTweak(
  recipe: Recipe,
  guidance: GuidanceIntent | null,
  ctx: MoveContext,
): { recipe: Recipe; note: string } {
  if (!guidance) return { recipe, note: "" };
  const tweak = candidateMoves(recipe, ctx).find(
    (m) => !m.id.startsWith("model:") && m.tags.some((t) => guidance.tags.includes(t)),
  );
  if (!tweak) return { recipe, note: "" };
  return { recipe: tweak.recipe, note: ` Following the guidance "${guidance.text}": ${tweak.sentence}` };
}

export function planDraft(input: DraftInput): DraftPlan {
  const { earlierDrafts, seen, guidance, moveContext } = input;
  const hints = moveContext.hints;

  if (guidance?.model) {
    let recipe = baseRecipe(guidance.model);
    if (seen(recipe)) {
      const variant = candidateMoves(recipe, moveContext).find((m) => !m.id.startsWith("model:") && !seen(m.recipe));
      if (variant) recipe = variant.recipe;
    }
    const tweak = applyGuidanceTweak(
      recipe,
      { ...guidance, tags: guidance.tags.filter((t) => !t.startsWith("model:")) },
      moveContext,
    );
    return {
      recipe: tweak.recipe,
      plan: `Draft a ${MODEL_LABELS[guidance.model]} pipeline, as the guidance "${guidance.text}" asks: ${describe(tweak.recipe)}`,
    };
  }

  if (earlierDrafts.length === 0) {
    const { recipe, note } = applyGuidanceTweak(baseRecipe("linear"), guidance, moveContext);
    return {
      recipe,
      plan: `Start simple: ${describe(recipe)}${note}`,
    };
  }

  const drafted = new Set(earlierDrafts.filter((r): r is Recipe => r !== null).map((r) => r.model));
  const next = DRAFT_ORDER.find((m) => !drafted.has(m) && suitsData(m, hints) && !seen(baseRecipe(m)));
  if (next) {
    const { recipe, note } = applyGuidanceTweak(baseRecipe(next), guidance, moveContext);
    return { recipe, plan: `Try another model family, ${MODEL_LABELS[next]}: ${describe(recipe)}${note}` };
  }

  // Every family has a draft: vary the preprocessing of one family, rotating by step.
  const families = DRAFT_ORDER.filter((m) => suitsData(m, hints));
  for (let i = 0; i < families.length; i++) {
    const model = families[(input.step + i) % families.length] ?? "linear";
    const base = baseRecipe(model);
    const variant = candidateMoves(base, moveContext).find((m) => !m.id.startsWith("model:") && !seen(m.recipe));
    if (variant) {
      return {
        recipe: variant.recipe,
        plan: `Draft a variant of the ${MODEL_LABELS[model]} design. ${variant.sentence} ${describe(variant.recipe)}`,
      };
    }
  }
  const recipe = clone(baseRecipe("hist_gb"));
  return { recipe, plan: `Every draft design has been tried; re-draft ${describe(recipe)}` };
}
