/**
 * Maps free-text guidance from people steering a run ("try gradient boosting", "more trees", "log target")
 * to move tags. The latest guidance that the coder understands wins.
 */
import type { ModelKind } from "./recipe.ts";

export interface GuidanceIntent {
  /** The guidance text that was understood. */
  text: string;
  /** Move tags that satisfy it (see moves.ts). */
  tags: string[];
  /** A model family asked for by name, if any. */
  model: ModelKind | null;
}

const RULES: Array<[RegExp, string[]]> = [
  [/hist(?:ogram)?[- ]?(?:gradient)?[- ]?boost|lightgbm|\blgbm\b|xgboost|catboost/, ["model:hist_gb"]],
  [/gradient[- ]?boost|\bgbm\b|\bgbdt\b/, ["model:gradient_boosting"]],
  [/\bboost(?:ing|ed)?\b/, ["model:hist_gb"]],
  [/random[- ]?forest|\brf\b/, ["model:random_forest"]],
  [/extra[- ]?trees|extremely randomi[sz]ed/, ["model:extra_trees"]],
  [/\bsvm\b|\bsvc\b|\bsvr\b|support[- ]vector|kernel/, ["model:svm"]],
  [/\bknn\b|k[- ]?nearest|nearest[- ]neighbou?r/, ["model:knn"]],
  [/linear|logistic|ridge|lasso|\bglm\b/, ["model:linear"]],
  [
    /more (?:trees|estimators|iterations|rounds|boosting rounds)|increase (?:the )?(?:number of )?(?:trees|estimators|iterations)/,
    ["more_trees"],
  ],
  [/fewer (?:trees|estimators|iterations|rounds)|less trees|faster/, ["fewer_trees"]],
  [/(?:lower|smaller|reduce|decrease)(?: the)? learning[- ]rate/, ["lr_down"]],
  [/target[- ]encod|mean[- ]encod/, ["encoding:target"]],
  [/one[- ]?hot|dummy|dummies/, ["encoding:onehot"]],
  [/ordinal|label[- ]encod/, ["encoding:ordinal"]],
  [/scal(?:e|ing)|standardi[sz]|normali[sz]/, ["scaling"]],
  [/log[- ]?(?:transform(?:ed)?)?[- ]?(?:the )?target|log1p|target.*\blog\b|\blog\b.*target/, ["log_target"]],
  [/simpl|less complex|regulari[sz]|overfit|shallower|smaller model/, ["simpler"]],
  [/more complex|deeper|underfit|bigger model|more capacity|more flexible/, ["complex"]],
  [/class[- ]?weight|imbalanc|balanced/, ["class_weight"]],
  [/interaction|polynomial|feature cross/, ["interactions"]],
  [/\bdates?\b|datetime|time[- ]?features|seasonal/, ["dates"]],
  [/missing|indicator|imput/, ["missing", "imputation"]],
  [/categor|encod/, ["encoding"]],
  [
    /tun(?:e|ing)|hyper[- ]?param/,
    ["param:n_estimators", "param:learning_rate", "param:C", "param:alpha", "param:min_samples_leaf", "slower"],
  ],
];

/** The tags one guidance text asks for, in the order the rules matched (model requests first). */
export function tagsFor(text: string): string[] {
  const low = text.toLowerCase();
  const tags: string[] = [];
  let model = false;
  for (const [re, ruleTags] of RULES) {
    if (!re.test(low)) continue;
    const isModel = ruleTags.some((t) => t.startsWith("model:"));
    // Only the first model named counts ("gradient boosting" must not also read as "boosting").
    if (isModel && model) continue;
    if (isModel) model = true;
    tags.push(...ruleTags);
  }
  return tags;
}

/** Reads guidance newest first and returns the first one that maps to something the coder can do. */
export function readGuidance(guidance: readonly string[]): GuidanceIntent | null {
  for (let i = guidance.length - 1; i >= 0; i--) {
    const text = guidance[i] ?? "";
    const tags = tagsFor(text);
    if (!tags.length) continue;
    const modelTag = tags.find((t) => t.startsWith("model:"));
    return { text, tags, model: modelTag ? (modelTag.slice("model:".length) as ModelKind) : null };
  }
  return null;
}
