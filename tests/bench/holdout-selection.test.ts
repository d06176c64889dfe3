import { describe, expect, it } from "vitest";
import {
  holdoutMarkdown,
  isTestBest,
  noiseOf,
  sampleStd,
  type SeedOutcome,
  summarise,
  summariseTask,
} from "../../bench/holdout-selection.ts";
import type { TaskMeta } from "../../bench/task-run.ts";

const auc: TaskMeta = {
  name: "auc-task",
  metric: "roc_auc",
  lower_is_better: false,
  id: "id",
  target: "y",
  baseline_score: 0.5,
  reference_score: 0.9,
};
const rmse: TaskMeta = { name: "rmse-task", metric: "rmse", lower_is_better: true, id: "id", target: "y" };

const run = (
  holdout: boolean,
  seed: number,
  delivered: number | null,
  pickedTestBest: boolean | null,
): SeedOutcome => ({
  seed,
  holdout,
  delivered,
  pickedTestBest,
  node: "#1 draft",
  refit: holdout,
  holdoutLine: holdout ? "holding out 60 of 400 labelled rows" : "no holdout: turned off for this run",
  seconds: 10,
});

describe("noise", () => {
  it("is the off scores' standard deviation over the seeds", () => {
    expect(sampleStd([0.8, 0.82, 0.84])).toBeCloseTo(0.02, 12);
    expect(noiseOf([0.8, 0.82, 0.84])).toBeCloseTo(0.02, 12);
  });

  it("has a relative floor: one seed, or seeds that agree", () => {
    expect(sampleStd([0.8])).toBe(0);
    // Their float mean is not 0.1 exactly: the spread is still exactly none.
    expect(sampleStd([0.1, 0.1, 0.1])).toBe(0);
    expect(noiseOf([0.8])).toBeCloseTo(0.0016, 12);
    expect(noiseOf([50, 50])).toBeCloseTo(0.1, 12);
    expect(noiseOf([])).toBeNull();
  });
});

describe("isTestBest", () => {
  it("counts ties and follows the direction", () => {
    expect(isTestBest(0.9, [0.8, 0.9], false)).toBe(true);
    expect(isTestBest(0.8, [0.8, 0.9], false)).toBe(false);
    expect(isTestBest(1.2, [1.2, 1.5], true)).toBe(true);
    expect(isTestBest(1.5, [1.2, 1.5], true)).toBe(false);
  });
});

describe("summariseTask", () => {
  it("signs the difference by the task's direction and judges it against the noise", () => {
    const higher = summariseTask(auc, [
      run(false, 0, 0.8, false),
      run(true, 0, 0.84, true),
      run(false, 1, 0.82, true),
      run(true, 1, 0.86, true),
    ]);
    expect(higher.off).toBeCloseTo(0.81, 12);
    expect(higher.on).toBeCloseTo(0.85, 12);
    expect(higher.improvement).toBeCloseTo(0.04, 12);
    expect(higher.verdict).toBe("better");
    expect(higher.normalised).toBeCloseTo(0.1, 12);
    expect(higher.offPicks).toEqual({ k: 1, n: 2 });
    expect(higher.onPicks).toEqual({ k: 2, n: 2 });
    expect(higher.refits).toEqual({ k: 2, n: 2 });
    expect(higher.noHoldout).toBe(0);
    expect(higher.offSeconds).toBe(20);

    const lower = summariseTask(rmse, [run(false, 0, 50, true), run(true, 0, 50.05, null)]);
    expect(lower.improvement).toBeCloseTo(-0.05, 12);
    expect(lower.verdict).toBe("same");
    expect(lower.normalised).toBeNull();
    expect(lower.relative).toBeCloseTo(-0.001, 12);
    expect(lower.onPicks).toEqual({ k: 0, n: 0 });

    const worse = summariseTask(rmse, [run(false, 0, 50, true), run(true, 0, 51, false)]);
    expect(worse.verdict).toBe("worse");
  });

  it("leaves out runs that delivered nothing", () => {
    const row = summariseTask(auc, [run(false, 0, null, null), run(true, 0, 0.8, true)]);
    expect(row.off).toBeNull();
    expect(row.improvement).toBeNull();
    expect(row.verdict).toBeNull();
  });
});

describe("summarise", () => {
  it("counts the tasks holdout-on does not lose on and pools the test-best picks", () => {
    const rows = [
      summariseTask(auc, [run(false, 0, 0.8, false), run(true, 0, 0.84, true)]),
      summariseTask(rmse, [run(false, 0, 50, true), run(true, 0, 50.05, true)]),
      summariseTask(rmse, [run(false, 0, 50, true), run(true, 0, 51, false)]),
    ];
    const s = summarise(rows);
    expect(s).toMatchObject({ tasks: 3, notWorse: 2, better: 1, worse: 1, normalisedTasks: 1 });
    expect(s.normalisedMean).toBeCloseTo(0.1, 12);
    expect(s.offPicks).toEqual({ k: 2, n: 3 });
    expect(s.onPicks).toEqual({ k: 2, n: 3 });
    const md = holdoutMarkdown(rows, 20, 1);
    expect(md).toContain("| auc-task | roc_auc | 0.8 ± 0 | 0.84 | 0.04 (+10.0%) | better | 0/1 | 1/1 | 10 / 10 |");
    expect(md).toContain("at least as good as off within noise on 2 of 3 tasks (better on 1, worse on 1)");
  });

  it("leaves out the tasks where the on-runs kept no holdout", () => {
    const none = { ...run(true, 0, 0.9, true), refit: false, holdoutLine: "no holdout: only 398 labelled rows" };
    const rows = [
      summariseTask(auc, [run(false, 0, 0.8, false), run(true, 0, 0.84, true)]),
      summariseTask({ ...auc, name: "small" }, [run(false, 0, 0.9, true), none]),
    ];
    const s = summarise(rows);
    expect(s).toMatchObject({ tasks: 1, notWorse: 1, withoutHoldout: ["small (no holdout: only 398 labelled rows)"] });
    expect(s.onPicks).toEqual({ k: 1, n: 1 });
    expect(holdoutMarkdown(rows, 20, 1)).toContain("| 0 (+0.0%) | no holdout kept |");
  });
});
