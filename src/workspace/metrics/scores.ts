/**
 * Metrics over predicted scores and probabilities, as scikit-learn computes them: ROC AUC (binary, and the
 * one-vs-rest macro average over per-class columns) and log loss (binary and multiclass).
 */
import {
  MetricError,
  type Predicted,
  type ScoreOptions,
  columnsOf,
  isClassProbabilities,
  listed,
  positiveClass,
  probabilityMatrix,
  scoresOf,
  sortedClasses,
} from "./input.ts";

/** Ranks from 1, tied values sharing the mean of their ranks. */
function averageRanks(values: readonly number[]): number[] {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const ranks = new Array<number>(values.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    for (let k = i; k <= j; k++) ranks[order[k]![1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return ranks;
}

/**
 * ROC AUC of scores for one class against the rest, by the rank-sum (Mann-Whitney) formula: the probability
 * that a positive row scores above a negative one, a tie counting one half, as the area under scikit-learn's
 * ROC curve does.
 */
function binaryAuc(title: string, positive: readonly boolean[], scores: readonly number[], what: string): number {
  const pos = positive.filter(Boolean).length;
  const neg = positive.length - pos;
  if (pos === 0 || neg === 0)
    throw new MetricError(
      "one-class",
      `${title}: ${pos === 0 ? `no actual label is ${what}` : `every actual label is ${what}`}, ` +
        `so the AUC is undefined; it needs rows of both kinds.`,
    );
  const ranks = averageRanks(scores);
  const rankSum = positive.reduce((sum, p, i) => (p ? sum + ranks[i]! : sum), 0);
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

/**
 * ROC AUC. One score per row: the score of the positive class (two classes, or one class against the rest when
 * `positiveLabel` names it). A probability per class: with two classes the positive one's column, with more the
 * mean of each class's AUC against the rest (scikit-learn's multi_class="ovr", average="macro"); the columns are
 * taken as they are, not renormalised.
 */
export function rocAuc(title: string, actual: readonly string[], predicted: Predicted, options: ScoreOptions): number {
  if (!isClassProbabilities(predicted)) {
    const classes = sortedClasses(actual);
    if (classes.length > 2 && options.positiveLabel === undefined)
      throw new MetricError(
        "too-many-classes",
        `${title}: the actual labels have ${classes.length} classes (${listed(classes)}); ` +
          `score them with a probability per class, not one score per row.`,
      );
    const positive = positiveClass(title, actual, options);
    return binaryAuc(
      title,
      actual.map((a) => a === positive),
      scoresOf(title, predicted, false),
      positive,
    );
  }
  const m = probabilityMatrix(title, predicted, false);
  columnsOf(title, actual, m.classes);
  const aucOf = (k: number) =>
    binaryAuc(
      title,
      actual.map((a) => a === m.classes[k]),
      m.rows.map((row) => row[k]!),
      m.classes[k]!,
    );
  if (m.classes.length > 2) return m.classes.reduce((s, _, k) => s + aucOf(k), 0) / m.classes.length;
  const positive = positiveClass(title, m.classes, options);
  const k = m.classes.indexOf(positive);
  if (k < 0)
    throw new MetricError(
      "unknown-class",
      `${title}: the positive class ${positive} has no probability column (${listed(m.classes)}).`,
    );
  return aucOf(k);
}

/** The smallest and greatest probability log loss takes: scikit-learn clips to float64's epsilon. */
const EPS = Number.EPSILON;
const clip = (p: number) => Math.min(1 - EPS, Math.max(EPS, p));

/**
 * Log loss: the mean of -ln(probability of the actual class). Probabilities are clipped to [eps, 1 - eps] and
 * each row renormalised to sum to 1, as scikit-learn does. One probability per row is the positive class's.
 */
export function logLoss(title: string, actual: readonly string[], predicted: Predicted, options: ScoreOptions): number {
  let total = 0;
  if (isClassProbabilities(predicted)) {
    const m = probabilityMatrix(title, predicted, true);
    const columns = columnsOf(title, actual, m.classes);
    m.rows.forEach((row, i) => {
      const clipped = row.map(clip);
      total -= Math.log(clipped[columns[i]!]! / clipped.reduce((s, p) => s + p, 0));
    });
  } else {
    const positive = positiveClass(title, actual, options);
    const others = sortedClasses(actual).filter((c) => c !== positive);
    if (others.length > 1)
      throw new MetricError(
        "too-many-classes",
        `${title}: the actual labels have ${others.length + 1} classes; score them with a probability per class.`,
      );
    scoresOf(title, predicted, true).forEach((p, i) => {
      const q = clip(p);
      const row = [1 - q, q];
      total -= Math.log(row[actual[i] === positive ? 1 : 0]! / (row[0]! + row[1]!));
    });
  }
  return total / actual.length;
}
