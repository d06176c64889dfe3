/**
 * The hidden holdout's pure parts: fresh ids of each form, the key ids and labels compare by, the targets the
 * headers tell, the user's line for a plan, and the scoring of hidden predictions against a plan made by hand.
 * Planning, views and submissions on files: tests/integration/workspace/holdout.test.ts.
 */
import { describe, expect, it } from "vitest";
import { DataError } from "../../../src/errors.ts";
import { seededRng } from "../../../src/search/rng.ts";
import { freshIds, idKindOf, valueKey } from "../../../src/workspace/holdout/ids.ts";
import {
  type ActiveHoldoutPlan,
  type HiddenPrediction,
  describeHoldout,
  scoreHidden,
  scoreHiddenWithError,
} from "../../../src/workspace/holdout/index.ts";
import { MetricError } from "../../../src/workspace/metrics/index.ts";
import { taskColumns } from "../../../src/workspace/task-columns.ts";

describe("freshIds", () => {
  const rng = () => seededRng("ids");

  it("continues integers past the largest, zero-padded where the ids are", () => {
    expect(freshIds(["3", "10", "7"], "int", 3, rng())).toEqual(["11", "12", "13"]);
    expect(freshIds(["0001", "0002", "0150"], "int", 2, rng())).toEqual(["0151", "0152"]);
    expect(freshIds(["-5", "-2"], "int", 1, rng())).toEqual(["-1"]);
    expect(freshIds(["9007199254740993"], "int", 1, rng())).toEqual(["9007199254740994"]);
  });

  it("continues the number after a prefix every string id shares", () => {
    expect(freshIds(["test_001", "test_002", "test_010"], "string", 2, rng())).toEqual(["test_011", "test_012"]);
    expect(freshIds(["img7", "img12"], "string", 1, rng())).toEqual(["img13"]);
  });

  it("draws hex of the ids' length for hashes, letters and digits for other strings, none taken", () => {
    const hashes = ["3F2A9C", "0B1D4E", "AA00FF"];
    const hex = freshIds(hashes, "string", 50, rng());
    for (const id of hex) expect(id).toMatch(/^[0-9A-F]{6}$/);
    const names = ["alice", "bob", "carol-x", "dave"];
    const fresh = freshIds(names, "string", 100, rng());
    expect(new Set([...fresh, ...names]).size).toBe(104);
    for (const id of fresh) expect(id).toMatch(/^[a-z0-9]{8}$/);
  });

  it("is seeded", () => {
    expect(freshIds(["a1x", "b2y"], "string", 5, rng())).toEqual(freshIds(["a1x", "b2y"], "string", 5, rng()));
  });
});

describe("valueKey and idKindOf", () => {
  it("reads ids and labels as pandas would: 7, +7, 7.0 and ' 7 ' are one", () => {
    expect(new Set(["7", "+7", "7.0", " 7 "].map(valueKey)).size).toBe(1);
    expect(valueKey("007")).toBe("7");
    expect(valueKey(" abc ")).toBe("abc");
    expect(idKindOf(["1", "2", " 3"])).toBe("int");
    expect(idKindOf(["1", "2b"])).toBe("string");
  });
});

describe("taskColumns", () => {
  it("takes the train columns the test lacks as the targets, else the sample's that train has", () => {
    expect(taskColumns({ train: ["id", "x", "y"], test: ["id", "x"], sampleSubmission: ["id", "y"] })).toEqual({
      notInTest: ["y"],
      inSample: ["y"],
      targets: ["y"],
      targetsFrom: "not-in-test",
    });
    expect(taskColumns({ train: ["id", "x", "y"], test: ["id", "x", "y"], sampleSubmission: ["id", "y"] })).toEqual({
      notInTest: [],
      inSample: ["y"],
      targets: ["y"],
      targetsFrom: "in-sample",
    });
    expect(taskColumns({ train: ["id", "x"], sampleSubmission: ["id", "p"] }).targetsFrom).toBeNull();
  });
});

/** A plan of four held-out rows, made by hand. */
function planOf(overrides: Partial<ActiveHoldoutPlan>): ActiveHoldoutPlan {
  return {
    on: true,
    version: 1,
    inputDir: "/nowhere",
    files: { train: "train.csv", test: "test.csv", sampleSubmission: "sample_submission.csv" },
    seed: 1,
    share: 0.15,
    metric: "rmse",
    idColumn: "id",
    idKind: "int",
    targetColumns: ["y"],
    predictionColumns: ["y"],
    prediction: { kind: "values" },
    selection: "random",
    counts: { trainRows: 4000, labelledRows: 4000, testRows: 100 },
    hidden: [0, 1, 2, 3].map((i) => ({ row: 10 * i, id: String(101 + i), position: i, answers: [String(i)] })),
    ...overrides,
  };
}

const predictions = (plan: ActiveHoldoutPlan, values: string[][]): HiddenPrediction[] =>
  plan.hidden.map((h, i) => ({ row: h.row, id: h.id, values: values[i]! }));

describe("scoreHidden", () => {
  it("scores numbers with the plan's metric, and several target columns by the mean of their scores", () => {
    const plan = planOf({});
    expect(scoreHidden(plan, predictions(plan, [["0"], ["1"], ["2"], ["5"]]))).toBeCloseTo(1, 12);
    const two = planOf({
      metric: "mae",
      targetColumns: ["a", "b"],
      predictionColumns: ["a", "b"],
      hidden: planOf({}).hidden.map((h) => ({ ...h, answers: ["1", "10"] })),
    });
    expect(
      scoreHidden(
        two,
        predictions(two, [
          ["1", "10"],
          ["1", "10"],
          ["2", "10"],
          ["1", "14"],
        ]),
      ),
    ).toBeCloseTo((0.25 + 1) / 2, 12);
  });

  it("scores per-class probabilities as they are, and by the likeliest class for a metric of labels", () => {
    const plan = planOf({
      metric: "logloss",
      targetColumns: ["status"],
      predictionColumns: ["status_a", "status_b", "status_c"],
      prediction: { kind: "probabilities", classes: ["a", "b", "c"] },
      hidden: planOf({}).hidden.map((h, i) => ({ ...h, answers: [["a", "b", "c", "a"][i]!] })),
    });
    const rows = [
      ["0.8", "0.1", "0.1"],
      ["0.2", "0.7", "0.1"],
      ["0.1", "0.1", "0.8"],
      ["0.4", "0.5", "0.1"],
    ];
    const expected = -(Math.log(0.8) + Math.log(0.7) + Math.log(0.8) + Math.log(0.4)) / 4;
    expect(scoreHidden(plan, predictions(plan, rows))).toBeCloseTo(expected, 12);
    expect(scoreHidden(plan, predictions(plan, rows), "accuracy")).toBe(0.75);
  });

  it("says what is wrong: no metric, a row without a prediction, predictions the metric cannot score", () => {
    const plan = planOf({ metric: null });
    const good = predictions(plan, [["0"], ["1"], ["2"], ["3"]]);
    expect(() => scoreHidden(plan, good)).toThrow(DataError);
    expect(scoreHidden(plan, good, "rmse")).toBe(0);
    expect(() => scoreHidden(planOf({}), good.slice(1))).toThrow(/No prediction for the held-out row with id 101/);
    expect(() => scoreHidden(planOf({}), predictions(plan, [["0"], ["x"], ["2"], ["3"]]))).toThrow(MetricError);
  });
});

describe("scoreHiddenWithError", () => {
  /** `n` held-out labels "a"/"b"; the first `wrong` predicted wrongly. */
  const labelled = (n: number, wrong: number) => {
    const plan = planOf({
      metric: "accuracy",
      hidden: Array.from({ length: n }, (_, i) => ({
        row: i,
        id: String(1000 + i),
        position: i,
        answers: [i % 2 ? "a" : "b"],
      })),
    });
    const values = plan.hidden.map((h, i) => [i < wrong ? (h.answers[0] === "a" ? "b" : "a") : h.answers[0]!]);
    return { plan, hidden: predictions(plan, values) };
  };

  it("gives the score and its bootstrap standard error, near the binomial one, the same each time", () => {
    const { plan, hidden } = labelled(400, 40);
    const scored = scoreHiddenWithError(plan, hidden);
    expect(scored.value).toBe(scoreHidden(plan, hidden));
    expect(scored.value).toBeCloseTo(0.9, 12);
    const binomial = Math.sqrt((0.9 * 0.1) / 400);
    expect(scored.stdError).toBeGreaterThan(binomial * 0.75);
    expect(scored.stdError).toBeLessThan(binomial * 1.25);
    expect(scoreHiddenWithError(plan, hidden)).toEqual(scored);
  });

  it("is 0 where no resample moves the score, and finite where some resamples cannot be scored", () => {
    const { plan, hidden } = labelled(50, 0);
    expect(scoreHiddenWithError(plan, hidden)).toEqual({ value: 1, stdError: 0 });
    // ROC AUC of 6 rows: some resamples hold one class only and are drawn again.
    const auc = planOf({
      metric: "auc",
      hidden: [0, 1, 2, 3, 4, 5].map((i) => ({ row: i, id: String(i), position: i, answers: [String(i % 2)] })),
    });
    const scored = scoreHiddenWithError(auc, predictions(auc, [["0.1"], ["0.8"], ["0.6"], ["0.4"], ["0.3"], ["0.9"]]));
    expect(scored.value).toBeCloseTo(
      scoreHidden(auc, predictions(auc, [["0.1"], ["0.8"], ["0.6"], ["0.4"], ["0.3"], ["0.9"]])),
      12,
    );
    expect(Number.isFinite(scored.stdError)).toBe(true);
    expect(scored.stdError).toBeGreaterThan(0);
  });
});

describe("describeHoldout", () => {
  it("is the line a user sees", () => {
    expect(describeHoldout(planOf({}))).toBe(
      "holding out 4 of 4000 labelled rows to judge every script the same way (scripts never see which)",
    );
    expect(describeHoldout({ on: false, version: 1, reason: "there is no train.csv to hold rows out of" })).toBe(
      "no holdout: there is no train.csv to hold rows out of",
    );
  });
});
