/**
 * The one table of metric names the search knows: which way each metric goes (lower or higher is better) and
 * which spellings name the same metric ("ROC AUC", "roc_auc" and "auc"; "root mean squared error" and "rmse").
 * Names are compared by their tokens (case, spaces, underscores, hyphens and other punctuation do not matter);
 * a leading "neg" (scikit-learn's "neg_mean_squared_error") names the negated metric, whose direction is the
 * other one. Qualifiers such as "val_", "cv_" or "_score" are dropped when the bare name is known, and a longer
 * name that mentions exactly one metric is that metric ("RMSE on log prices", "auc_fold_mean").
 * The harness's scoring (src/workspace/metrics) names its metrics and takes their directions from here too.
 */

/** The name a metric line gets when it names none; taken as the run's metric rather than as another one. */
export const UNNAMED_METRIC = "metric";

interface MetricEntry {
  lowerIsBetter: boolean;
  aliases: readonly string[];
  /** An everyday word too: counts in a task text only where the text talks about its evaluation. */
  generic?: boolean;
}

const METRICS: Readonly<Record<string, MetricEntry>> = {
  // Lower is better.
  rmse: {
    lowerIsBetter: true,
    aliases: ["root mean squared error", "root mean square error", "root mse", "rms error"],
  },
  mse: { lowerIsBetter: true, aliases: ["mean squared error", "mean square error", "squared error"] },
  mae: { lowerIsBetter: true, aliases: ["mean absolute error", "absolute error", "l1 error"] },
  medae: { lowerIsBetter: true, aliases: ["median absolute error"] },
  mape: { lowerIsBetter: true, aliases: ["mean absolute percentage error", "mean absolute percent error"] },
  smape: { lowerIsBetter: true, aliases: ["symmetric mean absolute percentage error", "symmetric mape", "sym mape"] },
  wape: { lowerIsBetter: true, aliases: ["weighted absolute percentage error", "weighted mape", "wmape"] },
  mase: { lowerIsBetter: true, aliases: ["mean absolute scaled error"] },
  rmsle: {
    lowerIsBetter: true,
    aliases: [
      "root mean squared log error",
      "root mean squared logarithmic error",
      "root mean square log error",
      "root mean square logarithmic error",
      "rmse log",
      "root msle",
    ],
  },
  msle: {
    lowerIsBetter: true,
    aliases: ["mean squared log error", "mean squared logarithmic error", "mean square log error"],
  },
  logloss: {
    lowerIsBetter: true,
    aliases: [
      "log loss",
      "logarithmic loss",
      "cross entropy",
      "cross entropy loss",
      "binary cross entropy",
      "categorical cross entropy",
      "bce",
      "nll",
      "negative log likelihood",
      "binary logloss",
      "multi logloss",
      "mlogloss",
      "multiclass log loss",
      "multi class log loss",
    ],
  },
  brier: { lowerIsBetter: true, aliases: ["brier score", "brier score loss"] },
  wer: { lowerIsBetter: true, aliases: ["word error rate"] },
  cer: { lowerIsBetter: true, aliases: ["character error rate"] },
  error: {
    lowerIsBetter: true,
    aliases: ["err", "error rate", "errors", "misclassification rate", "misclassification error"],
    generic: true,
  },
  loss: { lowerIsBetter: true, aliases: ["losses"], generic: true },
  deviance: { lowerIsBetter: true, aliases: ["mean deviance"], generic: true },
  // Higher is better.
  accuracy: { lowerIsBetter: false, aliases: ["acc", "classification accuracy", "classification rate"] },
  balanced_accuracy: { lowerIsBetter: false, aliases: ["balanced accuracy", "balanced acc", "bal acc"] },
  auc: {
    lowerIsBetter: false,
    aliases: [
      "roc auc",
      "rocauc",
      "auc roc",
      "auroc",
      "roc",
      "area under the roc curve",
      "area under roc curve",
      "area under the curve",
      "area under curve",
      "area under the receiver operating characteristic curve",
    ],
  },
  average_precision: {
    lowerIsBetter: false,
    aliases: ["average precision", "ap", "pr auc", "auprc", "aucpr", "auc pr", "precision recall auc"],
  },
  f1: { lowerIsBetter: false, aliases: ["f1 score", "f score", "fscore", "f measure", "f1score", "f1 measure"] },
  f1_macro: {
    lowerIsBetter: false,
    aliases: ["macro f1", "macro f1 score", "macro averaged f1", "macro f score", "f1 macro"],
  },
  f1_micro: { lowerIsBetter: false, aliases: ["micro f1", "micro f1 score", "micro averaged f1", "f1 micro"] },
  f1_weighted: {
    lowerIsBetter: false,
    aliases: ["weighted f1", "weighted f1 score", "weighted averaged f1", "f1 weighted"],
  },
  precision: { lowerIsBetter: false, aliases: ["positive predictive value"], generic: true },
  precision_macro: {
    lowerIsBetter: false,
    aliases: ["macro precision", "macro precision score", "macro averaged precision", "precision macro"],
  },
  recall: { lowerIsBetter: false, aliases: ["sensitivity", "true positive rate", "tpr"], generic: true },
  recall_macro: {
    lowerIsBetter: false,
    aliases: ["macro recall", "macro recall score", "macro averaged recall", "recall macro"],
  },
  specificity: { lowerIsBetter: false, aliases: ["true negative rate", "tnr"] },
  r2: {
    lowerIsBetter: false,
    aliases: ["r²", "r^2", "r squared", "rsquared", "r2 score", "coefficient of determination"],
  },
  explained_variance: { lowerIsBetter: false, aliases: ["explained variance", "explained variance score"] },
  map: { lowerIsBetter: false, aliases: ["mean average precision"], generic: true },
  ndcg: {
    lowerIsBetter: false,
    aliases: ["normalized discounted cumulative gain", "normalised discounted cumulative gain"],
  },
  mrr: { lowerIsBetter: false, aliases: ["mean reciprocal rank"] },
  kappa: { lowerIsBetter: false, aliases: ["cohen kappa", "cohens kappa", "cohen's kappa", "cohen kappa score"] },
  qwk: {
    lowerIsBetter: false,
    aliases: [
      "quadratic weighted kappa",
      "quadratically weighted kappa",
      "quadratic kappa",
      "weighted kappa",
      "quadratic weighted cohen kappa",
    ],
  },
  mcc: {
    lowerIsBetter: false,
    aliases: ["matthews correlation coefficient", "matthews correlation", "matthews corrcoef", "matthews"],
  },
  spearman: {
    lowerIsBetter: false,
    aliases: ["spearman correlation", "spearman rho", "spearmanr", "spearman rank correlation"],
  },
  pearson: {
    lowerIsBetter: false,
    aliases: ["pearson correlation", "pearson r", "pearsonr", "pearson correlation coefficient"],
  },
  correlation: { lowerIsBetter: false, aliases: ["corr"], generic: true },
  iou: {
    lowerIsBetter: false,
    aliases: ["intersection over union", "jaccard", "jaccard index", "jaccard score", "mean iou", "miou"],
  },
  dice: { lowerIsBetter: false, aliases: ["dice coefficient", "dice score", "sorensen dice"], generic: true },
  gini: { lowerIsBetter: false, aliases: ["normalized gini", "normalised gini", "gini coefficient"] },
  loglikelihood: { lowerIsBetter: false, aliases: ["log likelihood", "loglik", "log lik"] },
  bleu: { lowerIsBetter: false, aliases: ["bleu score"] },
  rouge: { lowerIsBetter: false, aliases: ["rouge score"] },
};

/** Tokens of a name: lower case, "²" as "2", apostrophes dropped, split at anything that is not a letter or digit. */
function tokensOf(name: string): string[] {
  return name
    .toLowerCase()
    .replace(/²/g, "2")
    .replace(/['’]/g, "")
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

/** Canonical name by alias key (the tokens run together). */
const BY_KEY: ReadonlyMap<string, string> = new Map(
  Object.entries(METRICS).flatMap(([canonical, entry]) =>
    [canonical, ...entry.aliases].map((alias) => [tokensOf(alias).join(""), canonical] as const),
  ),
);

/** Words around a metric's name that do not change which metric it is ("val_rmse", "cv auc", "f1_score"). */
const LEADING_QUALIFIERS = new Set([
  "val",
  "valid",
  "validation",
  "cv",
  "oof",
  "holdout",
  "eval",
  "evaluation",
  "dev",
  "test",
  "best",
  "final",
  "mean",
  "avg",
  "average",
  "overall",
]);
const TRAILING_QUALIFIERS = new Set([
  "score",
  "val",
  "valid",
  "validation",
  "cv",
  "oof",
  "holdout",
  "test",
  "metric",
  "value",
  "mean",
  "avg",
]);

/** Longest alias, in tokens. */
const MAX_ALIAS_TOKENS = Math.max(...Object.values(METRICS).flatMap((e) => e.aliases.map((a) => tokensOf(a).length)));

/** Metric names that words mention, in order: at each word the longest alias that starts there. */
function namesIn(words: readonly string[], includeGeneric: boolean): string[] {
  const found: string[] = [];
  for (let i = 0; i < words.length; i++) {
    for (let n = Math.min(MAX_ALIAS_TOKENS, words.length - i); n >= 1; n--) {
      const known = BY_KEY.get(words.slice(i, i + n).join(""));
      if (!known) continue;
      if (includeGeneric || !METRICS[known]!.generic) found.push(known);
      i += n - 1;
      break;
    }
  }
  return found;
}

/**
 * The one specific (not everyday-word) metric that words mention, or null when they mention none or several;
 * with `countGeneric`, a mentioned everyday-word metric ("loss" in "accuracy_loss") counts as another one.
 */
function onlyMetricIn(words: readonly string[], countGeneric: boolean): string | null {
  const mentioned = new Set(namesIn(words, countGeneric));
  const only = mentioned.size === 1 ? [...mentioned][0]! : null;
  return only && !METRICS[only]!.generic ? only : null;
}

interface Reading {
  /** The canonical name from the table, or null for a name the table does not know. */
  known: string | null;
  /** The name's tokens without a leading "neg". */
  tokens: string[];
  negated: boolean;
}

function readName(name: string): Reading {
  let tokens = tokensOf(name);
  const negated = tokens.length > 1 && tokens[0] === "neg";
  if (negated) tokens = tokens.slice(1);
  let core = tokens;
  for (;;) {
    const known = BY_KEY.get(core.join(""));
    if (known) return { known, tokens, negated };
    if (core.length > 1 && LEADING_QUALIFIERS.has(core[0]!)) core = core.slice(1);
    else if (core.length > 1 && TRAILING_QUALIFIERS.has(core.at(-1)!)) core = core.slice(0, -1);
    else return { known: tokens.length > 1 ? onlyMetricIn(tokens, true) : null, tokens, negated };
  }
}

/**
 * The name by which two metrics are compared: the table's name for a known metric ("ROC AUC" -> "auc",
 * "root mean squared error" -> "rmse", "val_log_loss" -> "logloss"), "neg_" before a negated one
 * ("neg_mean_squared_error" -> "neg_mse"), and for any other name its tokens joined by "_" ("My Score" -> "my_score").
 */
export function canonicalMetricName(name: string): string {
  const r = readName(name);
  const base = r.known ?? r.tokens.join("_");
  if (!base) return UNNAMED_METRIC;
  return r.negated ? `neg_${base}` : base;
}

/**
 * Which way a metric goes by its name: true when lower is better (errors, losses), false when higher is
 * better (accuracy, AUC), null when the name does not tell. A name the table does not know as a whole goes by
 * its known words when they agree ("huber_loss", "error_rate_top5" -> true).
 */
export function directionOfMetricName(name: string): boolean | null {
  const r = readName(name);
  let lower: boolean | null = r.known ? METRICS[r.known]!.lowerIsBetter : null;
  if (!r.known) {
    const votes = new Set(
      r.tokens.flatMap((t) => {
        const known = BY_KEY.get(t);
        return known ? [METRICS[known]!.lowerIsBetter] : [];
      }),
    );
    lower = votes.size === 1 ? [...votes][0]! : null;
  }
  return lower === null ? null : r.negated ? !lower : lower;
}

/** What a run is judged by, as far as its task text and `--metric` say. */
export interface JudgedMetric {
  /** Canonical name: `--metric`'s, else the one the task text names (only names the table knows); else null. */
  name: string | null;
  lowerIsBetter: boolean | null;
}

/** Words that mark a sentence as one about how the task is evaluated. */
const EVALUATION_WORDS =
  /metric|evaluat|scored|scoring|judged|graded|measured|leaderboard|objective|optimi[sz]|submissions? (?:are|is|will be)/i;
const LOWER_PHRASE =
  /\b(?:lower|smaller|less)(?: values?| scores?)? (?:is|are) better\b|\bthe (?:lower|smaller) the better\b|\blower_is_better\W+true\b/i;
const HIGHER_PHRASE =
  /\b(?:higher|larger|greater|bigger)(?: values?| scores?)? (?:is|are) better\b|\bthe (?:higher|larger|greater|bigger) the better\b|\blower_is_better\W+false\b/i;

/** The metric a task text names (see `metricOfTaskText`) and the direction it states in words, if any. */
function readTaskText(task: string): { name: string | null; stated: boolean | null } {
  let name: string | null = null;
  for (const s of task.split(/(?<=[.!?;])\s+|\n+/)) {
    if (!EVALUATION_WORDS.test(s)) continue;
    name = namesIn(tokensOf(s), true)[0] ?? null;
    if (name) break;
  }
  name ??= onlyMetricIn(tokensOf(task), false);
  const lower = LOWER_PHRASE.test(task);
  const higher = HIGHER_PHRASE.test(task);
  return { name, stated: lower !== higher ? lower : null };
}

/**
 * The metric a task text names and its direction: the first metric named in a sentence about evaluation
 * ("Metric: RMSE", "Submissions are evaluated on ROC AUC"), else the one metric the text names when it names
 * only one; the direction from "lower is better" / "higher is better" (when the text does not say both), else
 * from the name.
 */
export function metricOfTaskText(task: string): JudgedMetric {
  const { name, stated } = readTaskText(task);
  return { name, lowerIsBetter: stated ?? (name ? directionOfMetricName(name) : null) };
}

/**
 * What a run is judged by: `--metric` when given (its name; its direction by the name, else as the task text
 * states it), else what the task text says.
 */
export function judgedMetric(task: string, metricHint?: string): JudgedMetric {
  const hint = metricHint?.trim();
  if (!hint) return metricOfTaskText(task);
  return { name: canonicalMetricName(hint), lowerIsBetter: directionOfMetricName(hint) ?? readTaskText(task).stated };
}
