/**
 * Reads what the offline coder needs from the task description: which metric the task is scored with, its
 * direction, whether it is a classification or regression task, and whether probabilities are expected.
 */
import { directionOfMetricName } from "../../search/metric-names.ts";

export const METRIC_IDS = [
  "rmsle",
  "rmse",
  "mse",
  "mape",
  "medae",
  "mae",
  "r2",
  "log_loss",
  "average_precision",
  "roc_auc",
  "qwk",
  "mcc",
  "f1_macro",
  "f1_micro",
  "f1_weighted",
  "f1",
  "balanced_accuracy",
  "accuracy",
] as const;
export type MetricId = (typeof METRIC_IDS)[number];

/** Each metric's direction, from the search's table of metric names (the one place directions are written). */
export const LOWER_IS_BETTER: Record<MetricId, boolean> = Object.fromEntries(
  METRIC_IDS.map((id) => {
    const lower = directionOfMetricName(id);
    if (lower === null) throw new Error(`metric-names.ts has no direction for the offline coder's metric ${id}`);
    return [id, lower];
  }),
) as Record<MetricId, boolean>;

const REGRESSION_METRICS: ReadonlySet<MetricId> = new Set(["rmsle", "rmse", "mse", "mape", "medae", "mae", "r2"]);

export function metricTaskType(metric: MetricId): "classification" | "regression" {
  return REGRESSION_METRICS.has(metric) ? "regression" : "classification";
}

/** Patterns in order of specificity: when two overlap, the earlier one wins (RMSLE over RMSE, MAPE over MAE). */
const PATTERNS: Array<[MetricId, RegExp]> = [
  ["rmsle", /\brmsle\b|root[- ]mean[- ]squared?[- ]log(?:arithmic)?[- ]error/g],
  ["mape", /\bmape\b|mean[- ]absolute[- ]percentage[- ]error/g],
  ["medae", /\bmedae\b|median[- ]absolute[- ]error/g],
  ["rmse", /\brmse\b|root[- ]mean[- ]squared?[- ]error|root[- ]mse/g],
  ["mse", /\bmse\b|mean[- ]squared[- ]error/g],
  ["mae", /\bmae\b|mean[- ]absolute[- ]error/g],
  ["r2", /\br2\b|\br\^2\b|r[- ]squared|coefficient of determination/g],
  ["log_loss", /log[- _]?loss|logarithmic loss|cross[- ]entropy|\bnll\b|negative log[- ]likelihood/g],
  ["average_precision", /average[- ]precision|\bpr[- _]auc\b|precision[- ]recall auc/g],
  ["roc_auc", /roc[- _]?auc|\bauc\b|auroc|area under the (?:roc|receiver)|\broc\b/g],
  ["qwk", /quadratic(?:ally)?[- ]weighted[- ]kappa|\bqwk\b|cohen'?s kappa|\bkappa\b/g],
  ["mcc", /matthews|\bmcc\b/g],
  ["f1_macro", /macro[- ]?(?:averaged )?f1|f1[- _]?macro|macro[- ]f[- ]score/g],
  ["f1_micro", /micro[- ]?(?:averaged )?f1|f1[- _]?micro/g],
  ["f1_weighted", /weighted[- ]?(?:averaged )?f1|f1[- _]?weighted/g],
  ["f1", /\bf1\b|f1[- ]score|\bf[- ]score\b|f[- ]measure/g],
  ["balanced_accuracy", /balanced[- _]accuracy/g],
  ["accuracy", /\baccuracy\b|classification rate|percent(?:age)? (?:of )?correct/g],
];

interface Hit {
  metric: MetricId;
  start: number;
  end: number;
  rank: number;
}

function findHits(text: string): Hit[] {
  const hits: Hit[] = [];
  PATTERNS.forEach(([metric, re], rank) => {
    for (const m of text.matchAll(re)) {
      const start = m.index ?? 0;
      hits.push({ metric, start, end: start + m[0].length, rank });
    }
  });
  // Drop hits that overlap a more specific one.
  return hits
    .filter((h) => !hits.some((o) => o !== h && o.rank < h.rank && o.start < h.end && h.start < o.end))
    .sort((a, b) => a.start - b.start || a.rank - b.rank);
}

/** The metric a short hint names ("rmse", "AUC", "logloss", "f1_macro"...), or null. */
export function metricFromHint(hint: string | undefined): MetricId | null {
  if (!hint) return null;
  const low = hint.trim().toLowerCase();
  if ((METRIC_IDS as readonly string[]).includes(low)) return low as MetricId;
  const aliases: Record<string, MetricId> = {
    auc: "roc_auc",
    rocauc: "roc_auc",
    logloss: "log_loss",
    neg_log_loss: "log_loss",
    acc: "accuracy",
    kappa: "qwk",
    quadratic_weighted_kappa: "qwk",
    f1score: "f1",
    macro_f1: "f1_macro",
    micro_f1: "f1_micro",
    weighted_f1: "f1_weighted",
    ap: "average_precision",
    pr_auc: "average_precision",
    rmse_log: "rmsle",
    msle: "rmsle",
    mean_squared_error: "mse",
    mean_absolute_error: "mae",
    root_mean_squared_error: "rmse",
    r_squared: "r2",
  };
  const compact = low.replace(/[\s-]+/g, "_");
  const direct = aliases[compact] ?? aliases[compact.replace(/_/g, "")];
  if (direct) return direct;
  const hits = findHits(low.replace(/_/g, " "));
  return hits[0]?.metric ?? null;
}

/**
 * The metric a task text asks for. Lines that talk about evaluation are read first; otherwise the first
 * metric mentioned anywhere.
 */
export function metricFromText(task: string): MetricId | null {
  const lines = task.toLowerCase().split(/\r?\n/);
  const evalLines = lines.filter((l) => /evaluat|metric|scor|measured|judged|graded|leaderboard|objective/.test(l));
  for (const chunk of [evalLines.join("\n"), lines.join("\n")]) {
    const hits = findHits(chunk);
    if (hits[0]) return hits[0].metric;
  }
  return null;
}

export interface TaskReading {
  metric: MetricId | null;
  lowerIsBetter: boolean | null;
  taskType: "classification" | "regression" | null;
  /** The task asks for probabilities (or its metric scores probabilities). */
  wantsProbability: boolean;
}

export function readTask(task: string, metricHint?: string, lowerIsBetter?: boolean): TaskReading {
  const metric = metricFromHint(metricHint) ?? metricFromText(task);
  const low = task.toLowerCase();
  const saysProbability = /probabilit|likelihood that|predicted prob|soft predictions?|confidence score/.test(low);
  let taskType: TaskReading["taskType"] = metric ? metricTaskType(metric) : null;
  if (!taskType) {
    if (/\bclassif|\bclass label|which class|binary (?:target|label|outcome)/.test(low)) taskType = "classification";
    else if (/\bregression\b|predict (?:the )?(?:numeric|continuous|price|amount|value)/.test(low))
      taskType = "regression";
  }
  const probMetric = metric === "roc_auc" || metric === "log_loss" || metric === "average_precision";
  return {
    metric,
    lowerIsBetter: metric ? LOWER_IS_BETTER[metric] : (lowerIsBetter ?? null),
    taskType,
    wantsProbability: probMetric || (saysProbability && taskType !== "regression"),
  };
}

export interface DataHints {
  rows: number | null;
  hasCategorical: boolean;
  hasMissing: boolean;
  hasDates: boolean;
  /** True when the hints come from a script's AIDE_DATA_FACTS line (exact), false for keyword guesses. */
  exact: boolean;
  hasHighCardinality?: boolean;
  /** Number of numeric model inputs after preprocessing (including date parts and indicators). */
  numericColumns?: number;
  /** Classification whose rarest class has under half the rows of the most common one. */
  imbalanced?: boolean;
  /** Regression target that is skewed and > -1 everywhere (a log1p transform may help). */
  skewedTarget?: boolean;
  taskType?: "classification" | "regression";
}

/**
 * Best-effort facts about the data from the task text and the rendered data preview. The preview's format
 * is not fixed, so every field has a safe "unknown" reading.
 */
export function readDataHints(task: string, dataPreview: string): DataHints {
  const text = `${task}\n${dataPreview}`;
  const low = text.toLowerCase();
  let rows: number | null = null;
  const rowRe = /(\d[\d,_]*)\s*rows\b/gi;
  for (const m of text.matchAll(rowRe)) {
    const n = Number((m[1] ?? "").replace(/[,_]/g, ""));
    if (Number.isFinite(n)) rows = Math.max(rows ?? 0, n);
  }
  return {
    rows,
    hasCategorical: /categor|\bobject\b|\bstring\b|\bstr\b|text column/.test(low),
    hasMissing: /missing|\bnan\b|\bnull\b|\bgaps?\b|\bempty\b|\bna\b/.test(low),
    hasDates: /\bdate|datetime|timestamp|\d{4}-\d{2}-\d{2}/.test(low),
    exact: false,
  };
}

export const DATA_FACTS_MARKER = "AIDE_DATA_FACTS ";

/** Exact facts about the data from the AIDE_DATA_FACTS line an offline script prints, or null. */
export function readDataFacts(output: string | undefined): DataHints | null {
  if (!output) return null;
  const line = output.split(/\r?\n/).find((l) => l.startsWith(DATA_FACTS_MARKER));
  if (!line) return null;
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(line.slice(DATA_FACTS_MARKER.length)) as Record<string, unknown>;
  } catch {
    return null;
  }
  const n = (k: string): number | null =>
    typeof raw[k] === "number" && Number.isFinite(raw[k]) ? (raw[k] as number) : null;
  const task = raw.task === "classification" || raw.task === "regression" ? raw.task : undefined;
  const skew = n("target_skew");
  const min = n("target_min");
  const ratio = n("imbalance_ratio");
  return {
    rows: n("rows"),
    hasCategorical: (n("low_cat") ?? 0) + (n("high_cat") ?? 0) > 0,
    hasHighCardinality: (n("high_cat") ?? 0) > 0,
    hasMissing: raw.missing === true,
    hasDates: (n("dates") ?? 0) > 0,
    exact: true,
    imbalanced: ratio !== null ? ratio < 0.5 : undefined,
    numericColumns: n("numeric") ?? undefined,
    skewedTarget: skew !== null && min !== null ? Math.abs(skew) > 0.75 && min > -1 : undefined,
    taskType: task,
  };
}
