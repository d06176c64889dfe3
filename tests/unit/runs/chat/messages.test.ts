import { describe, expect, it } from "vitest";
import {
  bestMessage,
  changeText,
  chartMessage,
  coderLabel,
  failedMessage,
  finalSummary,
  helpMessage,
  newBestMessage,
  runListMessage,
  runningText,
  statusCard,
  steerAck,
  stepLine,
  treeMessage,
} from "../../../../src/runs/chat/messages.ts";
import type { ChatBlock, ChatMessage } from "../../../../src/runs/chat/types.ts";
import type { SolutionNode } from "../../../../src/search/types.ts";
import type { RunRecord } from "../../../../src/store/types.ts";

function run(over: Partial<RunRecord> = {}): RunRecord {
  return {
    id: "r0000abcd",
    task: "Predict house prices.\nMetric: RMSE.",
    links: ["https://x.test/d.zip"],
    options: { steps: 20, parallel: 1, coder: "offline", metric: null, timeoutSec: 600, budgetUsd: null },
    status: "running",
    owner: { platform: "slack", userId: "U1", displayName: "Ada" },
    origin: { platform: "slack", channel: "C1", thread: "1.2" },
    admins: [],
    followers: ["U1"],
    progress: {
      step: 4,
      totalSteps: 20,
      nodes: 3,
      bestNodeId: 2,
      bestMetric: 0.1234,
      bestHoldout: null,
      metricName: "rmse",
      lowerIsBetter: true,
      holdoutLine: null,
      delivered: null,
    },
    usage: { promptTokens: 0, completionTokens: 0, costUsd: 0 },
    error: null,
    finishReason: null,
    worker: null,
    createdAt: new Date(),
    updatedAt: new Date(),
    startedAt: new Date(),
    finishedAt: null,
    ...over,
  };
}

function node(id: number, value: number | null, over: Partial<SolutionNode> = {}): SolutionNode {
  return {
    id,
    parentId: null,
    step: id,
    stage: "draft",
    plan: "Use a gradient boosting model. Then tune it a lot.",
    code: Array.from({ length: 50 }, (_, i) => `line_${i + 1} = ${i}`).join("\n"),
    metric: value === null ? null : { name: "rmse", value, lowerIsBetter: true },
    buggy: value === null,
    analysis: value === null ? "ValueError: could not convert string to float. More text." : "",
    execTimeMs: 2300,
    exitCode: value === null ? 1 : 0,
    timedOut: false,
    killed: false,
    output: "",
    submissionOk: value !== null,
    submissionPath: null,
    usage: { promptTokens: 0, completionTokens: 0, costUsd: 0 },
    coder: "offline (no model)",
    createdAt: "2026-01-01T00:00:00.000Z",
    finishedAt: "2026-01-01T00:00:01.000Z",
    ...over,
  };
}

const blocks = <K extends ChatBlock["kind"]>(m: ChatMessage, kind: K) =>
  m.blocks.filter((b): b is Extract<ChatBlock, { kind: K }> => b.kind === kind);
const fieldsOf = (m: ChatMessage) =>
  Object.fromEntries(blocks(m, "fields").flatMap((b) => b.fields.map((f) => [f.label, f.value])));
const buttonsOf = (m: ChatMessage) => blocks(m, "buttons").flatMap((b) => b.buttons.map((x) => x.action));
const allText = (m: ChatMessage) => JSON.stringify(m.blocks) + m.text;

describe("status card", () => {
  it("shows the task's first line, step k of N, best, running now and the coder labelled offline", () => {
    const m = statusCard(run(), "step 5: improving node 2");
    expect(blocks(m, "header")[0]!.text).toBe("AIDE: Predict house prices.");
    const f = fieldsOf(m);
    expect(f.Step).toBe("4 of 20");
    expect(f["Best so far"]).toBe("rmse = 0.1234 (node 2)");
    expect(f["Running now"]).toBe("step 5: improving node 2");
    expect(f.Status).toBe("Running");
    expect(f.Coder).toBe("offline (no model)");
    expect(m.text).toContain("r0000abcd");
  });

  it("offers Pause, Stop and +10 while running; Resume while paused; nothing once terminal", () => {
    expect(buttonsOf(statusCard(run()))).toEqual(["pause", "stop", "more10"]);
    expect(buttonsOf(statusCard(run({ status: "queued" })))).toEqual(["pause", "stop", "more10"]);
    expect(buttonsOf(statusCard(run({ status: "paused" })))).toEqual(["resume", "stop", "more10"]);
    for (const status of ["finished", "stopped", "failed"] as const) {
      const m = statusCard(run({ status }));
      expect(buttonsOf(m)).toEqual([]);
      expect(fieldsOf(m)["Running now"]).toBeUndefined();
    }
    expect(blocks(statusCard(run()), "buttons")[0]!.buttons.every((b) => b.runId === "r0000abcd")).toBe(true);
  });

  it("says none yet without a best and shows the error of a failed run", () => {
    const m = statusCard(
      run({
        status: "failed",
        error: "Data not found",
        progress: { ...run().progress, bestNodeId: null, bestMetric: null },
      }),
    );
    expect(fieldsOf(m)["Best so far"]).toBe("none yet");
    expect(allText(m)).toContain("Data not found");
  });
});

describe("new best", () => {
  it("cuts the snippet at snippetLines with totalLines, attaches the script and mentions", () => {
    const m = newBestMessage(node(3, 0.1), node(1, 0.125), run(), { snippetLines: 12, mentions: ["U1", "U2", "U1"] });
    const code = blocks(m, "code")[0]!;
    expect(code.code.split("\n")).toHaveLength(12);
    expect(code.totalLines).toBe(50);
    expect(code.language).toBe("python");
    expect(m.files).toHaveLength(1);
    expect(m.files![0]!.name).toBe("best_node_3.py");
    expect(m.files![0]!.mime).toBe("text/x-python");
    expect(m.files![0]!.content.toString()).toContain("line_50 = 49");
    expect(m.mentions).toEqual(["U1", "U2"]);
    const f = fieldsOf(m);
    expect(f.Metric).toBe("rmse = 0.1 (lower is better)");
    expect(f.Change).toMatch(/^−0\.025 \(−20%\) vs node 1/);
    expect(f.Coder).toBe("offline (no model)");
    expect(allText(m)).toContain("Use a gradient boosting model.");
    expect(allText(m)).not.toContain("tune it a lot");
  });

  it("does not set totalLines when the script fits, and names the first solution", () => {
    const m = newBestMessage(node(0, 0.2, { code: "print(1)\nprint(2)\n" }), null, run(), {
      snippetLines: 30,
      mentions: [],
    });
    expect(blocks(m, "code")[0]!.totalLines).toBeUndefined();
    expect(fieldsOf(m).Change).toBe("first working solution");
    expect(m.mentions).toBeUndefined();
  });

  it("shows increases for higher-is-better metrics", () => {
    const a = node(1, null, { metric: { name: "auc", value: 0.8, lowerIsBetter: false }, buggy: false });
    const b = node(2, null, { metric: { name: "auc", value: 0.84, lowerIsBetter: false }, buggy: false });
    expect(changeText(b, a)).toMatch(/^\+0\.04 \(\+5%\) vs node 1/);
  });
});

describe("final summary", () => {
  const journal = [node(0, 0.3), node(1, null), node(2, 0.2)];

  it("has outcome, best, counts, the chart, the script and the submission, and mentions followers", () => {
    const m = finalSummary({
      run: run({ status: "finished" }),
      journal,
      best: journal[2]!,
      reason: "steps",
      chart: Buffer.from("png"),
      submission: "id,price\n1,2\n",
      mentions: ["U1", "U9"],
    });
    const f = fieldsOf(m);
    expect(f.Outcome).toMatch(/finished all its steps/);
    expect(f.Best).toBe("rmse = 0.2 (lower is better), node 2");
    expect(f.Nodes).toBe("3 (2 working, 1 buggy)");
    expect(f["Tokens / cost"]).toBeUndefined();
    expect(m.files!.map((x) => [x.name, x.mime])).toEqual([
      ["aide_r0000abcd_metric.png", "image/png"],
      ["best_node_2.py", "text/x-python"],
      ["submission.csv", "text/csv"],
    ]);
    expect(m.mentions).toEqual(["U1", "U9"]);
  });

  it("shows usage when tokens were spent, and survives a run with no working solution", () => {
    const m = finalSummary({
      run: run({ usage: { promptTokens: 1000, completionTokens: 234, costUsd: 0.0123 } }),
      journal: [node(0, null)],
      best: null,
      reason: "stopped",
    });
    expect(fieldsOf(m)["Tokens / cost"]).toBe("1,234 tokens, $0.0123");
    expect(fieldsOf(m).Best).toBe("no working solution");
    expect(m.files).toBeUndefined();
    expect(fieldsOf(m).Outcome).toMatch(/was stopped/);
  });

  it("shows the holdout score beside the validation number, and measures the change on the holdout", () => {
    const judged = (id: number, value: number, holdout: number) =>
      node(id, value, { holdout: { name: "rmse", value: holdout, lowerIsBetter: true } });
    const m = newBestMessage(judged(3, 0.25, 0.2), judged(1, 0.21, 0.3), run());
    expect(m.text).toBe(
      "New best in run r0000abcd: node 3, rmse: holdout 0.2 · validation 0.25 (−0.1 (−33.333%) on the holdout vs node 1 (0.3))",
    );
    expect(fieldsOf(m).Metric).toBe("rmse: holdout 0.2 · validation 0.25 (lower is better)");
    const card = statusCard(
      run({ progress: { ...run().progress, bestHoldout: 0.2, holdoutLine: "holding out 150 of 1000 labelled rows" } }),
    );
    expect(fieldsOf(card)["Best so far"]).toBe("rmse: holdout 0.2 · validation 0.1234 (node 2)");
    expect(blocks(card, "context").map((b) => b.text)).toContain("Holding out 150 of 1000 labelled rows");
    const summary = finalSummary({
      run: run(),
      journal: [judged(3, 0.25, 0.2)],
      best: judged(3, 0.25, 0.2),
      reason: "steps",
    });
    expect(fieldsOf(summary).Best).toBe("rmse: holdout 0.2 · validation 0.25 (lower is better), node 3");
  });

  it("shows an ensemble as the blend of its members, on the card and while it runs", () => {
    const card = statusCard(
      run({
        progress: { ...run().progress, bestNodeId: 9, bestMetric: 0.18, bestHoldout: 0.18, bestMembers: [4, 2, 7] },
      }),
      runningText([{ nodeId: 11, action: { kind: "ensemble", members: [4, 2, 10] } }]),
    );
    expect(fieldsOf(card)["Best so far"]).toBe("rmse: holdout 0.18 (node 9, ensemble of #4, #2, #7)");
    expect(fieldsOf(card)["Running now"]).toBe("step 12: blending #4, #2, #10");
    const blend: SolutionNode = {
      ...node(9, 0.18, { holdout: { name: "rmse", value: 0.18, lowerIsBetter: true } }),
      stage: "ensemble",
      parentId: 4,
      members: [4, 2, 7],
    };
    expect(stepLine(blend).text).toMatch(/^Step 10 \(node 9, ensemble of #4, #2, #7\): rmse: holdout 0\.18/);
    expect(fieldsOf(newBestMessage(blend, null, run())).Step).toBe("10 of 20 (ensemble of #4, #2, #7)");
    const members = [4, 2, 7].map((id) => node(id, 0.2));
    const summary = finalSummary({ run: run(), journal: [...members, blend], best: blend, reason: "steps" });
    expect(summary.files!.map((f) => f.name)).toEqual([
      "best_node_9.py",
      "member_node_4.py",
      "member_node_2.py",
      "member_node_7.py",
    ]);
  });

  it("says what was delivered: the refit on all the labelled rows, or why the node's own submission", () => {
    const summary = (refit: Parameters<typeof finalSummary>[0]["refit"]) =>
      fieldsOf(finalSummary({ run: run({ status: "finished" }), journal, best: journal[2]!, reason: "steps", refit }));
    expect(
      summary({ ok: true, nodeId: 2, submissionPath: "nodes/refit-0002/working/submission.csv", note: "node 2 refit" })
        .Delivered,
    ).toBe("node 2 refit");
    expect(summary({ ok: false, nodeId: 2, note: "the refit failed (it timed out)" }).Delivered).toBe(
      "the refit failed (it timed out)",
    );
    expect(summary(null).Delivered).toBeUndefined();
  });

  it("says when the cost is unknown, and shows reasoning tokens, on the summary and the card", () => {
    const usage = { promptTokens: 9345, completionTokens: 3000, reasoningTokens: 2000, costUsd: 0, costUnknown: true };
    const m = finalSummary({ run: run({ usage }), journal: [node(0, null)], best: null, reason: "steps" });
    expect(fieldsOf(m)["Tokens / cost"]).toBe("12,345 tokens (2,000 reasoning), cost unknown");
    expect(fieldsOf(statusCard(run({ usage: { ...usage, costUsd: 0.5 } }))).Usage).toBe(
      "12,345 tokens (2,000 reasoning), $0.5000 + unknown",
    );
  });
});

describe("other messages", () => {
  it("labels the coder offline wherever it is named", () => {
    expect(coderLabel("offline")).toBe("offline (no model)");
    expect(coderLabel("offline (no model)")).toBe("offline (no model)");
    expect(coderLabel("openai")).toBe("openai");
    const best = bestMessage(node(2, 0.2, { coder: "offline" }), run());
    expect(fieldsOf(best).Coder).toBe("offline (no model)");
  });

  it("acknowledges steering, failures, help and lists", () => {
    expect(steerAck("now using a random forest", { kind: "guidance", text: "rf", author: "Bob" }).text).toBe(
      "Guidance applied: now using a random forest",
    );
    expect(allText(steerAck("x", { kind: "guidance", text: "rf", author: "Bob" }))).toContain("from Bob");
    expect(failedMessage("404 at https://x", ["U1"])).toMatchObject({
      text: "The run failed: 404 at https://x",
      mentions: ["U1"],
    });
    const help = helpMessage('Unknown command "x".');
    expect(help.text).toMatch(/^Unknown command/);
    expect(allText(help)).toContain("/aide start");
    expect(allText(helpMessage(undefined, { thread: true }))).toContain("verbose on|off");
    expect(allText(helpMessage(undefined, { platform: "discord" }))).toContain("/aide start task:");
    expect(allText(helpMessage(undefined, { platform: "slack" }))).toContain("--steps 20");
    expect(runListMessage([]).text).toMatch(/No runs/);
    expect(allText(runListMessage([run(), run({ id: "r0000beef", status: "finished" })]))).toContain("r0000beef");
  });

  it("draws the tree with the best starred, and a compact step line", () => {
    const j = [
      node(0, 0.3),
      node(1, null),
      node(2, 0.2, { parentId: 0, stage: "improve" }),
      node(3, 0.25, { parentId: 1, stage: "debug" }),
    ];
    const t = treeMessage(j);
    const code = blocks(t, "code")[0]!.code;
    expect(code.split("\n")).toEqual([
      "#0 draft: rmse=0.3",
      "└─ #2 improve: rmse=0.2  ★ best",
      "#1 draft: buggy (ValueError: could not convert string to float.)",
      "└─ #3 debug: rmse=0.25",
    ]);
    expect(stepLine(j[1]!).text).toBe(
      "Step 2 (node 1, draft): buggy (ValueError: could not convert string to float.), 2.3 s",
    );
    expect(stepLine(j[2]!).text).toBe("Step 3 (node 2, improve of node 0): rmse=0.2, 2.3 s");
  });
});

describe("unranked nodes and an unknown direction in messages", () => {
  it("marks an unranked node in the tree and never stars it, and stars nothing while the direction is unknown", () => {
    const mae = node(1, 0.01, {
      metric: { name: "mae", value: 0.01, lowerIsBetter: true },
      unranked: "it reported mae, but this run is judged by rmse",
    });
    const code = blocks(treeMessage([node(0, 0.3), mae]), "code")[0]!.code;
    expect(code.split("\n")).toEqual(["#0 draft: rmse=0.3  ★ best", "#1 draft: mae=0.01 (not ranked)"]);
    expect(stepLine(mae).text).toContain("mae=0.01 (not ranked)");
    const unknown = [node(0, 0.3, { metric: { name: "rmse", value: 0.3, lowerIsBetter: null } })];
    expect(blocks(treeMessage(unknown), "code")[0]!.code).toBe("#0 draft: rmse=0.3");
  });
});

describe("tree page links and charts in messages", () => {
  const url = "https://aide.example.com/runs/r0000abcd?token=abc";
  const png = Buffer.from("png-bytes");

  it("links the status card to the live tree page, and the final summary and the tree reply to the tree", () => {
    expect(blocks(statusCard(run(), undefined, url), "link")).toEqual([
      { kind: "link", url, label: "Watch the solution tree live" },
    ]);
    expect(blocks(statusCard(run({ status: "finished" }), undefined, url), "link")[0]!.label).toBe(
      "Open the solution tree",
    );
    expect(blocks(statusCard(run()), "link")).toEqual([]);
    const journal = [node(0, 0.2), node(1, null)];
    expect(
      blocks(
        finalSummary({ run: run({ status: "finished" }), journal, best: journal[0]!, reason: "steps", treeUrl: url }),
        "link",
      )[0]!.url,
    ).toBe(url);
    expect(blocks(treeMessage(journal, { treeUrl: url }), "link")[0]!.url).toBe(url);
    expect(blocks(treeMessage([], { treeUrl: url }), "link")[0]!.url).toBe(url);
  });

  it("attaches a chart to a new best when one is given", () => {
    const with_ = newBestMessage(node(3, 0.1), null, run(), { chart: png });
    expect(with_.files!.map((f) => [f.name, f.mime])).toEqual([
      ["best_node_3.py", "text/x-python"],
      ["aide_r0000abcd_metric_node3.png", "image/png"],
    ]);
    expect(with_.files![1]!.content).toBe(png);
    expect(newBestMessage(node(3, 0.1), null, run()).files!.map((f) => f.name)).toEqual(["best_node_3.py"]);
  });

  it("posts the chart on demand, or says there is nothing to chart yet", () => {
    const m = chartMessage(run(), png, url);
    expect(m.files).toEqual([
      { name: "aide_r0000abcd_metric.png", content: png, mime: "image/png", title: "Metric over steps" },
    ]);
    expect(m.text).toContain("best rmse = 0.1234 (node 2)");
    expect(blocks(m, "link")[0]!.url).toBe(url);
    const none = chartMessage(run({ progress: { ...run().progress, nodes: 0 } }), null);
    expect(none.files).toBeUndefined();
    expect(none.text).toContain("no finished step to chart yet");
  });
});
