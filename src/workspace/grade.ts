import { readFile } from "node:fs/promises";
import { parse } from "csv-parse/sync";
import { DataError } from "../errors.ts";
import { scoreMetric } from "./metrics/index.ts";

/** How a task with known answers is scored (the `meta.json` beside a benchmark or example task). */
export interface GradingSpec {
  /** A metric name src/workspace/metrics knows ("roc_auc", "accuracy", "rmse", "mae", "r2", "log loss", ...). */
  metric: string;
  lower_is_better: boolean;
  id: string;
  target: string;
}

function readColumns(text: string, id: string, target: string, what: string): Map<string, string> {
  const rows = parse(text, { columns: true, skip_empty_lines: true, trim: true }) as Array<Record<string, string>>;
  const out = new Map<string, string>();
  for (const row of rows) {
    if (!(id in row) || !(target in row))
      throw new DataError(`${what} lacks the column ${!(id in row) ? id : target}.`);
    out.set(row[id]!, row[target]!);
  }
  return out;
}

/**
 * Scores a submission file against the answers file with the spec's metric (any metric src/workspace/metrics
 * scores, under any of its names); throws DataError when ids do not line up or the values cannot be scored.
 */
export async function gradeSubmission(submissionPath: string, answersPath: string, spec: GradingSpec): Promise<number> {
  const answers = readColumns(await readFile(answersPath, "utf8"), spec.id, spec.target, "answers.csv");
  const submitted = readColumns(await readFile(submissionPath, "utf8"), spec.id, spec.target, "The submission");
  const truth: string[] = [];
  const pred: string[] = [];
  for (const [id, value] of answers) {
    const p = submitted.get(id);
    if (p === undefined) throw new DataError(`The submission has no prediction for id ${id}.`);
    truth.push(value);
    pred.push(p);
  }
  return scoreMetric(spec.metric, truth, pred);
}

/** Fraction of the way from a baseline score to a reference score (1 = reached the reference). */
export function progressToward(score: number, baseline: number, reference: number): number {
  return (score - baseline) / (reference - baseline);
}
