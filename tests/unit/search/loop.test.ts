import { describe, expect, it } from "vitest";
import { runSearch } from "../../../src/search/loop.ts";
import type { Action, PromptContext, RefitOutcome, Refitter, SolutionNode } from "../../../src/search/types.ts";
import {
  fakeSearchDeps,
  InterpretingExecutor,
  QueueInbox,
  RecordingSink,
  ScriptedCoder,
  testBrief,
  testSearchOptions,
} from "../../fakes/search-fakes.ts";

const options = testSearchOptions;

/** Drafts: every third one crashes; improves add 0.01 to the parent's metric; debugs fix the crash. */
const climbing = (action: Action, ctx: PromptContext): string => {
  if (action.kind === "draft") return ctx.step % 3 === 1 ? "crash" : `metric=${(0.5 + ctx.step / 100).toFixed(2)}`;
  const parentMetric = ctx.parent?.metric?.value ?? 0.5;
  return `metric=${(parentMetric + 0.01).toFixed(2)}`;
};

describe("search loop", () => {
  it("runs drafts, then debugs and improves, and reports each new best once", async () => {
    const coder = new ScriptedCoder(climbing);
    const sink = new RecordingSink();
    const result = await runSearch(options(), fakeSearchDeps(coder, new InterpretingExecutor(), sink));

    const stages = result.journal.nodes.map((n) => n.stage);
    expect(stages.slice(0, 5)).toEqual(["draft", "draft", "draft", "draft", "draft"]);
    expect(stages).toContain("improve");
    expect(stages).toContain("debug");
    expect(result.journal.size).toBe(12);
    expect(result.reason).toBe("steps");
    expect(result.lowerIsBetter).toBe(false);

    const improved = sink.events.filter((e) => e.type === "best.improved");
    const values = improved.map((e) => (e.type === "best.improved" ? e.node.metric!.value : 0));
    expect(values).toEqual([...values].sort((a, b) => a - b));
    expect(new Set(values).size).toBe(values.length);
    expect(result.best!.metric!.value).toBe(Math.max(...result.journal.goodNodes.map((n) => n.metric!.value)));

    const types = sink.events.map((e) => e.type);
    expect(types[0]).toBe("run.started");
    expect(types.at(-1)).toBe("run.finished");
    expect(types.filter((t) => t === "step.finished")).toHaveLength(12);
    expect(sink.nodes.map((n) => n.id)).toEqual(result.journal.nodes.map((n) => n.id));
  });

  it("replays identically with the same seed and the same coder outputs", async () => {
    const run = async (seed: number) => {
      const coder = new ScriptedCoder(climbing);
      await runSearch(
        options({ seed, steps: 20 }),
        fakeSearchDeps(coder, new InterpretingExecutor(), new RecordingSink()),
      );
      return coder.actions;
    };
    const a = await run(11);
    expect(await run(11)).toEqual(a);
    const others = await Promise.all([12, 13, 14, 15].map(run));
    expect(others.some((o) => JSON.stringify(o) !== JSON.stringify(a))).toBe(true);
  });

  it("resumes from a journal and decides as the uninterrupted run did", async () => {
    const full = new ScriptedCoder(climbing);
    const whole = await runSearch(
      options({ steps: 16 }),
      fakeSearchDeps(full, new InterpretingExecutor(), new RecordingSink()),
    );

    const first = await runSearch(
      options({ steps: 7 }),
      fakeSearchDeps(new ScriptedCoder(climbing), new InterpretingExecutor(), new RecordingSink()),
    );
    const rest = new ScriptedCoder(climbing);
    const resumed = await runSearch(
      options({ steps: 16 }),
      fakeSearchDeps(rest, new InterpretingExecutor(), new RecordingSink()),
      first.journal.nodes,
    );
    expect(rest.actions).toHaveLength(9);
    expect(resumed.journal.nodes.map((n) => [n.id, n.stage, n.parentId, n.metric?.value])).toEqual(
      whole.journal.nodes.map((n) => [n.id, n.stage, n.parentId, n.metric?.value]),
    );
  });

  it("fills the ids of steps that were in flight when a parallel run was interrupted", async () => {
    // A worker died with node 3 in flight after node 4 had finished: the journal holds 0, 1, 2 and 4.
    const first = await runSearch(
      options({ steps: 5 }),
      fakeSearchDeps(new ScriptedCoder(climbing), new InterpretingExecutor(), new RecordingSink()),
    );
    const survivors = first.journal.nodes.filter((n) => n.id !== 3);
    const rest = new ScriptedCoder(climbing);
    const sink = new RecordingSink();
    const resumed = await runSearch(
      options({ steps: 7, parallel: 2 }),
      fakeSearchDeps(rest, new InterpretingExecutor(), sink),
      survivors,
    );
    expect(rest.actions).toHaveLength(3);
    expect(sink.nodes.map((n) => n.id).sort((a, b) => a - b)).toEqual([3, 5, 6]);
    expect(resumed.journal.nodes.map((n) => n.id).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it("announces its last nodes and its best again when resumed, for a worker that died before announcing them", async () => {
    const first = await runSearch(
      options({ steps: 6 }),
      fakeSearchDeps(new ScriptedCoder(climbing), new InterpretingExecutor(), new RecordingSink()),
    );
    const sink = new RecordingSink();
    await runSearch(
      options({ steps: 8, parallel: 2 }),
      fakeSearchDeps(new ScriptedCoder(climbing), new InterpretingExecutor(), sink),
      first.journal.nodes,
    );
    const types = sink.events.map((e) => e.type);
    expect(types.slice(0, 4)).toEqual(["run.started", "step.finished", "step.finished", "best.improved"]);
    const again = sink.events.slice(1, 3).map((e) => (e.type === "step.finished" ? e.node.id : -1));
    expect(again).toEqual([4, 5]);
    const best = sink.events[3]!;
    expect(best.type === "best.improved" && best.node.id).toBe(first.best!.id);
    expect(sink.nodes.map((n) => n.id).sort((a, b) => a - b)).toEqual([6, 7]);
  });

  it("fixes the metric direction from the first node with a metric, for the whole run", async () => {
    const coder = new ScriptedCoder((_a, ctx) => (ctx.step === 0 ? "metric=2.0 lower" : `metric=${3 - ctx.step / 10}`));
    const result = await runSearch(
      options({ steps: 6 }),
      fakeSearchDeps(coder, new InterpretingExecutor(), new RecordingSink()),
    );
    expect(result.lowerIsBetter).toBe(true);
    expect(result.journal.goodNodes.every((n) => n.metric!.lowerIsBetter)).toBe(true);
    expect(result.best!.metric!.value).toBe(2.0);
  });

  it("keeps up to `parallel` steps in flight with a consistent journal", async () => {
    const executor = new InterpretingExecutor();
    const coder = new ScriptedCoder((_a, ctx) => `sleep=${5 + (ctx.step % 4) * 7} metric=${0.5 + ctx.step / 100}`);
    const result = await runSearch(
      options({ steps: 14, parallel: 3 }),
      fakeSearchDeps(coder, executor, new RecordingSink()),
    );
    expect(executor.maxInFlight).toBe(3);
    expect(result.journal.size).toBe(14);
    expect(new Set(result.journal.nodes.map((n) => n.id)).size).toBe(14);
    expect(result.journal.drafts).toHaveLength(5);
    for (const n of result.journal.nodes) if (n.parentId !== null) expect(result.journal.has(n.parentId)).toBe(true);
  });

  it("lets parallel steps see the code other steps in flight proposed for the same parent", async () => {
    const coder = new ScriptedCoder((_a, ctx) => `sleep=20 metric=${ctx.step === 0 ? 0.9 : 0.4} step${ctx.step}`);
    await runSearch(
      options({ steps: 11, parallel: 3, seed: 3 }),
      fakeSearchDeps(coder, new InterpretingExecutor(), new RecordingSink()),
    );
    const improves = coder.contexts.filter((_c, i) => coder.actions[i]!.kind === "improve");
    expect(improves.length).toBeGreaterThan(2);
    // Every improve of node 0 sees the code of all earlier improves of node 0, finished or still in flight.
    for (const [k, c] of improves.entries()) {
      expect(c.siblings.map((s) => s.code)).toEqual(
        improves.slice(0, k).map((p) => `sleep=20 metric=0.4 step${p.step}`),
      );
    }
  });

  it("ends cleanly when the token budget is spent", async () => {
    const coder = new ScriptedCoder((_a, ctx) => `metric=${0.5 + ctx.step / 100}`, 100);
    const sink = new RecordingSink();
    const result = await runSearch(
      options({ budget: { tokens: 350 } }),
      fakeSearchDeps(coder, new InterpretingExecutor(), sink),
    );
    expect(result.reason).toBe("budget");
    expect(result.journal.size).toBe(4);
    expect(result.usage.promptTokens).toBe(400);
    const last = sink.events.at(-1)!;
    expect(last.type === "run.finished" && last.reason).toBe("budget");
  });

  it("applies steering at step boundaries: guidance, more, focus, stop", async () => {
    const inbox = new QueueInbox();
    const coder = new ScriptedCoder((_a, ctx) => `metric=${0.5 + ctx.step / 100}`);
    const sink = new RecordingSink();
    sink.onEvent = (e) => {
      if (e.type === "step.finished" && e.node.id === 1)
        inbox.push({ kind: "guidance", text: "try gradient boosting" });
      if (e.type === "step.finished" && e.node.id === 5) {
        inbox.push({ kind: "more", steps: 2 });
        inbox.push({ kind: "focus", node: 0 });
      }
    };
    const result = await runSearch(
      options({ steps: 8 }),
      fakeSearchDeps(coder, new InterpretingExecutor(), sink, { inbox }),
    );
    expect(coder.contexts[1]!.guidance).toEqual([]);
    expect(coder.contexts[2]!.guidance).toEqual(["try gradient boosting"]);
    expect(coder.contexts.at(-1)!.guidance).toEqual(["try gradient boosting"]);
    expect(result.journal.size).toBe(10);
    expect(coder.actions[6]).toEqual({ kind: "improve", parent: 0 });
    expect(sink.events.filter((e) => e.type === "steer.applied")).toHaveLength(3);
    expect(result.guidance).toEqual(["try gradient boosting"]);
  });

  it("stops on request, keeps the journal and still reports the best", async () => {
    const inbox = new QueueInbox();
    const coder = new ScriptedCoder((_a, ctx) => `metric=${0.5 + ctx.step / 100}`);
    const sink = new RecordingSink();
    sink.onEvent = (e) => {
      if (e.type === "step.finished" && e.node.id === 2) inbox.push({ kind: "stop" });
    };
    const result = await runSearch(
      options({ steps: 20 }),
      fakeSearchDeps(coder, new InterpretingExecutor(), sink, { inbox }),
    );
    expect(result.reason).toBe("stopped");
    expect(result.journal.size).toBe(3);
    expect(result.best?.id).toBe(2);
  });

  it("pauses until resumed", async () => {
    const inbox = new QueueInbox();
    const coder = new ScriptedCoder((_a, ctx) => `metric=${0.5 + ctx.step / 100}`);
    const sink = new RecordingSink();
    sink.onEvent = (e) => {
      if (e.type === "step.finished" && e.node.id === 1) inbox.push({ kind: "pause" });
      if (e.type === "run.paused") setTimeout(() => inbox.push({ kind: "resume" }), 10);
    };
    const result = await runSearch(
      options({ steps: 4 }),
      fakeSearchDeps(coder, new InterpretingExecutor(), sink, { inbox }),
    );
    expect(result.journal.size).toBe(4);
    const types = sink.events.map((e) => e.type);
    expect(types.indexOf("run.paused")).toBeGreaterThan(0);
    expect(types.filter((t) => t === "steer.applied")).toHaveLength(2);
  });

  it("fails the run with run.failed when the coder fails", async () => {
    const coder = new ScriptedCoder(() => "metric=1");
    coder.propose = async () => {
      throw new Error("model unreachable");
    };
    const sink = new RecordingSink();
    await expect(runSearch(options(), fakeSearchDeps(coder, new InterpretingExecutor(), sink))).rejects.toThrow(
      "model unreachable",
    );
    expect(sink.events.at(-1)).toMatchObject({ type: "run.failed", error: "model unreachable" });
  });
});

describe("search loop abort", () => {
  it("cancels the steps in flight and rejects with the signal's reason, without run.failed", async () => {
    const controller = new AbortController();
    const coder = new ScriptedCoder((_a, ctx) => `sleep=${ctx.step === 2 ? 5000 : 1} metric=0.5`);
    const sink = new RecordingSink();
    sink.onEvent = (e) => {
      if (e.type === "step.started" && e.nodeId === 2) setTimeout(() => controller.abort(new Error("lease lost")), 20);
    };
    const started = Date.now();
    await expect(
      runSearch(
        options({ steps: 10, signal: controller.signal }),
        fakeSearchDeps(coder, new InterpretingExecutor(), sink),
      ),
    ).rejects.toThrow("lease lost");
    expect(Date.now() - started).toBeLessThan(4000);
    expect(sink.nodes.map((n) => n.id)).toEqual([0, 1]);
    expect(sink.events.some((e) => e.type === "run.failed")).toBe(false);
  });
});

describe("search loop: the metric's direction and name", () => {
  /** Scripts printing `values[step]` with `flags` (see InterpretingExecutor) from `flagsAt(step)`. */
  const printing = (values: number[], flagsAt: (step: number) => string) => (_a: Action, ctx: PromptContext) =>
    `metric=${values[ctx.step]} ${flagsAt(ctx.step)}`;
  const bestValues = (sink: RecordingSink) =>
    sink.events.flatMap((e) => (e.type === "best.improved" ? [e.node.metric!.value] : []));

  it.each([
    ["the task text", { brief: { ...testBrief, task: "Predict y.\nMetric: RMSE" } }, "noname nodir"],
    ["--metric", { brief: { ...testBrief, metricHint: "rmse" } }, "noname nodir"],
    ["the metric's name alone", {}, "name=rmse nodir"],
  ])("minimises an RMSE run whose lines and reviews give no direction, told by %s", async (_by, over, flags) => {
    const coder = new ScriptedCoder(printing([3, 1.5, 4, 2, 5, 2.5], () => flags));
    const sink = new RecordingSink();
    const result = await runSearch(
      options({ steps: 6, ...over }),
      fakeSearchDeps(coder, new InterpretingExecutor(), sink),
    );
    expect(result.lowerIsBetter).toBe(true);
    expect(result.best!.id).toBe(1);
    expect(result.best!.metric).toMatchObject({ value: 1.5, lowerIsBetter: true });
    expect(bestValues(sink)).toEqual([3, 1.5]);
    expect(coder.actions[5]).toEqual({ kind: "improve", parent: 1 });
    expect(result.journal.nodes.every((n) => n.metric!.lowerIsBetter === true && !n.unranked)).toBe(true);
  });

  it("maximises an accuracy run by the metric's name", async () => {
    const coder = new ScriptedCoder(printing([0.7, 0.9, 0.6, 0.8, 0.75, 0.95], () => "name=accuracy nodir"));
    const result = await runSearch(
      options({ steps: 6 }),
      fakeSearchDeps(coder, new InterpretingExecutor(), new RecordingSink()),
    );
    expect(result.lowerIsBetter).toBe(false);
    expect(coder.actions[5]).toEqual({ kind: "improve", parent: 1 });
    expect(result.best!.id).toBe(5);
  });

  it("takes the direction from the review when the line does not give one", async () => {
    const coder = new ScriptedCoder(printing([3, 1, 4, 2, 5, 6], () => "nodir"));
    const review = coder.review.bind(coder);
    coder.review = async (input) => ({ ...(await review(input)), lowerIsBetter: true });
    const result = await runSearch(
      options({ steps: 6 }),
      fakeSearchDeps(coder, new InterpretingExecutor(), new RecordingSink()),
    );
    expect(result.lowerIsBetter).toBe(true);
    expect(result.best!.id).toBe(1);
  });

  it("has no best while nothing tells the direction, then picks the best over all nodes once a line does", async () => {
    const coder = new ScriptedCoder(printing([5, 2, 7, 4, 6, 1], (step) => (step === 3 ? "lower" : "nodir")));
    const sink = new RecordingSink();
    const result = await runSearch(options({ steps: 6 }), fakeSearchDeps(coder, new InterpretingExecutor(), sink));
    const finishedNode3 = sink.events.findIndex((e) => e.type === "step.finished" && e.node.id === 3);
    const improved = sink.events.flatMap((e, i) => (e.type === "best.improved" ? [{ i, e }] : []));
    expect(improved.map(({ e }) => [e.node.id, e.previous?.id ?? null])).toEqual([
      [1, null],
      [5, 1],
    ]);
    expect(improved[0]!.i).toBeGreaterThan(finishedNode3);
    // The first best was recorded before the direction was known; the event carries the run's.
    expect(improved[0]!.e.node.metric).toEqual({ name: "score", value: 2, lowerIsBetter: true });
    expect(result.journal.nodes.map((n) => n.metric!.lowerIsBetter)).toEqual([null, null, null, true, true, true]);
    expect(coder.contexts[3]!.lowerIsBetter).toBeUndefined();
    expect(coder.contexts[4]!.lowerIsBetter).toBe(true);
    expect(result).toMatchObject({ lowerIsBetter: true, metricName: "score" });
    expect(result.best!.id).toBe(5);
  });

  it("keeps the direction open on resume until a node tells it, then looks at the resumed nodes too", async () => {
    const flagsAt = (step: number) => (step === 3 ? "lower" : "nodir");
    const values = [5, 2, 7, 4, 6, 3];
    const first = await runSearch(
      options({ steps: 3 }),
      fakeSearchDeps(new ScriptedCoder(printing(values, flagsAt)), new InterpretingExecutor(), new RecordingSink()),
    );
    expect(first).toMatchObject({ best: null, lowerIsBetter: null });
    const sink = new RecordingSink();
    const resumed = await runSearch(
      options({ steps: 6 }),
      fakeSearchDeps(new ScriptedCoder(printing(values, flagsAt)), new InterpretingExecutor(), sink),
      first.journal.nodes,
    );
    expect(
      sink.events.filter((e) => e.type === "best.improved").map((e) => e.type === "best.improved" && e.node.id),
    ).toEqual([1]);
    expect(resumed).toMatchObject({ lowerIsBetter: true });
    expect(resumed.best!.id).toBe(1);
  });

  it("flags a node that reports another metric than the run's: kept for display, never best", async () => {
    const codes = [
      "name=rmse metric=3 nodir",
      "name=mae metric=0.5 nodir",
      "name=RMSE metric=2.5 nodir",
      "name=root_mean_squared_error metric=2.8 nodir",
    ];
    const coder = new ScriptedCoder((_a, ctx) => codes[ctx.step]!);
    const sink = new RecordingSink();
    const result = await runSearch(
      options({ steps: 4, brief: { ...testBrief, task: "Predict y. Metric: RMSE (lower is better)." } }),
      fakeSearchDeps(coder, new InterpretingExecutor(), sink),
    );
    const mae = result.journal.get(1)!;
    expect(mae).toMatchObject({ buggy: false, unranked: "it reported mae, but this run is judged by rmse" });
    expect(mae.metric).toEqual({ name: "mae", value: 0.5, lowerIsBetter: true });
    expect(mae.analysis).toContain("Problem: it reported mae, but this run is judged by rmse; not ranked.");
    expect(result.journal.nodes.filter((n) => n.id !== 1).every((n) => n.unranked === null)).toBe(true);
    expect(sink.events.flatMap((e) => (e.type === "best.improved" ? [e.node.id] : []))).toEqual([0, 2]);
    expect(result.best!.id).toBe(2);
    expect(result.journal.best(true)!.id).toBe(2);
    expect(result.journal.rankedNodes.map((n) => n.id)).toEqual([0, 2, 3]);
    expect(result.metricName).toBe("rmse");
    // The coder still sees it in its memory, flagged.
    expect(coder.contexts[2]!.memory.map((m) => [m.id, m.unranked])).toEqual([
      [0, null],
      [1, mae.unranked],
    ]);
  });

  it("names the run's metric after its first ranked node when the task does not, also when resumed", async () => {
    const codes = ["name=rmse metric=3 nodir", "name=mae metric=0.5 nodir", "name=val_rmse metric=2 nodir"];
    const behaviour = (_a: Action, ctx: PromptContext) => codes[ctx.step]!;
    const first = await runSearch(
      options({ steps: 1 }),
      fakeSearchDeps(new ScriptedCoder(behaviour), new InterpretingExecutor(), new RecordingSink()),
    );
    expect(first).toMatchObject({ metricName: "rmse", lowerIsBetter: true });
    const resumed = await runSearch(
      options({ steps: 3 }),
      fakeSearchDeps(new ScriptedCoder(behaviour), new InterpretingExecutor(), new RecordingSink()),
      first.journal.nodes,
    );
    expect(resumed.journal.get(1)!.unranked).toBe("it reported mae, but this run is judged by rmse");
    expect(resumed.journal.get(2)!.unranked).toBeNull();
    expect(resumed).toMatchObject({ metricName: "rmse", lowerIsBetter: true });
    expect(resumed.best!.id).toBe(2);
  });
});

describe("search loop: the final refit", () => {
  class RecordingRefitter implements Refitter {
    readonly refitted: SolutionNode[] = [];
    constructor(private readonly answer: (node: SolutionNode) => Promise<RefitOutcome>) {}
    async refit(node: SolutionNode): Promise<RefitOutcome> {
      this.refitted.push(node);
      return this.answer(node);
    }
  }
  const rising = () => new ScriptedCoder((_a, ctx) => `metric=${(0.5 + ctx.step / 100).toFixed(2)}`);

  it("refits the best node once, after the last step and before run.finished, which carries the outcome", async () => {
    const sink = new RecordingSink();
    const refitter = new RecordingRefitter(async (node) => {
      // The last node is in the journal by the time the refit runs.
      expect(sink.events.filter((e) => e.type === "step.finished")).toHaveLength(6);
      return { ok: true, nodeId: node.id, submissionPath: "nodes/refit-0005/working/submission.csv", note: "refit" };
    });
    const result = await runSearch(
      options({ steps: 6 }),
      fakeSearchDeps(rising(), new InterpretingExecutor(), sink, { refit: refitter }),
    );
    expect(refitter.refitted.map((n) => n.id)).toEqual([result.best!.id]);
    const finished = sink.events.at(-1)!;
    expect(finished.type).toBe("run.finished");
    expect(finished.type === "run.finished" && finished.refit).toEqual(result.refit);
    expect(result.refit).toMatchObject({ ok: true, nodeId: result.best!.id });
  });

  it("turns a refit that throws into a note, and the run still finishes", async () => {
    const sink = new RecordingSink();
    const refitter = new RecordingRefitter(async () => {
      throw new Error("the sandbox is gone");
    });
    const result = await runSearch(
      options({ steps: 3 }),
      fakeSearchDeps(rising(), new InterpretingExecutor(), sink, { refit: refitter }),
    );
    expect(result.reason).toBe("steps");
    expect(result.refit).toMatchObject({ ok: false, nodeId: result.best!.id });
    expect(result.refit!.note).toMatch(/failed \(the sandbox is gone\); the node's own submission is delivered/);
    expect(sink.events.at(-1)!.type).toBe("run.finished");
  });

  it("does not refit a stopped run, and says so", async () => {
    const inbox = new QueueInbox();
    const sink = new RecordingSink();
    sink.onEvent = (e) => {
      if (e.type === "step.finished" && e.node.id === 1) inbox.push({ kind: "stop" });
    };
    const refitter = new RecordingRefitter(async () => {
      throw new Error("never called");
    });
    const result = await runSearch(
      options({ steps: 10 }),
      fakeSearchDeps(rising(), new InterpretingExecutor(), sink, { inbox, refit: refitter }),
    );
    expect(result.reason).toBe("stopped");
    expect(refitter.refitted).toEqual([]);
    expect(result.refit).toMatchObject({ ok: false, note: expect.stringMatching(/not refit: the run was stopped/) });
  });

  it("makes no refit without a refitter or without a best node", async () => {
    const plain = await runSearch(
      options({ steps: 2 }),
      fakeSearchDeps(rising(), new InterpretingExecutor(), new RecordingSink()),
    );
    expect(plain.refit).toBeNull();
    const refitter = new RecordingRefitter(async () => {
      throw new Error("never called");
    });
    const crashing = await runSearch(
      options({ steps: 2 }),
      fakeSearchDeps(new ScriptedCoder(() => "crash"), new InterpretingExecutor(), new RecordingSink(), {
        refit: refitter,
      }),
    );
    expect(crashing.best).toBeNull();
    expect(refitter.refitted).toEqual([]);
    expect(crashing.refit).toBeNull();
  });
});
