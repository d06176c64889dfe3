import { describe, expect, it } from "vitest";
import { bestNode } from "../../../src/search/journal.ts";
import { MAX_VALIDATION_WEIGHT, rankBySelection, selectionScores } from "../../../src/search/selection.ts";
import type { SolutionNode, Stage } from "../../../src/search/types.ts";
import { solutionNode } from "../../fakes/solution-nodes.ts";

interface Scores {
  parent?: number;
  /** The script's own validation number (rmse, lower is better). */
  validation: number;
  holdout?: number;
  stdError?: number;
  stage?: Stage;
  members?: number[];
  metricName?: string;
}

function judged(id: number, s: Scores): SolutionNode {
  const base = solutionNode(id, {
    parentId: s.parent ?? null,
    metric: s.validation,
    lowerIsBetter: true,
    metricName: s.metricName ?? "rmse",
  });
  return {
    ...base,
    stage: s.stage ?? base.stage,
    ...(s.holdout === undefined
      ? {}
      : {
          holdout: {
            name: "rmse",
            value: s.holdout,
            lowerIsBetter: true,
            ...(s.stdError === undefined ? {} : { stdError: s.stdError }),
          },
        }),
    ...(s.members ? { members: s.members } : {}),
  };
}

describe("selection scores (a run with a hidden holdout)", () => {
  it("does not follow a chain that gains on the holdout by noise while its own validation gets worse", () => {
    // The holdout is 8 below the validation for every script (the held-out rows are easier), and each score
    // could move by 4 on other rows. Node 1 agrees on both; the chain 2 -> 3 -> 4 creeps down the holdout by
    // less than that noise while its validation rises.
    const nodes = [
      judged(0, { validation: 60, holdout: 52, stdError: 4 }),
      judged(1, { validation: 50, holdout: 42, stdError: 4 }),
      judged(2, { validation: 52, holdout: 42, stdError: 4 }),
      judged(3, { parent: 2, validation: 53, holdout: 41, stdError: 4 }),
      judged(4, { parent: 3, validation: 54, holdout: 40, stdError: 4 }),
    ];
    const scores = selectionScores(nodes);
    // The common gap is the median of validation − holdout: 10. The moved validation numbers spread (robust
    // spread 1.48 · 2 = 2.97) less than the holdout's noise (4): they are precise, and weigh the most they may.
    const w = MAX_VALIDATION_WEIGHT;
    expect(scores.get(1)).toBeCloseTo((1 - w) * 42 + w * (50 - 10), 12);
    expect(scores.get(4)).toBeCloseTo((1 - w) * 40 + w * (54 - 10), 12);
    expect(bestNode(nodes, true)!.id).toBe(1);
    // By the holdout alone, node 4 would win.
    const holdoutOnly = nodes.map((n) => ({ ...n, holdout: { ...n.holdout!, stdError: undefined } }));
    expect(bestNode(holdoutOnly, true)!.id).toBe(4);
  });

  it("weighs validation numbers that spread wide about the holdout (lucky splits of their own) for little", () => {
    // The holdout's standard error is 1, but the moved validation numbers stray from it by 3 (robust spread
    // 1.4826 · 3): each script's own split adds a variance of about 18.8, so a validation number weighs 1/19.8.
    const nodes = [
      judged(0, { validation: 40, holdout: 40, stdError: 1 }),
      judged(1, { validation: 45, holdout: 42, stdError: 1 }),
      judged(2, { validation: 33, holdout: 41, stdError: 1 }),
      judged(3, { validation: 43, holdout: 40, stdError: 1 }),
      judged(4, { validation: 36, holdout: 39, stdError: 1 }),
    ];
    const spread = 1.4826 * 3;
    const weight = 1 / (1 + (spread * spread - 1));
    const scores = selectionScores(nodes);
    expect(scores.get(2)).toBeCloseTo(41 + weight * (33 - 41), 12);
    expect(scores.get(4)).toBeCloseTo(39 + weight * (36 - 39), 12);
    // Weighed equally, node 2's lucky 33 would win (37 against 37.5); weighed by precision, the holdout's 39 does.
    expect(rankBySelection(nodes).map((n) => n.id)).toEqual([4, 0, 3, 2, 1]);
  });

  it("weighs the two equally while fewer than three scripts show how far validation numbers stray", () => {
    const nodes = [
      judged(0, { validation: 46, holdout: 42, stdError: 2 }),
      judged(1, { validation: 40, holdout: 42, stdError: 2 }),
    ];
    // The common gap is the mean of 4 and −2: 1.
    const scores = selectionScores(nodes);
    expect(scores.get(0)).toBeCloseTo(0.5 * 42 + 0.5 * 45, 12);
    expect(scores.get(1)).toBeCloseTo(0.5 * 42 + 0.5 * 39, 12);
  });

  it("does not trust a validation number that disagrees with the holdout beyond its noise", () => {
    // Node 2 says 10 on its own split (a leak) but scores 45 on the holdout, like the others' 40-42.
    const nodes = [
      judged(0, { validation: 44, holdout: 42, stdError: 2 }),
      judged(1, { validation: 42, holdout: 40, stdError: 2 }),
      judged(2, { validation: 10, holdout: 45, stdError: 2 }),
    ];
    const scores = selectionScores(nodes);
    expect(scores.get(2)).toBe(45);
    expect(rankBySelection(nodes).map((n) => n.id)).toEqual([1, 0, 2]);
  });

  it("uses the holdout alone where the validation is in another metric or the score has no standard error", () => {
    const nodes = [
      judged(0, { validation: 0.9, holdout: 42, stdError: 2, metricName: "r2" }),
      judged(1, { validation: 41, holdout: 44 }),
      judged(2, { validation: 40, holdout: 43, stdError: 2 }),
    ];
    const scores = selectionScores(nodes);
    expect(scores.get(0)).toBe(42);
    expect(scores.get(1)).toBe(44);
    // Node 2's validation is the only one to set the common gap (−3): it agrees with itself.
    expect(scores.get(2)).toBeCloseTo(43, 12);
  });

  it("scores an ensemble as its best member plus what the blend gained on the holdout", () => {
    const nodes = [
      judged(0, { validation: 50, holdout: 48, stdError: 3 }),
      judged(1, { validation: 46, holdout: 44, stdError: 3 }),
      judged(2, { validation: 52, holdout: 50, stdError: 3 }),
      judged(3, { stage: "ensemble", parent: 1, members: [1, 0, 2], validation: 41, holdout: 41, stdError: 3 }),
    ];
    const scores = selectionScores(nodes);
    expect(scores.get(1)).toBeCloseTo(44, 12);
    expect(scores.get(3)).toBeCloseTo(44 + (41 - 44), 12);
    expect(bestNode(nodes, true)!.id).toBe(3);
    // A blend that loses to its best member on the holdout is not the best.
    const worse = [
      ...nodes.slice(0, 3),
      judged(3, { ...nodes[3]!, stage: "ensemble", members: [1, 0, 2], parent: 1, validation: 45, holdout: 45 }),
    ];
    expect(bestNode(worse, true)!.id).toBe(1);
  });

  it("leaves nodes without a holdout score out, and falls back to validation when none has one", () => {
    const nodes = [judged(0, { validation: 3 }), judged(1, { validation: 2 })];
    expect(selectionScores(nodes).size).toBe(0);
    expect(rankBySelection(nodes)).toEqual([]);
    expect(bestNode(nodes, true)!.id).toBe(1);
  });
});
