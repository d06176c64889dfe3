import { beforeAll, describe, expect, it } from "vitest";
import type { SolutionNode } from "../../../src/search/types.ts";
import {
  IllegalTransitionError,
  RunNotFoundError,
  ThreadBoundError,
  type NewRun,
  type Store,
} from "../../../src/store/index.ts";
import { useMongo } from "../../support/mongo.ts";

const mongo = useMongo();
let store: Store;

beforeAll(async () => {
  store = await mongo.connect();
});

let counter = 0;
function newRun(over: Partial<NewRun> = {}): NewRun {
  counter++;
  return {
    task: `predict things ${counter}`,
    links: ["https://example.com/data.zip"],
    options: { steps: 10, parallel: 2, coder: "offline", metric: "rmse", timeoutSec: 600, budgetUsd: null },
    owner: { platform: "slack", userId: "U1", displayName: "Ada" },
    origin: { platform: "slack", channel: "C1", thread: null },
    ...over,
  };
}

function node(id: number, over: Partial<SolutionNode> = {}): SolutionNode {
  return {
    id,
    parentId: id === 0 ? null : id - 1,
    step: id,
    stage: id === 0 ? "draft" : "improve",
    plan: `plan ${id}`,
    code: `print(${id})`,
    metric: { name: "rmse", value: 1 / (id + 1), lowerIsBetter: true },
    unranked: null,
    buggy: false,
    analysis: "fine",
    execTimeMs: 1200,
    exitCode: 0,
    timedOut: false,
    killed: false,
    output: "AIDE_METRIC ...",
    submissionOk: true,
    submissionPath: `nodes/${id}/submission.csv`,
    usage: { promptTokens: 100, completionTokens: 50, costUsd: 0.01 },
    coder: "offline",
    createdAt: new Date(Date.UTC(2026, 0, 1, 0, id)).toISOString(),
    finishedAt: new Date(Date.UTC(2026, 0, 1, 0, id, 30)).toISOString(),
    ...over,
  };
}

describe("runs", () => {
  it("creates and reads a run", async () => {
    const run = await store.createRun(newRun({ admins: ["U2"], followers: ["U3"] }));
    expect(run.id).toMatch(/^r[0-9a-z]{8}$/);
    expect(run.status).toBe("queued");
    expect(run.progress).toEqual({
      step: 0,
      totalSteps: 10,
      nodes: 0,
      bestNodeId: null,
      bestMetric: null,
      bestHoldout: null,
      metricName: null,
      lowerIsBetter: null,
      holdoutLine: null,
      executor: null,
      delivered: null,
    });
    expect(run.usage).toEqual({ promptTokens: 0, completionTokens: 0, costUsd: 0 });
    expect(run.createdAt).toBeInstanceOf(Date);
    const again = await store.getRun(run.id);
    expect(again).toEqual(run);
    expect(await store.getRun("nope")).toBeNull();
    await expect(store.requireRun("nope")).rejects.toBeInstanceOf(RunNotFoundError);
  });

  it("refuses a second run with the same explicit id", async () => {
    await store.createRun(newRun({ id: "fixed-id-1" }));
    await expect(store.createRun(newRun({ id: "fixed-id-1" }))).rejects.toMatchObject({ code: "run-exists" });
  });

  it("walks the legal life cycle and stamps times", async () => {
    const run = await store.createRun(newRun());
    const running = await store.transition(run.id, ["queued"], "running");
    expect(running.status).toBe("running");
    expect(running.startedAt).toBeInstanceOf(Date);
    const paused = await store.transition(run.id, ["running"], "paused");
    expect(paused.status).toBe("paused");
    const resumed = await store.transition(run.id, ["paused"], "running");
    expect(resumed.startedAt).toEqual(running.startedAt);
    const done = await store.transition(run.id, ["running"], "finished", { finishReason: "steps" });
    expect(done.status).toBe("finished");
    expect(done.finishReason).toBe("steps");
    expect(done.finishedAt).toBeInstanceOf(Date);
    const failed = await store.createRun(newRun());
    const f = await store.transition(failed.id, ["queued"], "failed", { error: "no data" });
    expect(f.error).toBe("no data");
  });

  it("refuses illegal transitions without touching the run", async () => {
    const run = await store.createRun(newRun());
    await expect(store.transition(run.id, ["queued"], "paused")).rejects.toBeInstanceOf(IllegalTransitionError);
    await expect(store.transition(run.id, ["queued"], "finished")).rejects.toBeInstanceOf(IllegalTransitionError);
    await store.transition(run.id, ["queued"], "stopped");
    for (const to of ["running", "queued", "paused", "failed"] as const) {
      const err = await store.transition(run.id, ["stopped"], to).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(IllegalTransitionError);
      expect((err as IllegalTransitionError).current).toBeUndefined();
    }
    expect((await store.getRun(run.id))!.status).toBe("stopped");
  });

  it("refuses a legal transition from a status the run is not in, and names the current one", async () => {
    const run = await store.createRun(newRun());
    const err = await store.transition(run.id, ["running"], "paused").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IllegalTransitionError);
    expect((err as IllegalTransitionError).current).toBe("queued");
    await expect(store.transition("missing-run", ["queued"], "running")).rejects.toBeInstanceOf(RunNotFoundError);
  });

  it("lets exactly one of many concurrent transitions win", async () => {
    const run = await store.createRun(newRun());
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => store.transition(run.id, ["queued"], i % 2 ? "running" : "stopped")),
    );
    const won = results.filter((r) => r.status === "fulfilled");
    expect(won).toHaveLength(1);
    for (const r of results) if (r.status === "rejected") expect(r.reason).toBeInstanceOf(IllegalTransitionError);
    const winner = (won[0] as PromiseFulfilledResult<{ status: string }>).value.status;
    expect((await store.getRun(run.id))!.status).toBe(winner);
  });

  it("updates progress, options, admins and followers", async () => {
    const run = await store.createRun(newRun());
    expect(
      await store.updateProgress(run.id, {
        step: 3,
        bestNodeId: 2,
        bestMetric: 0.42,
        bestHoldout: 0.45,
        metricName: "rmse",
        lowerIsBetter: true,
      }),
    ).toBe(true);
    const r = await store.getRun(run.id);
    expect(r!.progress).toMatchObject({
      step: 3,
      totalSteps: 10,
      bestNodeId: 2,
      bestMetric: 0.42,
      bestHoldout: 0.45,
      metricName: "rmse",
      lowerIsBetter: true,
    });
    expect(await store.updateProgress("missing", { step: 1 })).toBe(false);
    const more = await store.updateOptions(run.id, { steps: 20 });
    expect(more.options.steps).toBe(20);
    expect(more.progress.totalSteps).toBe(20);
    await store.addFollower(run.id, "U9");
    await store.addFollower(run.id, "U9");
    await store.addAdmin(run.id, "U7");
    const after = await store.getRun(run.id);
    expect(after!.followers).toEqual(["U9"]);
    expect(after!.admins).toEqual(["U7"]);
  });

  it("lists runs newest first with status, platform, channel and owner filters", async () => {
    const a = await store.createRun(newRun({ origin: { platform: "discord", channel: "D-list", thread: null } }));
    await new Promise((r) => setTimeout(r, 5));
    const b = await store.createRun(
      newRun({
        origin: { platform: "discord", channel: "D-list", thread: null },
        owner: { platform: "discord", userId: "u-b", displayName: "B" },
      }),
    );
    await new Promise((r) => setTimeout(r, 5));
    const c = await store.createRun(newRun({ origin: { platform: "discord", channel: "D-other", thread: null } }));
    await store.transition(b.id, ["queued"], "running");
    const inChannel = await store.listRuns({ platform: "discord", channel: "D-list" });
    expect(inChannel.map((r) => r.id)).toEqual([b.id, a.id]);
    expect(
      (await store.listRuns({ platform: "discord", channel: "D-list", status: "running" })).map((r) => r.id),
    ).toEqual([b.id]);
    expect((await store.listRuns({ platform: "discord", status: ["queued"] })).map((r) => r.id)).toEqual([c.id, a.id]);
    expect((await store.listRuns({ platform: "discord", limit: 1 })).map((r) => r.id)).toEqual([c.id]);
    expect((await store.listRuns({ ownerId: "u-b" })).map((r) => r.id)).toEqual([b.id]);
    expect(await store.listRuns({ platform: "cli" })).toEqual([]);
  });
});

describe("workers", () => {
  it("claims, heartbeats, refuses a live claim, takes over a stale one, releases", async () => {
    const run = await store.createRun(newRun());
    const claimed = await store.claim(run.id, "w1", 60_000);
    expect(claimed!.worker!.id).toBe("w1");
    expect(await store.claim(run.id, "w2", 60_000)).toBeNull();
    expect(await store.claim(run.id, "w1", 60_000)).not.toBeNull();
    expect(await store.heartbeat(run.id, "w1")).toBe(true);
    expect(await store.heartbeat(run.id, "w2")).toBe(false);
    await store.transition(run.id, ["queued"], "running");
    await new Promise((r) => setTimeout(r, 30));
    expect((await store.staleRuns(10)).map((r) => r.id)).toContain(run.id);
    expect((await store.staleRuns(60_000)).map((r) => r.id)).not.toContain(run.id);
    const taken = await store.claim(run.id, "w2", 10);
    expect(taken!.worker!.id).toBe("w2");
    expect(await store.heartbeat(run.id, "w1")).toBe(false);
    expect(await store.release(run.id, "w1")).toBe(false);
    expect(await store.release(run.id, "w2")).toBe(true);
    expect((await store.getRun(run.id))!.worker).toBeNull();
    await store.transition(run.id, ["running"], "finished");
    expect(await store.claim(run.id, "w3", 0)).toBeNull();
  });

  it("lets one of two concurrent claims win", async () => {
    const run = await store.createRun(newRun());
    const res = await Promise.all(["a", "b", "c", "d"].map((w) => store.claim(run.id, w, 60_000)));
    expect(res.filter((r) => r !== null)).toHaveLength(1);
  });
});

describe("journal", () => {
  it("appends nodes idempotently and loads them in id order", async () => {
    const run = await store.createRun(newRun());
    expect(await store.appendNode(run.id, node(1))).toEqual({ inserted: true });
    expect(await store.appendNode(run.id, node(0))).toEqual({ inserted: true });
    expect(await store.appendNode(run.id, node(1, { plan: "changed" }))).toEqual({ inserted: false });
    await Promise.all([
      store.appendNode(run.id, node(2)),
      store.appendNode(run.id, node(2)),
      store.appendNode(run.id, node(2)),
    ]);
    const journal = await store.loadJournal(run.id);
    expect(journal.map((n) => n.id)).toEqual([0, 1, 2]);
    expect(journal[1]).toEqual(node(1));
    expect(journal[0]!.parentId).toBeNull();
    expect(
      await mongo.connect().then((s) => s.connection.collection("solution_nodes").countDocuments({ runId: run.id })),
    ).toBe(3);
    const r = await store.getRun(run.id);
    expect(r!.progress.nodes).toBe(3);
    expect(r!.usage.promptTokens).toBe(300);
    expect(r!.usage.completionTokens).toBe(150);
    expect(r!.usage.costUsd).toBeCloseTo(0.03);
    // A node's holdout score is kept with it, with its standard error where it has one.
    const scored = node(3, { holdout: { name: "rmse", value: 0.25, lowerIsBetter: true } });
    await store.appendNode(run.id, scored);
    expect((await store.loadJournal(run.id))[3]).toEqual(scored);
    const spread = node(4, { holdout: { name: "rmse", value: 0.2, lowerIsBetter: true, stdError: 0.03 } });
    await store.appendNode(run.id, spread);
    expect((await store.loadJournal(run.id))[4]).toEqual(spread);
    expect(await store.getNode(run.id, 2)).toEqual(node(2));
    expect(await store.getNode(run.id, 9)).toBeNull();
  });

  it("keeps a buggy node's nulls", async () => {
    const run = await store.createRun(newRun());
    const buggy = node(0, {
      metric: null,
      buggy: true,
      exitCode: null,
      timedOut: true,
      submissionOk: false,
      submissionPath: null,
    });
    await store.appendNode(run.id, buggy);
    expect(await store.loadJournal(run.id)).toEqual([buggy]);
    expect(await store.loadJournal("other-run")).toEqual([]);
  });

  it("keeps an unranked node's reason and a direction not known yet", async () => {
    const run = await store.createRun(newRun());
    const early = node(0, { metric: { name: "rmse", value: 2, lowerIsBetter: null } });
    const mae = node(1, {
      metric: { name: "mae", value: 0.4, lowerIsBetter: true },
      unranked: "it reported mae, but this run is judged by rmse",
    });
    await store.appendNode(run.id, early);
    await store.appendNode(run.id, mae);
    expect(await store.loadJournal(run.id)).toEqual([early, mae]);
  });
});

describe("steering", () => {
  it("assigns increasing seqs, lists unapplied oldest first, marks applied once", async () => {
    const run = await store.createRun(newRun());
    const a = await store.addSteer(
      run.id,
      { kind: "guidance", text: "try gradient boosting", author: "Ada" },
      { platform: "slack", userId: "U1", displayName: "Ada" },
    );
    const b = await store.addSteer(run.id, { kind: "pause" });
    const c = await store.addSteer(run.id, { kind: "more", steps: 5 });
    expect([a.seq, b.seq, c.seq]).toEqual([1, 2, 3]);
    expect(a.id).toBe(`${run.id}:1`);
    expect(a.author).toEqual({ platform: "slack", userId: "U1", displayName: "Ada" });
    expect((await store.unappliedSteers(run.id)).map((s) => s.command)).toEqual([
      { kind: "guidance", text: "try gradient boosting", author: "Ada" },
      { kind: "pause" },
      { kind: "more", steps: 5 },
    ]);
    expect(await store.markSteerApplied(b.id, "paused after step 3")).toBe(true);
    expect(await store.markSteerApplied(b.id, "again")).toBe(false);
    expect(await store.markSteerApplied("missing:1", "x")).toBe(false);
    expect((await store.unappliedSteers(run.id)).map((s) => s.seq)).toEqual([1, 3]);
    const all = await store.listSteers(run.id);
    expect(all[1]!.note).toBe("paused after step 3");
    expect(all[1]!.appliedAt).toBeInstanceOf(Date);
    await expect(store.addSteer("missing-run", { kind: "stop" })).rejects.toBeInstanceOf(RunNotFoundError);
  });

  it("gives concurrent adds distinct, gapless seqs per run", async () => {
    const r1 = await store.createRun(newRun());
    const r2 = await store.createRun(newRun());
    const added = await Promise.all(
      Array.from({ length: 20 }, (_, i) => store.addSteer(i % 2 ? r1.id : r2.id, { kind: "guidance", text: `g${i}` })),
    );
    for (const runId of [r1.id, r2.id]) {
      const seqs = added
        .filter((s) => s.runId === runId)
        .map((s) => s.seq)
        .sort((x, y) => x - y);
      expect(seqs).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
      expect((await store.unappliedSteers(runId)).map((s) => s.seq)).toEqual(seqs);
    }
  });
});

describe("thread bindings", () => {
  it("binds a thread to a run and finds the run by thread", async () => {
    const run = await store.createRun(newRun({ origin: { platform: "slack", channel: "C-bind", thread: null } }));
    const b = await store.bindThread({
      platform: "slack",
      channel: "C-bind",
      thread: "1700000000.000100",
      runId: run.id,
      rootMessageId: "1700000000.000100",
    });
    expect(b).toMatchObject({
      id: "slack:C-bind:1700000000.000100",
      runId: run.id,
      rootMessageId: "1700000000.000100",
    });
    expect((await store.findRunByThread("slack", "C-bind", "1700000000.000100"))!.id).toBe(run.id);
    expect((await store.getRun(run.id))!.origin.thread).toBe("1700000000.000100");
    expect(await store.findRunByThread("slack", "C-bind", "other")).toBeNull();
    expect(await store.findRunByThread("discord", "C-bind", "1700000000.000100")).toBeNull();
    // rebinding to the same run is fine and can update the root message
    const again = await store.bindThread({
      platform: "slack",
      channel: "C-bind",
      thread: "1700000000.000100",
      runId: run.id,
      rootMessageId: "m2",
    });
    expect(again.rootMessageId).toBe("m2");
    expect(again.createdAt).toEqual(b.createdAt);
    expect((await store.bindingsForRun(run.id)).map((x) => x.id)).toEqual([b.id]);
  });

  it("refuses to bind a thread to a second run", async () => {
    const r1 = await store.createRun(newRun());
    const r2 = await store.createRun(newRun());
    await store.bindThread({ platform: "discord", channel: "D1", thread: "T1", runId: r1.id });
    const err = await store
      .bindThread({ platform: "discord", channel: "D1", thread: "T1", runId: r2.id })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ThreadBoundError);
    expect((err as ThreadBoundError).runId).toBe(r1.id);
    expect((await store.findRunByThread("discord", "D1", "T1"))!.id).toBe(r1.id);
  });

  it("lets one of two concurrent binds of a thread win", async () => {
    const runs = await Promise.all([store.createRun(newRun()), store.createRun(newRun()), store.createRun(newRun())]);
    const res = await Promise.allSettled(
      runs.map((r) => store.bindThread({ platform: "slack", channel: "C-race", thread: "T", runId: r.id })),
    );
    expect(res.filter((r) => r.status === "fulfilled")).toHaveLength(1);
  });
});

describe("indexes", () => {
  it("declares the lookup indexes", async () => {
    const names = async (c: string) =>
      (await store.connection.collection(c).listIndexes().toArray()).map((i) => JSON.stringify(i.key));
    expect(await names("runs")).toEqual(
      expect.arrayContaining([
        JSON.stringify({ "origin.platform": 1, "origin.channel": 1, createdAt: -1 }),
        JSON.stringify({ status: 1, createdAt: -1 }),
      ]),
    );
    expect(await names("solution_nodes")).toContain(JSON.stringify({ runId: 1, id: 1 }));
    expect(await names("steer_messages")).toContain(JSON.stringify({ runId: 1, appliedAt: 1, seq: 1 }));
    expect(await names("thread_bindings")).toContain(JSON.stringify({ runId: 1 }));
  });
});

describe("submissions", () => {
  it("keeps a node's submission once and reads it back", async () => {
    const { mkdtempSync, writeFileSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const dir = mkdtempSync(join(tmpdir(), "aide-sub-"));
    const run = await store.createRun(newRun());
    writeFileSync(join(dir, "a.csv"), "id,y\n1,0.5\n");
    expect(await store.saveSubmission(run.id, 3, join(dir, "a.csv"))).toBe(true);
    writeFileSync(join(dir, "b.csv"), "id,y\n1,0.9\n");
    expect(await store.saveSubmission(run.id, 3, join(dir, "b.csv"))).toBe(true);
    expect(await store.getSubmission(run.id, 3)).toBe("id,y\n1,0.5\n");
    expect(await store.getSubmission(run.id, 4)).toBeNull();
    // The refit's submission, delivered in place of the node's own.
    expect(await store.saveSubmission(run.id, 3, join(dir, "b.csv"), { replace: true })).toBe(true);
    expect(await store.getSubmission(run.id, 3)).toBe("id,y\n1,0.9\n");
  });
});

describe("holdout plans", () => {
  it("keeps a run's plan with its record, the first one kept staying", async () => {
    const run = await store.createRun(newRun());
    expect(await store.loadHoldoutPlan(run.id)).toBeNull();
    const plan = JSON.stringify({
      on: true,
      hidden: Array.from({ length: 2000 }, (_, row) => ({ row, id: `h${row}` })),
    });
    expect(await store.saveHoldoutPlan(run.id, plan)).toBe(true);
    expect(await store.saveHoldoutPlan(run.id, JSON.stringify({ on: false }))).toBe(true);
    expect(await store.loadHoldoutPlan(run.id)).toBe(plan);
  });
});
