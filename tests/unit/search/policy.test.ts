import { describe, expect, it } from "vitest";
import { Journal } from "../../../src/search/journal.ts";
import { ENSEMBLE_DEFAULTS, ensembleMembers, GreedyPolicy, parentOfAction } from "../../../src/search/policy.ts";
import type { Rng, SolutionNode, Stage } from "../../../src/search/types.ts";

const fixedRng = (value: number): Rng => ({ next: () => value });

function node(
  id: number,
  stage: Stage,
  opts: { parent?: number; metric?: number; buggy?: boolean } = {},
): SolutionNode {
  const buggy = opts.buggy ?? opts.metric === undefined;
  return {
    id,
    parentId: opts.parent ?? null,
    step: id,
    stage,
    plan: "",
    code: `print(${id})\n`,
    metric: buggy ? null : { name: "acc", value: opts.metric!, lowerIsBetter: false },
    buggy,
    analysis: "",
    execTimeMs: 1,
    exitCode: buggy ? 1 : 0,
    timedOut: false,
    killed: false,
    output: "",
    submissionOk: !buggy,
    submissionPath: null,
    usage: { promptTokens: 0, completionTokens: 0, costUsd: 0 },
    coder: "test",
    createdAt: "",
    finishedAt: "",
  };
}

const fiveDrafts = (metrics: Array<number | undefined>) => metrics.map((m, i) => node(i, "draft", { metric: m }));

describe("GreedyPolicy (AIDE)", () => {
  const policy = new GreedyPolicy({ numDrafts: 5, debugProb: 0.5, maxDebugDepth: 3 });

  it("drafts while fewer than num_drafts drafts exist, even when good nodes exist", () => {
    const j = new Journal([node(0, "draft", { metric: 0.9 }), node(1, "improve", { parent: 0, metric: 0.95 })]);
    expect(policy.next(j, fixedRng(0), [], false)).toEqual({ kind: "draft" });
  });

  it("counts drafts still in flight", () => {
    const j = new Journal(fiveDrafts([0.5, 0.6, 0.7]));
    const pending = [
      { id: 3, action: { kind: "draft" as const } },
      { id: 4, action: { kind: "draft" as const } },
    ];
    expect(policy.next(j, fixedRng(0.99), pending, false)).toEqual({ kind: "improve", parent: 2 });
  });

  it("debugs a buggy leaf when the draw is below debug_prob", () => {
    const j = new Journal(fiveDrafts([0.5, undefined, 0.7, 0.6, 0.4]));
    expect(policy.next(j, fixedRng(0.2), [], false)).toEqual({ kind: "debug", parent: 1 });
  });

  it("improves the best good node when the draw is at or above debug_prob", () => {
    const j = new Journal(fiveDrafts([0.5, undefined, 0.7, 0.6, 0.4]));
    expect(policy.next(j, fixedRng(0.5), [], false)).toEqual({ kind: "improve", parent: 2 });
  });

  it("follows the run's direction when picking the best node", () => {
    const j = new Journal(fiveDrafts([0.5, 0.3, 0.7, 0.6, 0.4]));
    expect(policy.next(j, fixedRng(0.9), [], true)).toEqual({ kind: "improve", parent: 1 });
  });

  it("drafts when no good node exists and nothing is debuggable", () => {
    const j = new Journal(fiveDrafts([undefined, undefined, undefined, undefined, undefined]));
    expect(policy.next(j, fixedRng(0.9), [], null)).toEqual({ kind: "draft" });
  });

  it("does not debug a buggy node that already has a child (not a leaf)", () => {
    const nodes = [...fiveDrafts([undefined, 0.5, 0.6, 0.7, 0.8]), node(5, "debug", { parent: 0, metric: 0.4 })];
    const j = new Journal(nodes);
    expect(policy.next(j, fixedRng(0.1), [], false)).toEqual({ kind: "improve", parent: 4 });
  });

  it("does not debug a step whose coder gave no script (no code to fix)", () => {
    const nodes = fiveDrafts([undefined, 0.5, 0.6, 0.7, 0.8]).map((n) => (n.buggy ? { ...n, code: "" } : n));
    expect(policy.next(new Journal(nodes), fixedRng(0.1), [], false)).toEqual({ kind: "improve", parent: 4 });
  });

  it("does not debug a node whose debug depth reached max_debug_depth", () => {
    const nodes = [
      ...fiveDrafts([undefined, 0.5, 0.6, 0.7, 0.8]),
      node(5, "debug", { parent: 0 }),
      node(6, "debug", { parent: 5 }),
      node(7, "debug", { parent: 6 }),
    ];
    const j = new Journal(nodes);
    expect(j.debugDepth(7)).toBe(3);
    expect(policy.next(j, fixedRng(0.1), [], false)).toEqual({ kind: "improve", parent: 4 });
    // One level shallower is still debuggable.
    const j2 = new Journal(nodes.slice(0, 7));
    expect(j2.debugDepth(6)).toBe(2);
    expect(policy.next(j2, fixedRng(0.1), [], false)).toEqual({ kind: "debug", parent: 6 });
  });

  it("does not debug a buggy leaf that a step in flight is already debugging", () => {
    const j = new Journal(fiveDrafts([undefined, 0.5, 0.6, 0.7, 0.8]));
    const pending = [{ id: 5, action: { kind: "debug" as const, parent: 0 } }];
    expect(policy.next(j, fixedRng(0.1), pending, false)).toEqual({ kind: "improve", parent: 4 });
  });

  it("picks among several buggy leaves with the random source", () => {
    const j = new Journal(fiveDrafts([undefined, 0.5, undefined, 0.7, undefined]));
    const picks = new Set<number>();
    for (const r of [0.0, 0.4, 0.8]) {
      let calls = 0;
      const rng: Rng = { next: () => (calls++ === 0 ? 0.1 : r) };
      const a = policy.next(j, rng, [], false);
      expect(a.kind).toBe("debug");
      if (a.kind === "debug") picks.add(a.parent);
    }
    expect(picks).toEqual(new Set([0, 2, 4]));
  });

  const unranked = (n: SolutionNode): SolutionNode => ({
    ...n,
    unranked: "it reported mae, but this run is judged by rmse",
  });

  it("never takes an unranked node for the best, nor debugs it", () => {
    const nodes = fiveDrafts([0.5, 0.9, 0.7, 0.6, 0.4]);
    const j = new Journal(nodes.map((n) => (n.id === 1 ? unranked(n) : n)));
    expect(policy.next(j, fixedRng(0.1), [], false)).toEqual({ kind: "improve", parent: 2 });
    expect(j.best(false)!.id).toBe(2);
  });

  it("takes the best by the holdout score where nodes have one, in the holdout's direction", () => {
    const withHoldout = (n: SolutionNode, value: number): SolutionNode => ({
      ...n,
      holdout: { name: "rmse", value, lowerIsBetter: true },
    });
    // Validation says node 1 (0.9); the holdout (lower is better) says node 3.
    const nodes = fiveDrafts([0.5, 0.9, 0.7, 0.6, 0.4]);
    const scored = [0.3, 0.35, 0.31, 0.2, 0.5];
    const j = new Journal(nodes.map((n, i) => withHoldout(n, scored[i]!)));
    expect(j.best(false)!.id).toBe(3);
    expect(policy.next(j, fixedRng(0.9), [], false)).toEqual({ kind: "improve", parent: 3 });
    // Nodes without a holdout score (scored before the metric was known) do not beat those with one.
    const mixed = new Journal(nodes.map((n, i) => (i === 1 ? n : withHoldout(n, scored[i]!))));
    expect(mixed.best(false)!.id).toBe(3);
    // No holdout anywhere: the validation numbers decide, as in AIDE.
    expect(new Journal(nodes).best(false)!.id).toBe(1);
  });

  it("improves an unranked node only while no node is ranked", () => {
    const j = new Journal(
      fiveDrafts([undefined, 0.9, undefined, 0.6, undefined]).map((n) => (n.buggy ? { ...n, code: "x" } : unranked(n))),
    );
    const picks = new Set<number>();
    for (const r of [0.0, 0.99]) {
      let calls = 0;
      const rng: Rng = { next: () => (calls++ === 0 ? 0.9 : r) };
      const a = policy.next(j, rng, [], null);
      expect(a.kind).toBe("improve");
      if (a.kind === "improve") picks.add(a.parent);
    }
    expect(picks).toEqual(new Set([1, 3]));
    // Once a node is ranked, unranked ones are left alone, even before the run knows its direction.
    const ranked = new Journal([...j.nodes, node(5, "draft", { metric: 0.3 })]);
    expect(policy.next(ranked, fixedRng(0.9), [], null)).toEqual({ kind: "draft" });
  });
});

describe("GreedyPolicy: ensembles (a run with a hidden holdout)", () => {
  const policy = new GreedyPolicy({ numDrafts: 5, debugProb: 0.5, maxDebugDepth: 3, ensemble: ENSEMBLE_DEFAULTS });
  const judged = (n: SolutionNode, value = n.metric?.value): SolutionNode =>
    value === undefined ? n : { ...n, holdout: { name: "acc", value, lowerIsBetter: false } };
  /** Five judged drafts (the last, node 4, the best), then improves of it that do no better. */
  const stalled = (improves: number) => [
    ...fiveDrafts([0.5, 0.6, 0.7, 0.4, 0.9]).map((n) => judged(n)),
    ...Array.from({ length: improves }, (_, k) => judged(node(5 + k, "improve", { parent: 4, metric: 0.8 - k / 100 }))),
  ];
  const ensembleNode = (id: number, members: number[], value = 0.85): SolutionNode => ({
    ...judged(node(id, "ensemble", { parent: members[0], metric: value })),
    members,
  });

  it("blends the best of three designs by holdout once the best has not improved for `patience` steps", () => {
    expect(policy.next(new Journal(stalled(2)), fixedRng(0.9), [], false)).toEqual({ kind: "improve", parent: 4 });
    // Nodes 5-7 score better than drafts 2 and 1, but they are node 4's design: the blend mixes designs.
    expect(policy.next(new Journal(stalled(3)), fixedRng(0.9), [], false)).toEqual({
      kind: "ensemble",
      members: [4, 2, 1],
    });
  });

  it("ranks members by the holdout, not by the scripts' own numbers", () => {
    // Node 0 reports 0.99 on its own split but scores 0.3 on the holdout.
    const nodes = stalled(3).map((n) =>
      n.id === 0 ? judged({ ...n, metric: { ...n.metric!, value: 0.99 } }, 0.3) : n,
    );
    expect(ensembleMembers(nodes, 3)).toEqual([4, 2, 1]);
    // The best of each of the five designs, then the rest by holdout.
    expect(ensembleMembers(nodes, 10)).toEqual([4, 2, 1, 3, 0, 5, 6, 7]);
  });

  it("never blends two scripts with the same code (drafts written twice)", () => {
    // Node 2 is node 4's script again (it scores less on the holdout): the blend takes the next design instead.
    const nodes = stalled(3).map((n) => (n.id === 2 ? { ...n, code: "print(4)\n" } : n));
    expect(ensembleMembers(nodes, 3)).toEqual([4, 1, 0]);
    expect(ensembleMembers(nodes, 10)).not.toContain(2);
  });

  it("fills a blend from one design when fewer designs have judged scripts", () => {
    const one = stalled(3).map((n) => (n.stage === "draft" && n.id !== 4 ? { ...n, holdout: null } : n));
    expect(ensembleMembers(one, 3)).toEqual([4, 5, 6]);
  });

  it("blends as the last step of the run, when no step is in flight", () => {
    const j = new Journal(stalled(1));
    expect(policy.next(j, fixedRng(0.9), [], false, 2)).toEqual({ kind: "improve", parent: 4 });
    expect(policy.next(j, fixedRng(0.9), [], false, 1)).toEqual({ kind: "ensemble", members: [4, 2, 1] });
    const pending = [{ id: 7, action: { kind: "improve" as const, parent: 2 } }];
    expect(policy.next(j, fixedRng(0.9), pending, false, 1)).toEqual({ kind: "improve", parent: 4 });
  });

  it("never blends the same members twice, nor while a blend is in flight", () => {
    const blended = new Journal([...stalled(3), ensembleNode(8, [2, 4, 1], 0.85)]);
    // The ensemble (0.85 on the holdout) is no better than node 4 (0.9): the same three would come again.
    expect(policy.next(blended, fixedRng(0.9), [], false, 1)).toEqual({ kind: "improve", parent: 4 });
    const inFlight = [{ id: 8, action: { kind: "ensemble" as const, members: [4, 2, 1] } }];
    expect(policy.next(new Journal(stalled(3)), fixedRng(0.9), inFlight, false)).toEqual({
      kind: "improve",
      parent: 4,
    });
  });

  it("needs `size` judged scripts, and blends nothing without the rule or before the drafts", () => {
    const unjudged = fiveDrafts([0.5, 0.6, 0.7, 0.4, 0.9]);
    const fewJudged = unjudged.map((n) => (n.id < 2 ? judged(n) : n));
    // Two judged drafts: node 1 is the best of those the holdout judged; too few to blend.
    expect(policy.next(new Journal(fewJudged), fixedRng(0.9), [], false, 1)).toEqual({ kind: "improve", parent: 1 });
    expect(new GreedyPolicy().next(new Journal(stalled(3)), fixedRng(0.9), [], false, 1)).toEqual({
      kind: "improve",
      parent: 4,
    });
    expect(policy.next(new Journal(stalled(3).slice(0, 4)), fixedRng(0.9), [], false, 1)).toEqual({ kind: "draft" });
  });

  it("never improves or debugs an ensemble, even the best one", () => {
    const best = ensembleNode(8, [4, 5, 6], 0.95);
    const broken: SolutionNode = { ...ensembleNode(9, [4, 2, 5]), buggy: true, metric: null, holdout: null };
    const j = new Journal([...stalled(3), best, broken]);
    expect(j.best(false)!.id).toBe(8);
    expect(policy.next(j, fixedRng(0.1), [], false)).toEqual({ kind: "improve", parent: 4 });
    expect(parentOfAction({ kind: "ensemble", members: [4, 5, 6] })).toBe(4);
  });
});
