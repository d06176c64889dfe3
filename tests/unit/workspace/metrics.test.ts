/**
 * The harness's metrics (src/workspace/metrics) against scikit-learn: every metric on fixed datasets (binary with
 * tied scores, binary with string labels, several classes with string labels, ordinal labels, regression with
 * outliers), the expected values computed at test time by tests/python/sklearn_metrics.py under /usr/bin/python3
 * (scripts/ensure-deps.sh installs python3-sklearn), compared to 1e-9 relative. Then the names and every error.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type ClassProbabilities,
  type Label,
  MetricError,
  type MetricProblem,
  type Predicted,
  SCORED_METRICS,
  type ScoreOptions,
  metricByName,
  scoreMetric,
} from "../../../src/workspace/metrics/index.ts";
import { directionOfMetricName } from "../../../src/search/metric-names.ts";

const PYTHON = "/usr/bin/python3";
const SKLEARN_SCRIPT = fileURLToPath(new URL("../../python/sklearn_metrics.py", import.meta.url));

/** A small seeded generator (mulberry32), so the datasets are the same on every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const round = (x: number, digits: number) => Number(x.toFixed(digits));

interface Case {
  name: string;
  metric: string;
  actual: Label[];
  predicted: Label[] | ClassProbabilities;
  positive?: Label;
}

/** Binary 0/1; scores rounded to one decimal (many ties, and exact 0 and 1 for log loss to clip). */
const binary = (() => {
  const rng = random(1);
  const actual = Array.from({ length: 60 }, () => (rng() < 0.4 ? 1 : 0));
  const scores = actual.map((a) => round(Math.min(1, Math.max(0, 0.35 * a + 0.75 * rng() - 0.05)), 1));
  return { actual, scores, labels: scores.map((s) => (s >= 0.5 ? 1 : 0)) };
})();

/** Binary with string labels "no" / "yes" and probabilities to six decimals. */
const yesNo = (() => {
  const rng = random(2);
  const actual = Array.from({ length: 45 }, () => (rng() < 0.5 ? "yes" : "no"));
  const scores = actual.map((a) => round(0.6 * rng() + (a === "yes" ? 0.3 : 0.05), 6));
  return { actual, scores, labels: scores.map((s) => (s > 0.45 ? "yes" : "no")) };
})();

/**
 * Three classes with string labels; probabilities by a softmax (rows sum to 1), their columns in an unsorted order;
 * predicted labels the most probable class, with a few "fish" (a class no row has) and "bird" never predicted.
 */
const animals = (() => {
  const rng = random(3);
  const classes = ["dog", "cat", "bird"];
  const actual = Array.from({ length: 80 }, () => classes[rng() < 0.45 ? 0 : rng() < 0.7 ? 1 : 2]!);
  const rows = actual.map((a) => {
    const logits = classes.map((c) => 2 * rng() + (c === a ? 1.2 : 0));
    const exp = logits.map(Math.exp);
    const sum = exp.reduce((s, v) => s + v, 0);
    return exp.map((v) => v / sum);
  });
  const labels = rows.map((row, i) => {
    if (i % 17 === 5) return "fish";
    const best = classes[row.indexOf(Math.max(...row))]!;
    return best === "bird" ? "cat" : best;
  });
  return { actual, probabilities: { classes, rows }, labels };
})();

/** Probabilities with exact zeros and ones (clipped in log loss) and tied columns (AUC). */
const hard: { actual: Label[]; probabilities: ClassProbabilities } = {
  actual: ["b", "a", "c", "a", "b", "c", "a"],
  probabilities: {
    classes: ["c", "a", "b"],
    rows: [
      [0, 0, 1],
      [0, 1, 0],
      [0.5, 0.5, 0],
      [0.25, 0.5, 0.25],
      [0, 1, 0],
      [1, 0, 0],
      [0.25, 0.5, 0.25],
    ],
  },
};

/** Ordinal classes 0, 1, 2, 4 with predictions off by one or two, and a predicted 3 no row has. */
const ordinal = (() => {
  const rng = random(4);
  const levels = [0, 1, 2, 4];
  const actual = Array.from({ length: 70 }, () => levels[Math.floor(rng() * levels.length)]!);
  const labels = actual.map((a, i) => {
    if (i % 13 === 3) return 3;
    const k = levels.indexOf(a) + (rng() < 0.3 ? -1 : rng() < 0.4 ? 1 : 0);
    return levels[Math.min(levels.length - 1, Math.max(0, k))]!;
  });
  return { actual, labels };
})();

/** Positive values with outliers, zeros among the actual values (MAPE divides by epsilon there). */
const skewed = (() => {
  const rng = random(5);
  const actual = Array.from({ length: 50 }, (_, i) =>
    i % 11 === 0 ? 0 : i % 9 === 4 ? round(5e5 * rng(), 2) : round(Math.exp(4 * rng()), 3),
  );
  const predicted = actual.map((a, i) => (i % 7 === 2 ? round(1e4 * rng(), 1) : round(a * (0.7 + 0.6 * rng()), 3)));
  return { actual, predicted };
})();

/** Values of both signs. */
const signed = (() => {
  const rng = random(6);
  const actual = Array.from({ length: 40 }, () => round(100 * rng() - 50, 4));
  return { actual, predicted: actual.map((a) => round(a + 20 * rng() - 8, 4)) };
})();

const LABEL_METRICS = [
  "accuracy",
  "balanced_accuracy",
  "f1_macro",
  "f1_micro",
  "f1_weighted",
  "precision_macro",
  "recall_macro",
  "qwk",
];
const BINARY_METRICS = ["f1", "precision", "recall"];

const CASES: Case[] = [
  ...[...LABEL_METRICS, ...BINARY_METRICS].map((metric) => ({
    name: "binary 0/1",
    metric,
    actual: binary.actual,
    predicted: binary.labels,
  })),
  { name: "binary 0/1, tied scores", metric: "auc", actual: binary.actual, predicted: binary.scores },
  { name: "binary 0/1, scores with 0 and 1", metric: "logloss", actual: binary.actual, predicted: binary.scores },
  { name: "binary, certain and wrong (clipped)", metric: "logloss", actual: [0, 1, 1, 0], predicted: [1, 0, 0.5, 0] },
  ...[...LABEL_METRICS, ...BINARY_METRICS].map((metric) => ({
    name: "binary no/yes",
    metric,
    actual: yesNo.actual,
    predicted: yesNo.labels,
  })),
  ...BINARY_METRICS.map((metric) => ({
    name: "binary no/yes, positive no",
    metric,
    actual: yesNo.actual,
    predicted: yesNo.labels,
    positive: "no",
  })),
  ...["auc", "logloss"].flatMap((metric) => [
    { name: "binary no/yes", metric, actual: yesNo.actual, predicted: yesNo.scores },
    {
      name: "binary no/yes, one minus the scores for no",
      metric,
      actual: yesNo.actual,
      predicted: yesNo.scores.map((s) => round(1 - s, 6)),
      positive: "no",
    },
    {
      name: "binary no/yes, a column per class",
      metric,
      actual: yesNo.actual,
      predicted: { classes: ["yes", "no"], rows: yesNo.scores.map((s) => [s, 1 - s]) },
    },
  ]),
  ...LABEL_METRICS.map((metric) => ({
    name: "three string classes",
    metric,
    actual: animals.actual,
    predicted: animals.labels,
  })),
  ...["auc", "logloss"].flatMap((metric) => [
    { name: "three string classes", metric, actual: animals.actual, predicted: animals.probabilities },
    { name: "three classes, zeros, ones and ties", metric, actual: hard.actual, predicted: hard.probabilities },
  ]),
  ...LABEL_METRICS.map((metric) => ({
    name: "ordinal 0/1/2/4",
    metric,
    actual: ordinal.actual,
    predicted: ordinal.labels,
  })),
  ...["rmse", "rmsle", "mae", "mape", "r2"].map((metric) => ({
    name: "regression with outliers and zeros",
    metric,
    actual: skewed.actual,
    predicted: skewed.predicted,
  })),
  ...["rmse", "mae", "mape", "r2"].map((metric) => ({
    name: "regression of both signs",
    metric,
    actual: signed.actual,
    predicted: signed.predicted,
  })),
  { name: "constant actual values, off", metric: "r2", actual: [5, 5, 5, 5], predicted: [5, 5, 6, 5] },
  { name: "constant actual values, exact", metric: "r2", actual: [5, 5, 5, 5], predicted: [5, 5, 5, 5] },
];

const score = (c: Case) =>
  scoreMetric(c.metric, c.actual, c.predicted, c.positive === undefined ? {} : { positiveLabel: c.positive });

/** Equal to 1e-9 of the expected value (exactly, where that is 0). */
function expectClose(actual: number, expected: number, what: string): void {
  const ok = actual === expected || Math.abs(actual - expected) <= 1e-9 * Math.abs(expected);
  expect(ok, `${what}: ${actual} where scikit-learn has ${expected}`).toBe(true);
}

describe("scoreMetric against scikit-learn", () => {
  let expected: number[] = [];

  beforeAll(() => {
    const run = spawnSync(PYTHON, [SKLEARN_SCRIPT], { input: JSON.stringify(CASES), encoding: "utf8" });
    if (run.error)
      throw new Error(`${PYTHON} cannot be run (${run.error.message}); scripts/ensure-deps.sh installs python3`);
    if (run.status === 3)
      throw new Error(`${run.stderr.trim()}; scripts/ensure-deps.sh installs python3-sklearn (Debian)`);
    if (run.status !== 0) throw new Error(`tests/python/sklearn_metrics.py failed:\n${run.stderr}`);
    expected = JSON.parse(run.stdout) as number[];
    expect(expected).toHaveLength(CASES.length);
  });

  it("covers every metric the harness scores", () => {
    expect(new Set(CASES.map((c) => c.metric))).toEqual(new Set(SCORED_METRICS.map((m) => m.name)));
  });

  it.each(CASES.map((c, i) => [`${c.metric} on ${c.name}`, i] as const))("%s", (_, i) => {
    expectClose(score(CASES[i]!), expected[i]!, CASES[i]!.name);
  });

  it("takes labels written as numbers, as text or as decimals for the same classes", () => {
    const asText = binary.actual.map(String);
    const asDecimals = binary.labels.map((l) => `${l}.0`);
    for (const metric of [...LABEL_METRICS, ...BINARY_METRICS])
      expect(scoreMetric(metric, asText, asDecimals), metric).toBe(scoreMetric(metric, binary.actual, binary.labels));
    expect(scoreMetric("auc", asText, binary.scores.map(String))).toBe(
      scoreMetric("auc", binary.actual, binary.scores),
    );
    expect(
      scoreMetric(
        "rmse",
        skewed.actual.map(String),
        skewed.predicted.map((p) => ` ${p} `),
      ),
    ).toBe(scoreMetric("rmse", skewed.actual, skewed.predicted));
  });

  it("gives the textbook values on tiny inputs", () => {
    expect(scoreMetric("auc", [0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])).toBe(0.75);
    expect(scoreMetric("auc", [0, 1], [0.5, 0.5])).toBe(0.5);
    expect(scoreMetric("accuracy", ["a", "b", "c", "a"], ["a", "b", "a", "a"])).toBe(0.75);
    expect(scoreMetric("rmse", [1, 2, 3], [1, 2, 6])).toBe(Math.sqrt(3));
    expect(scoreMetric("qwk", [1, 2, 3], [1, 2, 3])).toBe(1);
  });
});

describe("metricByName", () => {
  it.each([
    ["auc", ["auc", "AUC", "roc_auc", "ROC AUC", "roc-auc", "Area under the ROC curve", "val_auc"]],
    ["rmse", ["rmse", "RMSE", "root mean squared error", "Root_Mean_Squared_Error", "cv rmse"]],
    ["rmsle", ["rmsle", "root mean squared logarithmic error", "RMSLE"]],
    ["qwk", ["qwk", "QWK", "quadratic weighted kappa", "Quadratic_Weighted_Kappa"]],
    ["logloss", ["log_loss", "logloss", "Log Loss", "cross-entropy", "multiclass log loss"]],
    ["balanced_accuracy", ["balanced_accuracy", "Balanced Accuracy"]],
    ["f1", ["f1", "F1 score", "f1_score"]],
    ["f1_macro", ["f1_macro", "macro F1", "Macro-F1"]],
    ["f1_micro", ["f1_micro", "micro f1"]],
    ["f1_weighted", ["f1_weighted", "weighted F1"]],
    ["precision_macro", ["precision_macro", "macro precision", "Macro-averaged precision"]],
    ["recall_macro", ["recall_macro", "Macro Recall"]],
    ["r2", ["r2", "R²", "R squared", "coefficient of determination"]],
    ["mape", ["MAPE", "mean absolute percentage error"]],
  ])("knows %s however it is written", (name, spellings) => {
    for (const s of spellings) expect(metricByName(s)?.name, s).toBe(name);
  });

  it("returns null for a metric it cannot score", () => {
    for (const name of ["neg_mean_squared_error", "smape", "ndcg@10", "my score", ""])
      expect(metricByName(name), name).toBeNull();
  });

  it("takes each direction from the table of metric names", () => {
    for (const m of SCORED_METRICS) expect(m.lowerIsBetter, m.name).toBe(directionOfMetricName(m.name));
    const lower = SCORED_METRICS.filter((m) => m.lowerIsBetter).map((m) => m.name);
    expect(lower.sort()).toEqual(["logloss", "mae", "mape", "rmse", "rmsle"]);
  });

  it("says what each metric's predictions must be", () => {
    expect(metricByName("accuracy")).toMatchObject({ predictions: "labels", binaryOnly: false });
    expect(metricByName("qwk")?.predictions).toBe("labels");
    expect(metricByName("f1")).toMatchObject({ predictions: "labels", binaryOnly: true });
    expect(metricByName("auc")?.predictions).toBe("probabilities");
    expect(metricByName("log loss")?.predictions).toBe("probabilities");
    expect(metricByName("rmsle")?.predictions).toBe("numbers");
  });

  it("scores by definition as by name", () => {
    const auc = metricByName("ROC AUC")!;
    expect(scoreMetric(auc, binary.actual, binary.scores)).toBe(scoreMetric("roc_auc", binary.actual, binary.scores));
  });
});

describe("errors", () => {
  const probabilities = (rows: Label[][]): ClassProbabilities => ({ classes: ["a", "b", "c"], rows });

  it.each<[MetricProblem, string, Label[], Predicted, ScoreOptions, RegExp]>([
    ["unknown-metric", "smape", [1], [1], {}, /cannot score the metric "smape"; it scores accuracy, /],
    ["empty", "rmse", [], [], {}, /RMSE: there are no rows to score/],
    ["length", "accuracy", [1, 0, 1], [1, 0], {}, /3 actual values but 2 predictions/],
    [
      "length",
      "auc",
      ["a", "b", "c"],
      probabilities([[0.2, 0.3, 0.5]]),
      {},
      /ROC AUC: 3 actual values but 1 prediction; they must pair up/,
    ],
    ["missing", "mae", [1, 2], [1, ""], {}, /MAE: prediction #2 is missing/],
    ["missing", "accuracy", [1, Number.NaN], [1, 1], {}, /accuracy: actual label #2 is missing/],
    ["not-numeric", "rmse", [1, 2, 3], [1, "abc", 3], {}, /RMSE: prediction #2 is "abc", not a finite number/],
    ["not-numeric", "r2", [1, "0x10"], [1, 2], {}, /actual value #2 is "0x10"/],
    ["not-numeric", "auc", [0, 1], [0.1, "high"], {}, /ROC AUC: prediction #2 is "high", not a number/],
    ["negative", "rmsle", [1, 2, 3], [1, -0.5, 3], {}, /RMSLE: prediction #2 is -0.5; .* 0 or more/],
    ["negative", "rmsle", [-1, 2], [1, 2], {}, /RMSLE: actual value #1 is -1/],
    ["not-probability", "logloss", [0, 1], [0.2, 1.5], {}, /prediction #2 is 1.5, not a probability/],
    ["not-label", "accuracy", [0, 1, 1], [0, 0.8, 1], {}, /predicted label #2 is 0.8, but the classes are whole/],
    ["one-class", "auc", [1, 1, 1], [0.2, 0.5, 0.9], {}, /every actual label is 1, so there is no second class/],
    ["one-class", "auc", [1, 1, 1], [0.2, 0.5, 0.9], { positiveLabel: 1 }, /every actual label is 1, so the AUC/],
    [
      "one-class",
      "auc",
      ["a", "a", "b"],
      probabilities([
        [0.5, 0.3, 0.2],
        [0.6, 0.2, 0.2],
        [0.1, 0.8, 0.1],
      ]),
      {},
      /no actual label is c, so the AUC is undefined/,
    ],
    ["one-class", "f1", ["x", "x"], ["x", "y"], {}, /F1: every actual label is x/],
    ["one-class", "qwk", [2, 2], [2, 2], {}, /every actual and predicted label is 2, so the kappa is undefined/],
    ["too-many-classes", "f1", [0, 1, 2], [0, 1, 2], {}, /F1 is for two classes, but the actual labels have 3/],
    ["too-many-classes", "precision", [0, 1, 1], [0, 1, 2], {}, /actual and predicted labels have 3 \(0, 1, 2\)/],
    ["too-many-classes", "auc", ["a", "b", "c"], [0.1, 0.5, 0.9], {}, /score them with a probability per class/],
    ["too-many-classes", "logloss", ["a", "b", "c"], [0.1, 0.5, 0.9], { positiveLabel: "c" }, /have 3 classes/],
    [
      "unknown-class",
      "logloss",
      ["a", "d"],
      probabilities([
        [0.2, 0.3, 0.5],
        [0.1, 0.1, 0.8],
      ]),
      {},
      /#2 is d, which has no/,
    ],
    ["unknown-class", "recall", [0, 1], [0, 1], { positiveLabel: "yes" }, /positive class yes is neither an actual/],
    [
      "shape",
      "auc",
      ["a", "b"],
      probabilities([
        [0.2, 0.8],
        [0.5, 0.3, 0.2],
      ]),
      {},
      /row #1 has 2 values for 3 classes/,
    ],
    ["shape", "logloss", ["a"], { classes: ["a", "a"], rows: [[0.5, 0.5]] }, {}, /a class is named twice/],
    ["shape", "accuracy", ["a"], probabilities([[0.2, 0.3, 0.5]]), {}, /one predicted label per row, not per-class/],
    ["shape", "rmse", [1], { classes: [0, 1], rows: [[0.5, 0.5]] }, {}, /one predicted number per row/],
  ])("%s: %s", (problem, metric, actual, predicted, options, message) => {
    let caught: unknown;
    try {
      scoreMetric(metric, actual, predicted, options);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(MetricError);
    expect((caught as MetricError).problem).toBe(problem);
    expect((caught as MetricError).userMessage).toMatch(message);
  });
});
