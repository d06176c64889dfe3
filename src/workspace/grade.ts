import { readFile } from "node:fs/promises";
import { parse } from "csv-parse/sync";
import { DataError } from "../errors.ts";

/** How a task with known answers is scored (the `meta.json` beside a benchmark or example task). */
export interface GradingSpec {
  metric: "roc_auc" | "accuracy" | "rmse" | "mae" | "r2";
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

/** ROC AUC by the rank-sum formula, ties averaged. Labels are 0/1. */
export function rocAuc(labels: number[], scores: number[]): number {
  const order = scores.map((s, i) => [s, i] as const).sort((a, b) => a[0] - b[0]);
  const ranks = new Array<number>(scores.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    for (let k = i; k <= j; k++) ranks[order[k]![1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  const pos = labels.filter((l) => l === 1).length;
  const neg = labels.length - pos;
  if (pos === 0 || neg === 0) throw new DataError("ROC AUC needs both classes among the answers.");
  const rankSum = labels.reduce((sum, l, i) => (l === 1 ? sum + ranks[i]! : sum), 0);
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

/** Scores a submission file against the answers file; throws DataError when ids do not line up. */
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
  const num = (xs: string[]) => xs.map(Number);
  switch (spec.metric) {
    case "accuracy":
      return truth.filter((t, i) => t === pred[i] || (Number(t) === Number(pred[i]) && t !== "")).length / truth.length;
    case "roc_auc":
      return rocAuc(num(truth), num(pred));
    case "rmse": {
      const t = num(truth),
        p = num(pred);
      return Math.sqrt(t.reduce((s, v, i) => s + (v - p[i]!) ** 2, 0) / t.length);
    }
    case "mae": {
      const t = num(truth),
        p = num(pred);
      return t.reduce((s, v, i) => s + Math.abs(v - p[i]!), 0) / t.length;
    }
    case "r2": {
      const t = num(truth),
        p = num(pred);
      const mean = t.reduce((a, b) => a + b, 0) / t.length;
      const ssRes = t.reduce((s, v, i) => s + (v - p[i]!) ** 2, 0);
      const ssTot = t.reduce((s, v) => s + (v - mean) ** 2, 0);
      return 1 - ssRes / ssTot;
    }
  }
}

/** Fraction of the way from a baseline score to a reference score (1 = reached the reference). */
export function progressToward(score: number, baseline: number, reference: number): number {
  return (score - baseline) / (reference - baseline);
}
