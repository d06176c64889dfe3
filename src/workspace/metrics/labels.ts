/**
 * Metrics over predicted class labels, as scikit-learn computes them: accuracy, balanced accuracy, precision,
 * recall and F1 (binary, macro, micro, weighted) and quadratic weighted kappa. Classes are the actual and
 * predicted labels together, in scikit-learn's order; a ratio with nothing to divide by counts 0 (its
 * zero_division default).
 */
import { MetricError, type ScoreOptions, listed, positiveClass, sortedClasses } from "./input.ts";

/** Counts per class over the union of actual and predicted labels. */
interface Confusion {
  classes: string[];
  /** matrix[a][p]: rows whose actual class is a and predicted class is p. */
  matrix: number[][];
  rows: number;
}

function confusion(actual: readonly string[], predicted: readonly string[]): Confusion {
  const classes = sortedClasses([...actual, ...predicted]);
  const index = new Map(classes.map((c, k) => [c, k] as const));
  const matrix = classes.map(() => classes.map(() => 0));
  actual.forEach((a, i) => {
    matrix[index.get(a)!]![index.get(predicted[i]!)!]!++;
  });
  return { classes, matrix, rows: actual.length };
}

interface ClassCounts {
  tp: number;
  fp: number;
  fn: number;
  /** Rows whose actual class this is. */
  support: number;
}

function countsOf(c: Confusion, k: number): ClassCounts {
  let predictedK = 0;
  for (const row of c.matrix) predictedK += row[k]!;
  const support = c.matrix[k]!.reduce((s, v) => s + v, 0);
  const tp = c.matrix[k]![k]!;
  return { tp, fp: predictedK - tp, fn: support - tp, support };
}

const ratio = (num: number, den: number) => (den === 0 ? 0 : num / den);

export type Measure = "precision" | "recall" | "f1";
export type Averaging = "binary" | "macro" | "micro" | "weighted";

function measureOf(measure: Measure, { tp, fp, fn }: Pick<ClassCounts, "tp" | "fp" | "fn">): number {
  if (measure === "precision") return ratio(tp, tp + fp);
  if (measure === "recall") return ratio(tp, tp + fn);
  return ratio(2 * tp, 2 * tp + fp + fn);
}

export function accuracy(actual: readonly string[], predicted: readonly string[]): number {
  return actual.filter((a, i) => a === predicted[i]).length / actual.length;
}

/** Mean recall over the classes that occur among the actual labels. */
export function balancedAccuracy(actual: readonly string[], predicted: readonly string[]): number {
  const c = confusion(actual, predicted);
  const recalls = c.classes.flatMap((_, k) => {
    const counts = countsOf(c, k);
    return counts.support > 0 ? [counts.tp / counts.support] : [];
  });
  return recalls.reduce((s, r) => s + r, 0) / recalls.length;
}

/** Precision, recall or F1, averaged as scikit-learn's `average=` says. */
export function classificationMeasure(
  title: string,
  measure: Measure,
  averaging: Averaging,
  actual: readonly string[],
  predicted: readonly string[],
  options: ScoreOptions,
): number {
  const c = confusion(actual, predicted);
  const perClass = c.classes.map((_, k) => countsOf(c, k));
  switch (averaging) {
    case "binary": {
      const positive = positiveClass(title, actual, options);
      if (c.classes.length > 2)
        throw new MetricError(
          "too-many-classes",
          `${title} is for two classes, but the actual and predicted labels have ${c.classes.length} ` +
            `(${listed(c.classes)}).`,
        );
      const k = c.classes.indexOf(positive);
      if (k < 0)
        throw new MetricError(
          "unknown-class",
          `${title}: the positive class ${positive} is neither an actual nor a predicted label.`,
        );
      return measureOf(measure, perClass[k]!);
    }
    case "macro":
      return perClass.reduce((s, counts) => s + measureOf(measure, counts), 0) / perClass.length;
    case "micro": {
      const total = (key: "tp" | "fp" | "fn") => perClass.reduce((s, counts) => s + counts[key], 0);
      return measureOf(measure, { tp: total("tp"), fp: total("fp"), fn: total("fn") });
    }
    case "weighted":
      return perClass.reduce((s, counts) => s + counts.support * measureOf(measure, counts), 0) / c.rows;
  }
}

/**
 * Cohen's kappa with quadratic weights, scikit-learn's `cohen_kappa_score(weights="quadratic")`: a class's
 * weight goes by its place among the sorted classes (1, 2, 5 are 0, 1, 2 apart), not by its value.
 */
export function quadraticWeightedKappa(title: string, actual: readonly string[], predicted: readonly string[]): number {
  const c = confusion(actual, predicted);
  const n = c.classes.length;
  if (n < 2)
    throw new MetricError(
      "one-class",
      `${title}: every actual and predicted label is ${c.classes[0]}, so the kappa is undefined.`,
    );
  const actualCounts = c.matrix.map((row) => row.reduce((s, v) => s + v, 0));
  const predictedCounts = c.classes.map((_, p) => c.matrix.reduce((s, row) => s + row[p]!, 0));
  let observed = 0;
  let expected = 0;
  for (let a = 0; a < n; a++)
    for (let p = 0; p < n; p++) {
      const weight = (a - p) ** 2;
      observed += weight * c.matrix[a]![p]!;
      expected += (weight * actualCounts[a]! * predictedCounts[p]!) / c.rows;
    }
  return 1 - observed / expected;
}
