/**
 * The inputs of the scoring functions and their checks: labels as strings or numbers, numbers parsed from either,
 * per-class probabilities, and the one error type that says what is wrong with an input.
 */
import { DataError } from "../../errors.ts";

/** A class label or a value as read: a number, or the text of a CSV cell. */
export type Label = string | number;

/** A probability per class for every row: `rows[i][k]` is the probability that row i is `classes[k]`. */
export interface ClassProbabilities {
  readonly classes: readonly Label[];
  readonly rows: readonly (readonly Label[])[];
}

/** What a script predicted for each row: one value per row, or a probability per class. */
export type Predicted = readonly Label[] | ClassProbabilities;

export interface ScoreOptions {
  /**
   * The positive class of a binary metric (binary F1, precision, recall, AUC, log loss with one score a row).
   * By default the greater of the two actual classes: 1 of 0/1, "yes" of no/yes, "true" of false/true.
   */
  positiveLabel?: Label;
}

export type MetricProblem =
  | "unknown-metric"
  | "empty"
  | "length"
  | "missing"
  | "not-numeric"
  | "negative"
  | "not-probability"
  | "not-label"
  | "one-class"
  | "too-many-classes"
  | "unknown-class"
  | "shape";

/** Input a metric cannot score; `problem` says which kind of fault, the message says where. */
export class MetricError extends DataError {
  readonly problem: MetricProblem;

  constructor(problem: MetricProblem, userMessage: string) {
    super(userMessage);
    this.problem = problem;
  }
}

/** Decimal numbers as pandas reads them from a CSV cell ("3", "-0.5", "1e-3", ".5"); not "0x10" or "Infinity". */
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

function numberOf(value: Label): number | null {
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  const text = value.trim();
  return DECIMAL.test(text) ? Number(text) : null;
}

function isMissing(value: Label): boolean {
  return typeof value === "number" ? Number.isNaN(value) : value.trim() === "";
}

function shown(value: Label): string {
  return typeof value === "number" ? String(value) : JSON.stringify(value);
}

export function checkRows(title: string, actual: readonly unknown[], predicted: readonly unknown[]): void {
  if (actual.length === 0) throw new MetricError("empty", `${title}: there are no rows to score.`);
  if (predicted.length !== actual.length)
    throw new MetricError(
      "length",
      `${title}: ${actual.length} actual values but ${predicted.length} ` +
        `${predicted.length === 1 ? "prediction" : "predictions"}; they must pair up row by row.`,
    );
}

/** Values as numbers; `what` names them in an error ("actual value", "prediction"). */
export function numbersOf(title: string, values: readonly Label[], what: string): number[] {
  return values.map((value, i) => {
    if (isMissing(value)) throw new MetricError("missing", `${title}: ${what} #${i + 1} is missing.`);
    const n = numberOf(value);
    if (n === null)
      throw new MetricError("not-numeric", `${title}: ${what} #${i + 1} is ${shown(value)}, not a finite number.`);
    return n;
  });
}

/** The key by which labels compare: "1", "1.0" and 1 are the same class, as pandas would read them. */
function labelKey(value: Label): string {
  const n = numberOf(value);
  return n === null ? String(value).trim() : String(n);
}

/** Label keys of actual labels; a missing one is an error. */
export function actualLabels(title: string, values: readonly Label[]): string[] {
  return values.map((value, i) => {
    if (isMissing(value)) throw new MetricError("missing", `${title}: actual label #${i + 1} is missing.`);
    return labelKey(value);
  });
}

/**
 * Label keys of predicted labels. Where every actual label is a whole number, a fractional prediction is a score
 * or a probability written where a label belongs, and an error (scikit-learn refuses it too).
 */
export function predictedLabels(title: string, values: readonly Label[], actual: readonly string[]): string[] {
  const wholeNumbers = actual.every((key) => Number.isInteger(numberOf(key)));
  return values.map((value, i) => {
    if (isMissing(value)) throw new MetricError("missing", `${title}: predicted label #${i + 1} is missing.`);
    const n = numberOf(value);
    if (wholeNumbers && n !== null && !Number.isInteger(n))
      throw new MetricError(
        "not-label",
        `${title}: predicted label #${i + 1} is ${shown(value)}, but the classes are whole numbers; ` +
          `predict a class, not a score or probability.`,
      );
    return labelKey(value);
  });
}

/** Classes in scikit-learn's order (np.unique): by value when all are numbers, else as strings. */
export function sortedClasses(keys: Iterable<string>): string[] {
  const distinct = [...new Set(keys)];
  if (distinct.every((key) => numberOf(key) !== null)) return distinct.sort((a, b) => Number(a) - Number(b));
  return distinct.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The positive class of a binary metric: `positiveLabel`, else the greater of exactly two actual classes. */
export function positiveClass(title: string, actual: readonly string[], options: ScoreOptions): string {
  if (options.positiveLabel !== undefined) return labelKey(options.positiveLabel);
  const classes = sortedClasses(actual);
  if (classes.length === 1)
    throw new MetricError(
      "one-class",
      `${title}: every actual label is ${classes[0]}, so there is no second class to tell apart ` +
        `(name the positive class to score anyway).`,
    );
  if (classes.length > 2)
    throw new MetricError(
      "too-many-classes",
      `${title} is for two classes, but the actual labels have ${classes.length} (${listed(classes)}).`,
    );
  return classes[1]!;
}

export function listed(classes: readonly string[]): string {
  const shownClasses = classes.slice(0, 5).join(", ");
  return classes.length > 5 ? `${shownClasses}, ...` : shownClasses;
}

/** One number per row from a probability (or score) value, checked; `unit` asks for [0, 1]. */
function probabilityOf(title: string, value: Label, where: string, unit: boolean): number {
  if (isMissing(value)) throw new MetricError("missing", `${title}: ${where} is missing.`);
  const n = numberOf(value);
  if (n === null) throw new MetricError("not-numeric", `${title}: ${where} is ${shown(value)}, not a number.`);
  if (unit && (n < 0 || n > 1))
    throw new MetricError("not-probability", `${title}: ${where} is ${n}, not a probability between 0 and 1.`);
  return n;
}

/** Scores for one class (a column of ClassProbabilities, or the plain per-row values). */
export function scoresOf(title: string, values: readonly Label[], unit: boolean): number[] {
  return values.map((value, i) => probabilityOf(title, value, `prediction #${i + 1}`, unit));
}

export function isClassProbabilities(predicted: Predicted): predicted is ClassProbabilities {
  return !Array.isArray(predicted);
}

/** Per-class probabilities checked: distinct classes, one value per class in every row, as numbers. */
export function probabilityMatrix(
  title: string,
  predicted: ClassProbabilities,
  unit: boolean,
): { classes: string[]; rows: number[][] } {
  const classes = predicted.classes.map((c) => labelKey(c));
  if (classes.length < 2)
    throw new MetricError("shape", `${title}: per-class probabilities need at least two classes.`);
  if (new Set(classes).size !== classes.length)
    throw new MetricError("shape", `${title}: a class is named twice among the probability columns.`);
  return {
    classes,
    rows: predicted.rows.map((row, i) => {
      if (row.length !== classes.length)
        throw new MetricError(
          "shape",
          `${title}: probability row #${i + 1} has ${row.length} values for ${classes.length} classes.`,
        );
      return row.map((value, k) =>
        probabilityOf(title, value, `the probability of ${classes[k]} in row #${i + 1}`, unit),
      );
    }),
  };
}

/** Column index of each actual label among the probability columns; a label with no column is an error. */
export function columnsOf(title: string, actual: readonly string[], classes: readonly string[]): number[] {
  const index = new Map(classes.map((c, k) => [c, k] as const));
  return actual.map((key, i) => {
    const k = index.get(key);
    if (k === undefined)
      throw new MetricError(
        "unknown-class",
        `${title}: actual label #${i + 1} is ${key}, which has no probability column (${listed(classes)}).`,
      );
    return k;
  });
}
