/**
 * The metrics the harness scores predictions with, each implemented once and checked against scikit-learn
 * (tests/unit/workspace/metrics.test.ts). A metric's names and direction come from the search's table of metric
 * names (src/search/metric-names.ts), so "ROC AUC", "roc_auc" and "auc" are one metric here as there; this table
 * adds what the scoring needs: what the predictions must be and the function that scores them.
 */
import { canonicalMetricName, directionOfMetricName } from "../../search/metric-names.ts";
import {
  type Label,
  MetricError,
  type Predicted,
  type ScoreOptions,
  actualLabels,
  checkRows,
  isClassProbabilities,
  numbersOf,
  predictedLabels,
} from "./input.ts";
import {
  type Averaging,
  type Measure,
  accuracy,
  balancedAccuracy,
  classificationMeasure,
  quadraticWeightedKappa,
} from "./labels.ts";
import { mae, mape, r2, rmse, rmsle } from "./regression.ts";
import { logLoss, rocAuc } from "./scores.ts";

export type { ClassProbabilities, Label, MetricProblem, Predicted, ScoreOptions } from "./input.ts";
export { MetricError } from "./input.ts";

/**
 * What a metric scores: a class label per row ("labels"); a probability or score per row, or a probability per
 * class ("probabilities"; ROC AUC takes any scores, only their order counts); a number per row ("numbers").
 */
export type PredictionKind = "labels" | "probabilities" | "numbers";

export interface MetricDefinition {
  /** The name in the search's table of metric names ("auc", "logloss", "f1_macro", "qwk"). */
  readonly name: string;
  /** How a person writes it ("ROC AUC", "macro F1"). */
  readonly title: string;
  readonly lowerIsBetter: boolean;
  readonly predictions: PredictionKind;
  /** Two classes only (binary F1, precision and recall); the others take any number of classes. */
  readonly binaryOnly: boolean;
}

type Scorer = (title: string, actual: readonly Label[], predicted: Predicted, options: ScoreOptions) => number;

interface Entry extends Omit<MetricDefinition, "lowerIsBetter"> {
  readonly score: Scorer;
}

/** A label metric: actual and predicted labels as label keys. */
const onLabels =
  (fn: (title: string, actual: string[], predicted: string[], options: ScoreOptions) => number): Scorer =>
  (title, actual, predicted, options) => {
    if (isClassProbabilities(predicted))
      throw new MetricError("shape", `${title} needs one predicted label per row, not per-class probabilities.`);
    checkRows(title, actual, predicted);
    const truth = actualLabels(title, actual);
    return fn(title, truth, predictedLabels(title, predicted, truth), options);
  };

/** A score or probability metric: actual labels as label keys, the predictions as they come. */
const onScores =
  (fn: (title: string, actual: string[], predicted: Predicted, options: ScoreOptions) => number): Scorer =>
  (title, actual, predicted, options) => {
    checkRows(title, actual, isClassProbabilities(predicted) ? predicted.rows : predicted);
    return fn(title, actualLabels(title, actual), predicted, options);
  };

/** A number metric: both sides as numbers. */
const onNumbers =
  (fn: (actual: number[], predicted: number[], title: string) => number): Scorer =>
  (title, actual, predicted) => {
    if (isClassProbabilities(predicted))
      throw new MetricError("shape", `${title} needs one predicted number per row, not per-class probabilities.`);
    checkRows(title, actual, predicted);
    return fn(numbersOf(title, actual, "actual value"), numbersOf(title, predicted, "prediction"), title);
  };

const metric = (
  name: string,
  title: string,
  predictions: PredictionKind,
  score: Scorer,
  binaryOnly = false,
): Entry => ({ name, title, predictions, binaryOnly, score });

const measure = (name: string, title: string, which: Measure, averaging: Averaging): Entry =>
  metric(
    name,
    title,
    "labels",
    onLabels((t, actual, predicted, options) => classificationMeasure(t, which, averaging, actual, predicted, options)),
    averaging === "binary",
  );

const ENTRIES: readonly Entry[] = [
  metric(
    "accuracy",
    "accuracy",
    "labels",
    onLabels((_, actual, predicted) => accuracy(actual, predicted)),
  ),
  metric(
    "balanced_accuracy",
    "balanced accuracy",
    "labels",
    onLabels((_, actual, predicted) => balancedAccuracy(actual, predicted)),
  ),
  metric("auc", "ROC AUC", "probabilities", onScores(rocAuc)),
  metric("logloss", "log loss", "probabilities", onScores(logLoss)),
  measure("f1", "F1", "f1", "binary"),
  measure("f1_macro", "macro F1", "f1", "macro"),
  measure("f1_micro", "micro F1", "f1", "micro"),
  measure("f1_weighted", "weighted F1", "f1", "weighted"),
  measure("precision", "precision", "precision", "binary"),
  measure("precision_macro", "macro precision", "precision", "macro"),
  measure("recall", "recall", "recall", "binary"),
  measure("recall_macro", "macro recall", "recall", "macro"),
  metric("qwk", "quadratic weighted kappa", "labels", onLabels(quadraticWeightedKappa)),
  metric("rmse", "RMSE", "numbers", onNumbers(rmse)),
  metric("rmsle", "RMSLE", "numbers", onNumbers(rmsle)),
  metric("mae", "MAE", "numbers", onNumbers(mae)),
  metric("mape", "MAPE", "numbers", onNumbers(mape)),
  metric("r2", "R²", "numbers", onNumbers(r2)),
];

/** The metrics by their name in the table of metric names, each with its direction from there. */
const METRICS: ReadonlyMap<string, MetricDefinition & { readonly score: Scorer }> = new Map(
  ENTRIES.map((entry) => {
    if (canonicalMetricName(entry.name) !== entry.name)
      throw new Error(`metric-names.ts does not know the scored metric ${entry.name} by that name`);
    const lowerIsBetter = directionOfMetricName(entry.name);
    if (lowerIsBetter === null) throw new Error(`metric-names.ts has no direction for the scored metric ${entry.name}`);
    return [entry.name, { ...entry, lowerIsBetter }] as const;
  }),
);

/** Every metric the harness can score. */
export const SCORED_METRICS: readonly MetricDefinition[] = [...METRICS.values()].map(
  ({ score: _, ...definition }) => definition,
);

/**
 * The metric a name means, however it is written ("ROC AUC", "roc_auc", "AUC"; "Root Mean Squared Error";
 * "QWK"; "val_rmse"), or null for a metric the harness cannot score.
 */
export function metricByName(name: string): MetricDefinition | null {
  const found = METRICS.get(canonicalMetricName(name));
  if (!found) return null;
  const { score: _, ...definition } = found;
  return definition;
}

/**
 * Scores predictions against the actual values (row by row) with a metric given by name or definition. Labels
 * compare as pandas reads them ("1", "1.0" and 1 are one class); numbers may come as CSV text. Throws a
 * MetricError saying what is wrong: an unknown metric, no rows, lengths that differ, a value missing or not a
 * number, a negative value for RMSLE, a probability outside [0, 1], a score where a label belongs, one class
 * only where two are needed, a label with no probability column, a binary metric over more classes.
 */
export function scoreMetric(
  metric: string | MetricDefinition,
  actual: readonly Label[],
  predicted: Predicted,
  options: ScoreOptions = {},
): number {
  const name = typeof metric === "string" ? metric : metric.name;
  const found = METRICS.get(canonicalMetricName(name));
  if (!found)
    throw new MetricError(
      "unknown-metric",
      `The harness cannot score the metric ${JSON.stringify(name)}; it scores ${[...METRICS.keys()].join(", ")}.`,
    );
  return found.score(found.title, actual, predicted, options);
}
