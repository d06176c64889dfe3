import { describe, expect, it } from "vitest";
import { LOWER_IS_BETTER, METRIC_IDS } from "../../../src/coders/offline/task-reading.ts";
import {
  canonicalMetricName,
  directionOfMetricName,
  judgedMetric,
  metricOfTaskText,
} from "../../../src/search/metric-names.ts";

describe("canonicalMetricName", () => {
  it.each([
    ["auc", ["roc_auc", "ROC AUC", "roc-auc", "AUC", "auroc", "val_auc", "roc_auc_score"]],
    [
      "rmse",
      [
        "RMSE",
        "root mean squared error",
        "Root-Mean-Squared-Error",
        "root_mean_squared_error",
        "val_rmse",
        "cv rmse",
        "mean_cv_rmse",
      ],
    ],
    [
      "logloss",
      ["log_loss", "logloss", "Log Loss", "cross-entropy", "binary cross entropy", "negative log likelihood"],
    ],
    ["r2", ["r2", "R²", "r^2", "R squared", "r2_score", "coefficient of determination"]],
    ["mae", ["MAE", "mean_absolute_error", "Mean Absolute Error"]],
    ["qwk", ["QWK", "quadratic weighted kappa", "Quadratic-Weighted-Kappa"]],
    ["accuracy", ["accuracy", "Accuracy", "acc", "accuracy_score", "val_acc"]],
    ["f1_macro", ["f1_macro", "macro F1", "Macro-F1"]],
  ])("names %s the same way however it is written", (canonical, spellings) => {
    for (const s of spellings) expect(canonicalMetricName(s), s).toBe(canonical);
  });

  it("keeps metrics that differ apart", () => {
    const names = [
      "rmse",
      "mse",
      "mae",
      "rmsle",
      "mape",
      "smape",
      "f1",
      "f1_macro",
      "kappa",
      "qwk",
      "auc",
      "average_precision",
    ];
    expect(new Set(names.map(canonicalMetricName)).size).toBe(names.length);
  });

  it.each([
    // A negated metric is on another scale: the prefix stays, the rest is normalised.
    ["neg_mean_squared_error", "neg_mse"],
    ["neg-MSE", "neg_mse"],
    ["neg_root_mean_squared_error", "neg_rmse"],
    ["neg_log_loss", "neg_logloss"],
    // A longer name that mentions exactly one metric is that metric.
    ["RMSE on log prices", "rmse"],
    ["auc_fold_mean", "auc"],
    ["rmse_vs_mae", "rmse_vs_mae"],
    ["accuracy_loss", "accuracy_loss"],
    ["huber_loss", "huber_loss"],
    // Names it does not know keep their words; an empty one is unnamed.
    ["My Custom-Score", "my_custom_score"],
    ["score", "score"],
    ["  ", "metric"],
  ])("%j -> %j", (name, canonical) => {
    expect(canonicalMetricName(name)).toBe(canonical);
  });
});

describe("directionOfMetricName", () => {
  it.each([
    "rmse",
    "MSE",
    "mae",
    "mape",
    "rmsle",
    "log loss",
    "logloss",
    "cross-entropy",
    "error",
    "val_loss",
    "deviance",
    "wape",
    "smape",
    "brier score",
    "huber_loss",
    "error_rate_top5",
  ])("%s: lower is better", (name) => expect(directionOfMetricName(name)).toBe(true));

  it.each([
    "accuracy",
    "auc",
    "ROC AUC",
    "roc_auc",
    "f1",
    "f1_macro",
    "precision",
    "recall",
    "r2",
    "R²",
    "map",
    "MAP@5",
    "ndcg@10",
    "kappa",
    "qwk",
    "spearman",
    "pearson",
    "iou",
    "dice",
    "gini",
  ])("%s: higher is better", (name) => expect(directionOfMetricName(name)).toBe(false));

  it("turns the direction round for a negated metric", () => {
    expect(directionOfMetricName("neg_mean_squared_error")).toBe(false);
    expect(directionOfMetricName("neg_log_loss")).toBe(false);
  });

  it("does not guess for names that do not tell (never 'higher' by default)", () => {
    for (const name of ["score", "metric", "value", "my_metric", "accuracy_loss"])
      expect(directionOfMetricName(name), name).toBeNull();
  });

  it("is where the offline coder's metric directions come from", () => {
    for (const id of METRIC_IDS) expect(LOWER_IS_BETTER[id], id).toBe(directionOfMetricName(id));
    expect(LOWER_IS_BETTER.log_loss).toBe(true);
    expect(LOWER_IS_BETTER.roc_auc).toBe(false);
  });
});

describe("metricOfTaskText", () => {
  it.each([
    ["Predict the price.\nMetric: RMSE (lower is better)", "rmse", true],
    [
      "Predict churn. Submissions are evaluated on ROC AUC between the predicted probability and the target.",
      "auc",
      false,
    ],
    ["Predict sales. Submissions are scored on the Root Mean Squared Logarithmic Error.", "rmsle", true],
    ["Classify images; the evaluation metric is accuracy.", "accuracy", false],
    ["Predict y. We use the mean absolute error to compare models.", "mae", true],
    ["Evaluation: quadratic weighted kappa.", "qwk", false],
  ])("reads %j", (task, name, lower) => {
    expect(metricOfTaskText(task)).toEqual({ name, lowerIsBetter: lower });
  });

  it("takes the direction from 'lower/higher is better' even without a known name", () => {
    expect(metricOfTaskText("Predict y. Metric: custom cost (lower is better).")).toEqual({
      name: null,
      lowerIsBetter: true,
    });
    expect(metricOfTaskText("The score is our own; higher values are better.")).toEqual({
      name: null,
      lowerIsBetter: false,
    });
    // A stated direction wins over the name's convention.
    expect(metricOfTaskText("Metric: accuracy loss, lower is better.").lowerIsBetter).toBe(true);
  });

  it("prefers the metric of the evaluation sentence over other metrics the text mentions", () => {
    const task = "Earlier work reported accuracy and F1. Submissions are evaluated on log loss.";
    expect(metricOfTaskText(task)).toEqual({ name: "logloss", lowerIsBetter: true });
  });

  it("says nothing when nothing tells", () => {
    expect(metricOfTaskText("Predict y; metric score")).toEqual({ name: null, lowerIsBetter: null });
    expect(metricOfTaskText("Handle errors carefully and map the labels to integers.")).toEqual({
      name: null,
      lowerIsBetter: null,
    });
    expect(metricOfTaskText("Lower is better for the loss, higher is better for the score.").lowerIsBetter).toBeNull();
  });
});

describe("judgedMetric", () => {
  it("puts --metric before the task text", () => {
    expect(judgedMetric("Predict y. Metric: accuracy.", "RMSE")).toEqual({ name: "rmse", lowerIsBetter: true });
    expect(judgedMetric("Predict y. Metric: accuracy.")).toEqual({ name: "accuracy", lowerIsBetter: false });
    expect(judgedMetric("Predict y.", "RMSE on log prices")).toEqual({ name: "rmse", lowerIsBetter: true });
  });

  it("takes the direction the task states for a --metric whose name does not tell", () => {
    expect(judgedMetric("Our cost; lower is better.", "business_cost")).toEqual({
      name: "business_cost",
      lowerIsBetter: true,
    });
    expect(judgedMetric("Predict y.", "business_cost")).toEqual({ name: "business_cost", lowerIsBetter: null });
  });
});
