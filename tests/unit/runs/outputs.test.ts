import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { writeRunOutputs, type RunRecord } from "../../../src/runs/outputs.ts";
import { solutionNode } from "../../fakes/solution-nodes.ts";

describe("journal.json", () => {
  let dir: string | null = null;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = null;
  });

  it("keeps unranked nodes with their reason and gives ranked ones the run's direction and metric", async () => {
    dir = await mkdtemp(join(tmpdir(), "aide-outputs-"));
    const reason = "it reported mae, but this run is judged by rmse";
    // Node 0 was recorded before the run knew its direction; node 1 reports another metric.
    const nodes = [
      solutionNode(0, { metric: 2, metricName: "rmse", lowerIsBetter: null }),
      solutionNode(1, { metric: 0.4, metricName: "mae", lowerIsBetter: true, unranked: reason }),
      solutionNode(2, { metric: 3, metricName: "RMSE", lowerIsBetter: true }),
    ];
    const record: RunRecord = {
      runId: "r1",
      task: "t",
      coder: "c",
      executor: "e",
      lowerIsBetter: true,
      metricName: "rmse",
      best: nodes[0]!,
      nodes,
      usage: { promptTokens: 0, completionTokens: 0, costUsd: 0 },
      finishReason: "steps",
      guidance: [],
    };
    await writeRunOutputs({ outDir: dir, record, config: {}, readSubmission: async () => null });
    const journal = JSON.parse(await readFile(join(dir, "journal.json"), "utf8"));
    expect(journal).toMatchObject({ metricName: "rmse", lowerIsBetter: true, bestNodeId: 0 });
    expect(journal.nodes.map((n: { direction: string | null }) => n.direction)).toEqual([
      "lower_is_better",
      "lower_is_better",
      "lower_is_better",
    ]);
    expect(journal.nodes[1]).toMatchObject({ unranked: reason, metric: { name: "mae", value: 0.4 } });
    expect(journal.nodes[0].unranked).toBeUndefined();
  });

  it("writes an ensemble's member scripts beside its blend script", async () => {
    dir = await mkdtemp(join(tmpdir(), "aide-outputs-"));
    const members = [solutionNode(4, { code: "print('four')" }), solutionNode(2, { code: "print('two')\n" })];
    const blend = {
      ...solutionNode(7, { parentId: 4, code: "# blend of 4 and 2" }),
      stage: "ensemble" as const,
      members: [4, 2],
    };
    const nodes = [members[1]!, members[0]!, blend];
    const record: RunRecord = {
      runId: "r2",
      task: "t",
      coder: "c",
      executor: "e",
      lowerIsBetter: false,
      metricName: "roc_auc",
      best: blend,
      nodes,
      usage: { promptTokens: 0, completionTokens: 0, costUsd: 0 },
      finishReason: "steps",
      guidance: [],
    };
    const written = await writeRunOutputs({ outDir: dir, record, config: {}, readSubmission: async () => "id,y\n" });
    expect(await readFile(join(dir, "best_solution.py"), "utf8")).toBe("# blend of 4 and 2\n");
    expect(await readFile(join(dir, "ensemble_members", "node_0004.py"), "utf8")).toBe("print('four')\n");
    expect(await readFile(join(dir, "ensemble_members", "node_0002.py"), "utf8")).toBe("print('two')\n");
    expect(written.filter((p) => p.includes("ensemble_members"))).toHaveLength(2);
  });
});
