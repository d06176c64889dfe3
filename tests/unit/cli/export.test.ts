import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { exportRun, type ExportStore } from "../../../cli/commands/export.ts";
import type { SolutionNode } from "../../../src/search/types.ts";
import type { RunRecord } from "../../../src/store/types.ts";
import { runRecord, solutionNode } from "../../fakes/solution-nodes.ts";

/** The store as `aide export` reads it: one run, its journal, no submissions and no steering. */
function storeOf(run: RunRecord, nodes: SolutionNode[]): ExportStore {
  return {
    requireRun: async () => run,
    loadJournal: async () => nodes,
    getSubmission: async () => null,
    listSteers: async () => [],
  };
}

describe("aide export", () => {
  let dir: string | null = null;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = null;
  });

  it("writes the run's own metric name to journal.json and the tree page, as aide run does", async () => {
    dir = await mkdtemp(join(tmpdir(), "aide-export-"));
    // No ranked node: the one that works reports another metric than the run is judged by, so there is no best
    // node to take a metric name from; only the run knows it.
    const nodes = [
      solutionNode(0, { metric: null }),
      solutionNode(1, {
        metric: 0.4,
        metricName: "mae",
        lowerIsBetter: true,
        unranked: "it reported mae, but this run is judged by rmse",
      }),
    ];
    const run = runRecord({
      id: "rexport01",
      status: "finished",
      finishReason: "steps",
      progress: {
        step: 2,
        totalSteps: 2,
        nodes: 2,
        bestNodeId: null,
        bestMetric: null,
        bestHoldout: null,
        metricName: "rmse",
        lowerIsBetter: true,
        holdoutLine: null,
        delivered: null,
      },
    });
    const outDir = join(dir, "out");
    const written = await exportRun(storeOf(run, nodes), run.id, outDir, join(dir, "data"));
    expect(written.map((p) => p.slice(outDir.length + 1)).sort()).toEqual(["config.json", "journal.json", "tree.html"]);

    const journal = JSON.parse(await readFile(join(outDir, "journal.json"), "utf8"));
    expect(journal).toMatchObject({
      runId: "rexport01",
      metricName: "rmse",
      lowerIsBetter: true,
      bestNodeId: null,
      finishReason: "steps",
    });
    expect(await readFile(join(outDir, "tree.html"), "utf8")).toContain('"metricName":"rmse"');
  });

  it("writes the holdout each node was judged on, the split's size, what was delivered and the executor", async () => {
    dir = await mkdtemp(join(tmpdir(), "aide-export-"));
    const holdout = { name: "roc_auc", value: 0.79, lowerIsBetter: false };
    const nodes = [{ ...solutionNode(0, { metric: 0.8 }), holdout }, solutionNode(1, { metric: null })];
    const base = runRecord({ id: "rexport02", status: "finished", finishReason: "steps" });
    const run = runRecord({
      ...base,
      progress: {
        ...base.progress,
        bestNodeId: 0,
        bestMetric: 0.8,
        bestHoldout: 0.79,
        lowerIsBetter: false,
        holdoutLine:
          "holding out 210 of 1400 labelled rows to judge every script the same way (scripts never see which)",
        delivered: "node 0 refit on all 1400 labelled rows",
        executor: "docker (warm)",
      },
    });
    const outDir = join(dir, "out");
    await exportRun(storeOf(run, nodes), run.id, outDir, join(dir, "data"));
    const journal = JSON.parse(await readFile(join(outDir, "journal.json"), "utf8"));
    expect(journal.holdout).toMatch(/^holding out 210 of 1400 labelled rows/);
    expect(journal.delivered).toBe("node 0 refit on all 1400 labelled rows");
    expect(journal.executor).toBe("docker (warm)");
    expect(journal.nodes[0].holdout).toEqual(holdout);
    expect(journal.nodes[1].holdout).toBeUndefined();
  });
});
