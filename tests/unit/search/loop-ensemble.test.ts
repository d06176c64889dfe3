/**
 * The search loop's ensemble steps: the policy's ensemble actions run through the ensembler (no model call), the
 * blend is recorded as a node like any other and can become the best, the last step of such a run waits for the
 * steps in flight, steering cannot send a coder to an ensemble, and the refit of an ensemble gets its members.
 */
import { describe, expect, it } from "vitest";
import { runSearch } from "../../../src/search/loop.ts";
import { ENSEMBLE_DEFAULTS, GreedyPolicy } from "../../../src/search/policy.ts";
import type {
  Ensembler,
  NodeId,
  RefitOutcome,
  Refitter,
  SolutionNode,
  SubmissionJudge,
} from "../../../src/search/types.ts";
import {
  fakeSearchDeps,
  InterpretingExecutor,
  QueueInbox,
  RecordingSink,
  ScriptedCoder,
  testSearchOptions,
} from "../../fakes/search-fakes.ts";

const options = testSearchOptions;

/** Judges each script on the "holdout" by the metric its code names (the fake executor's scripts say it). */
function holdoutJudge(executor: InterpretingExecutor): SubmissionJudge {
  return {
    judge: async (written) => {
      const id = Number(/nodes\/(\d+)\//.exec(written)![1]);
      const code = executor.jobs.find((j) => j.nodeId === id)!.code;
      const value = Number(/metric=([\d.]+)/.exec(code)![1]);
      return { problem: null, holdout: { name: "score", value, lowerIsBetter: false }, separated: true };
    },
  };
}

/** Blends by averaging the members' holdout scores and adding `gain`; records what it was asked. */
class FakeEnsembler implements Ensembler {
  readonly calls: Array<{ id: NodeId; members: NodeId[] }> = [];
  constructor(
    private readonly gain: number,
    private readonly onBlend: () => void = () => {},
  ) {}

  async blend(id: NodeId, members: readonly SolutionNode[]): Promise<SolutionNode> {
    this.onBlend();
    this.calls.push({ id, members: members.map((m) => m.id) });
    const value = members.reduce((s, m) => s + m.holdout!.value, 0) / members.length + this.gain;
    const score = { name: "score", value, lowerIsBetter: false };
    return {
      ...members[0]!,
      id,
      step: id,
      parentId: members[0]!.id,
      stage: "ensemble",
      members: members.map((m) => m.id),
      plan: "blend",
      code: "# blend",
      metric: score,
      holdout: score,
      coder: "ensemble (no model)",
    };
  }
}

/** Drafts score 0.5 + step/100 (node 4 the best); improves score as `IMPROVES` says: below node 4 but for node 9. */
const IMPROVES: Record<number, number> = { 5: 0.53, 6: 0.52, 7: 0.51, 9: 0.55 };
const stalling = () =>
  new ScriptedCoder((action, ctx) =>
    action.kind === "draft" ? `metric=${(0.5 + ctx.step / 100).toFixed(2)}` : `metric=${IMPROVES[ctx.step] ?? 0.5}`,
  );

function ensembleDeps(ensembler: Ensembler, extra: Parameters<typeof fakeSearchDeps>[3] = {}) {
  const executor = new InterpretingExecutor();
  const sink = new RecordingSink();
  const coder = stalling();
  const deps = fakeSearchDeps(coder, executor, sink, {
    judge: holdoutJudge(executor),
    policy: new GreedyPolicy({ numDrafts: 5, debugProb: 0, maxDebugDepth: 3, ensemble: ENSEMBLE_DEFAULTS }),
    ensembler,
    ...extra,
  });
  return { deps, sink, coder, executor };
}

describe("search loop: ensembles", () => {
  it("blends the best nodes once the best stalls and as the last step, without asking the coder", async () => {
    const ensembler = new FakeEnsembler(-0.2);
    const { deps, sink, coder } = ensembleDeps(ensembler);
    const result = await runSearch(options({ steps: 11 }), deps);
    // Drafts 0-4 (node 4 best), improves 5-7 of it do worse: step 8 blends the best of three designs (4, 3, 2;
    // not 5, which is node 4's design); step 9 improves on node 4 and is the new best; the last step (10) blends
    // it, now its design's best, with the other two.
    expect(ensembler.calls).toEqual([
      { id: 8, members: [4, 3, 2] },
      { id: 10, members: [9, 3, 2] },
    ]);
    expect(coder.actions).toHaveLength(9);
    expect(result.journal.nodes.map((n) => n.stage)).toEqual([
      ...Array(5).fill("draft"),
      ...Array(3).fill("improve"),
      "ensemble",
      "improve",
      "ensemble",
    ]);
    const started = sink.events.flatMap((e) => (e.type === "step.started" ? [e.action] : []));
    expect(started.at(-1)).toEqual({ kind: "ensemble", members: [9, 3, 2] });
    // Blends that do worse than the best leave it alone.
    expect(result.best!.id).toBe(9);
  });

  it("delivers a blend that beats every node on the holdout, and refits it with its members", async () => {
    const refitted: Array<{ node: NodeId; members: NodeId[] }> = [];
    const refit: Refitter = {
      refit: async (node, members): Promise<RefitOutcome> => {
        refitted.push({ node: node.id, members: members.map((m) => m.id) });
        return { ok: true, nodeId: node.id, submissionPath: "nodes/refit-0009/working/submission.csv", note: "ok" };
      },
    };
    const { deps, sink } = ensembleDeps(new FakeEnsembler(0.1), { refit });
    const result = await runSearch(options({ steps: 10 }), deps);
    expect(result.best).toMatchObject({ id: 8, stage: "ensemble", members: [4, 3, 2] });
    const improved = sink.events.flatMap((e) => (e.type === "best.improved" ? [e.node.id] : []));
    expect(improved.at(-1)).toBe(8);
    // Improves after the ensemble build on the best script, never on the blend.
    expect(result.journal.get(9)).toMatchObject({ stage: "improve", parentId: 4 });
    expect(refitted).toEqual([{ node: 8, members: [4, 3, 2] }]);
  });

  it("starts the last step only when the steps in flight have finished, so the blend sees them all", async () => {
    let sink!: RecordingSink;
    const ensembler = new FakeEnsembler(-0.2, () => {
      const finished = sink.events.filter((e) => e.type === "step.finished").length;
      const started = sink.events.filter((e) => e.type === "step.started").length;
      // At the last step's blend every other step has finished (the blend's own step.started is the last event).
      if (started === 8) expect(finished).toBe(7);
    });
    const setup = ensembleDeps(ensembler);
    sink = setup.sink;
    const result = await runSearch(options({ steps: 8, parallel: 3 }), setup.deps);
    expect(result.journal.size).toBe(8);
    expect(result.journal.get(7)!.stage).toBe("ensemble");
  });

  it("tells steering that an ensemble is no script to focus on or debug", async () => {
    const inbox = new QueueInbox();
    const { deps, sink } = ensembleDeps(new FakeEnsembler(-0.2), { inbox });
    sink.onEvent = (e) => {
      if (e.type === "step.finished" && e.node.id === 8) {
        inbox.push({ kind: "focus", node: 8 });
        inbox.push({ kind: "debug", node: 8 });
      }
    };
    const result = await runSearch(options({ steps: 11 }), deps);
    const notes = sink.events.flatMap((e) => (e.type === "steer.applied" ? [e.note] : []));
    expect(notes).toEqual([
      "Node 8 is an ensemble of #4, #3, #2, not a script a coder can work on; focus on one of its members instead. Nothing changed.",
      "Node 8 is an ensemble of #4, #3, #2, not a script a coder can work on; focus on one of its members instead. Nothing changed.",
    ]);
    expect(result.journal.nodes.filter((n) => n.parentId === 8)).toEqual([]);
  });
});
