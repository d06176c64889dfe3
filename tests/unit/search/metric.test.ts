import { describe, expect, it } from "vitest";
import { formatNumber, formatScores, isBetter, parseMetricLine } from "../../../src/search/metric.ts";

describe("parseMetricLine", () => {
  it("reads the AIDE_METRIC line", () => {
    const out = 'fold 1: 0.8\nAIDE_METRIC {"name": "roc_auc", "value": 0.8123, "lower_is_better": false}\nbye';
    expect(parseMetricLine(out)).toEqual({ name: "roc_auc", value: 0.8123, lowerIsBetter: false });
  });

  it("counts integer metrics", () => {
    expect(parseMetricLine('AIDE_METRIC {"name": "errors", "value": 3, "lower_is_better": true}')).toEqual({
      name: "errors",
      value: 3,
      lowerIsBetter: true,
    });
  });

  it("takes the last well-formed line and skips broken ones", () => {
    const out = [
      'AIDE_METRIC {"name": "rmse", "value": 2.0, "lower_is_better": true}',
      'AIDE_METRIC {"name": "rmse", "value": 1.5, "lower_is_better": true}',
      "AIDE_METRIC {not json",
      'AIDE_METRIC {"name": "rmse", "value": NaN}',
    ].join("\n");
    expect(parseMetricLine(out)?.value).toBe(1.5);
  });

  it("leaves the direction open when the line does not say, and accepts numeric strings", () => {
    expect(parseMetricLine('AIDE_METRIC {"value": "0.5"}')).toEqual({
      name: "metric",
      value: 0.5,
      lowerIsBetter: null,
    });
  });

  it("returns null without a line, or with a non-finite value", () => {
    expect(parseMetricLine("accuracy: 0.9")).toBeNull();
    expect(parseMetricLine('AIDE_METRIC {"name": "x", "value": null}')).toBeNull();
    expect(parseMetricLine('AIDE_METRIC {"name": "x", "value": 1e999}')).toBeNull();
  });
});

describe("isBetter / formatNumber", () => {
  it("compares by direction, strictly", () => {
    expect(isBetter(0.9, 0.8, false)).toBe(true);
    expect(isBetter(0.9, 0.8, true)).toBe(false);
    expect(isBetter(0.8, 0.8, false)).toBe(false);
  });

  it("formats values compactly", () => {
    expect(formatNumber(3)).toBe("3");
    expect(formatNumber(0.123456789)).toBe("0.12346");
    expect(formatNumber(0.00001234)).toBe("1.234e-5");
  });
});

describe("formatScores", () => {
  const metric = { name: "auc", value: 0.829, lowerIsBetter: false };
  it("shows the holdout score beside the node's own validation number", () => {
    const holdout = { name: "roc_auc", value: 0.81234567, lowerIsBetter: false };
    expect(formatScores({ metric, holdout })).toBe("auc: holdout 0.81235 · validation 0.829");
    expect(formatScores({ metric, holdout, unranked: "reports rmse" })).toBe(
      "auc: holdout 0.81235 · validation 0.829 (not ranked)",
    );
    expect(formatScores({ metric: null, holdout })).toBe("roc_auc: holdout 0.81235");
  });
  it("shows an ensemble's holdout score alone: its metric is that score, it has no validation split", () => {
    const holdout = { name: "roc_auc", value: 0.8201, lowerIsBetter: false };
    expect(formatScores({ metric: { ...metric, value: 0.8201 }, holdout, stage: "ensemble" })).toBe(
      "auc: holdout 0.8201",
    );
  });
  it("shows the validation metric alone where there is no holdout score", () => {
    expect(formatScores({ metric })).toBe("auc=0.829");
    expect(formatScores({ metric, holdout: null }, { spaced: true })).toBe("auc = 0.829");
    expect(formatScores({ metric: null })).toBe("-");
  });
});
