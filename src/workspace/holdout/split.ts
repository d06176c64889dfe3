/**
 * A script's submission under a holdout, taken apart: the hidden rows' predictions, scored here against the
 * held-out answers with the harness's metrics, and the real test rows, which are the node's submission.
 */
import { join } from "node:path";
import { DataError } from "../../errors.ts";
import { type ClassProbabilities, type Label, scoreMetric, metricByName } from "../metrics/index.ts";
import { delimiterFor, formatCsvRecord, iterateCsvFast, parseNumber } from "../csv.ts";
import { seededRng } from "../../search/rng.ts";
import { valueKey } from "./ids.ts";
import { type ActiveHoldoutPlan, listNames } from "./plan.ts";

/** A hidden row's prediction: `values[k]` is the submission's value in the plan's `predictionColumns[k]`. */
export interface HiddenPrediction {
  /** The row in the user's train.csv (the plan's `row`). */
  row: number;
  /** Its fresh id. */
  id: string;
  values: string[];
}

export interface SplitSubmission {
  /** The hidden rows' predictions, in the plan's order. */
  hidden: HiddenPrediction[];
  /**
   * The real test rows as CSV text, the submission's header first, in the order of the user's sample submission
   * (rows whose id is not a real one follow, as written), to be checked against it as any submission is.
   */
  real: string;
}

/**
 * Splits the submission a script wrote in the holdout view. Throws DataError when the file cannot be read, lacks
 * the id or a prediction column, or has no prediction (or more than one) for some hidden ids.
 */
export async function splitSubmission(submissionPath: string, plan: ActiveHoldoutPlan): Promise<SplitSubmission> {
  const hiddenByKey = new Map(plan.hidden.map((h, i) => [valueKey(h.id), i] as const));
  const predicted: (string[] | undefined)[] = plan.hidden.map(() => undefined);
  const twice: string[] = [];
  const realByKey = new Map<string, string[][]>();
  const order: string[] = [];
  let header: string[] | null = null;
  let idAt = -1;
  let valueAt: number[] = [];
  try {
    for await (const record of iterateCsvFast(submissionPath)) {
      if (header === null) {
        header = record;
        const names = record.map((h) => h.trim());
        idAt = names.indexOf(plan.idColumn);
        valueAt = plan.predictionColumns.map((c) => names.indexOf(c));
        const lacking = [plan.idColumn, ...plan.predictionColumns].filter((c) => !names.includes(c));
        if (lacking.length > 0) throw new DataError(`The submission has no column ${listNames(lacking)}.`);
        continue;
      }
      const key = valueKey(record[idAt] ?? "");
      const h = hiddenByKey.get(key);
      if (h !== undefined) {
        if (predicted[h] !== undefined) twice.push(plan.hidden[h]!.id);
        predicted[h] = valueAt.map((c) => record[c] ?? "");
        continue;
      }
      const rows = realByKey.get(key);
      if (rows) rows.push(record);
      else {
        realByKey.set(key, [record]);
        order.push(key);
      }
    }
  } catch (err) {
    if (err instanceof DataError) throw err;
    throw new DataError(
      `The submission cannot be read as CSV: ${err instanceof Error ? err.message.split("\n")[0] : err}`,
    );
  }
  if (header === null) throw new DataError("The submission is empty.");
  const missing = plan.hidden.filter((_, i) => predicted[i] === undefined).map((h) => h.id);
  if (missing.length > 0)
    throw new DataError(
      `The submission has no prediction for ${missing.length} of the ${plan.hidden.length} held-out rows ` +
        `(ids ${listNames(missing)}).`,
    );
  if (twice.length > 0)
    throw new DataError(`The submission predicts some held-out rows more than once (ids ${listNames(twice)}).`);

  // The real rows in the sample submission's order, then any others.
  const samplePath = join(plan.inputDir, plan.files.sampleSubmission);
  const delimiter = delimiterFor(submissionPath);
  const lines = [formatCsvRecord(header, delimiter)];
  const take = (key: string): void => {
    for (const record of realByKey.get(key) ?? []) lines.push(formatCsvRecord(record, delimiter));
    realByKey.delete(key);
  };
  let first = true;
  for await (const record of iterateCsvFast(samplePath)) {
    if (!first) take(valueKey(record[0] ?? ""));
    first = false;
  }
  for (const key of order) take(key);

  return {
    hidden: plan.hidden.map((h, i) => ({ row: h.row, id: h.id, values: predicted[i]! })),
    real: `${lines.join("\n")}\n`,
  };
}

/** The draws of the bootstrap behind a holdout score's standard error. */
export const BOOTSTRAP_DRAWS = 200;

/** A holdout score and how far it would move on other rows like these. */
export interface HiddenScore {
  value: number;
  /**
   * The score's standard error: the spread of the score over `BOOTSTRAP_DRAWS` resamples of the held-out rows
   * (with replacement, seeded, so it replays); 0 for a score that no resample moves.
   */
  stdError: number;
}

/**
 * The hidden rows' score: their predictions against the held-out answers, with the plan's metric (or `metric`,
 * where the plan names none). Labels or numbers are scored per target column (several columns: the mean of their
 * scores); per-class probability columns as one set of probabilities, or, for a metric of labels, as the class of
 * the highest. Throws DataError for a prediction of a row not held out or a row without one, MetricError for
 * predictions the metric cannot score.
 */
export function scoreHidden(
  plan: ActiveHoldoutPlan,
  hidden: readonly HiddenPrediction[],
  metric: string | null = plan.metric,
): number {
  const { score, size } = hiddenScorer(plan, hidden, metric);
  return score(Array.from({ length: size }, (_, i) => i));
}

/**
 * The hidden rows' score as `scoreHidden` gives it, with its bootstrap standard error. A resample the metric
 * cannot score (one class only, for ROC AUC) is drawn again, up to a bound; too few scorable draws give 0.
 */
export function scoreHiddenWithError(
  plan: ActiveHoldoutPlan,
  hidden: readonly HiddenPrediction[],
  metric: string | null = plan.metric,
): HiddenScore {
  const { score, size } = hiddenScorer(plan, hidden, metric);
  const value = score(Array.from({ length: size }, (_, i) => i));
  const rng = seededRng(`holdout-bootstrap-${size}`);
  const draws: number[] = [];
  for (let attempt = 0; attempt < BOOTSTRAP_DRAWS * 2 && draws.length < BOOTSTRAP_DRAWS; attempt++) {
    const sample = Array.from({ length: size }, () => Math.floor(rng.next() * size));
    try {
      const x = score(sample);
      if (Number.isFinite(x)) draws.push(x);
    } catch {
      // A resample this metric cannot score; another is drawn.
    }
  }
  if (draws.length < BOOTSTRAP_DRAWS / 2) return { value, stdError: 0 };
  const mean = draws.reduce((a, x) => a + x, 0) / draws.length;
  const variance = draws.reduce((a, x) => a + (x - mean) ** 2, 0) / (draws.length - 1);
  return { value, stdError: Math.sqrt(variance) };
}

/** Scores any selection of the held-out rows (by their place in the plan), after checking the predictions once. */
function hiddenScorer(
  plan: ActiveHoldoutPlan,
  hidden: readonly HiddenPrediction[],
  metric: string | null,
): { score: (rows: readonly number[]) => number; size: number } {
  if (!metric) throw new DataError("The holdout has no metric to score the held-out rows with.");
  const definition = metricByName(metric);
  if (!definition) throw new DataError(`The harness cannot score the metric ${JSON.stringify(metric)}.`);
  const byRow = new Map(hidden.map((p) => [p.row, p] as const));
  const heldOut = new Set(plan.hidden.map((h) => h.row));
  if (byRow.size !== hidden.length || hidden.some((p) => !heldOut.has(p.row)))
    throw new DataError("The predictions to score are not one each for the held-out rows.");
  const all = plan.hidden.map((h) => {
    const p = byRow.get(h.row);
    if (!p) throw new DataError(`No prediction for the held-out row with id ${h.id}.`);
    return { answers: h.answers, values: p.values };
  });
  const size = all.length;
  if (plan.prediction.kind === "probabilities") {
    const { classes } = plan.prediction;
    const labels = all.map((r) => classes[argmax(r.values)]!);
    return {
      size,
      score: (picked) => {
        const actual = picked.map((i) => all[i]!.answers[0]!);
        if (definition.predictions === "labels")
          return scoreMetric(
            definition,
            actual,
            picked.map((i) => labels[i]!),
          );
        const probabilities: ClassProbabilities = { classes, rows: picked.map((i) => all[i]!.values) };
        return scoreMetric(definition, actual, probabilities);
      },
    };
  }
  return {
    size,
    score: (picked) => {
      const scores = plan.targetColumns.map((_, j) =>
        scoreMetric(
          definition,
          picked.map((i) => all[i]!.answers[j]! as Label),
          picked.map((i) => all[i]!.values[j]!),
        ),
      );
      return scores.reduce((s, x) => s + x, 0) / scores.length;
    },
  };
}

/** The place of the greatest number (the first of equals); values that are not numbers count as the least. */
function argmax(values: readonly string[]): number {
  let best = 0;
  let bestValue = -Infinity;
  values.forEach((v, k) => {
    const n = parseNumber(v);
    if (n !== null && n > bestValue) {
      best = k;
      bestValue = n;
    }
  });
  return best;
}
