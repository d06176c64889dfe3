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
});
