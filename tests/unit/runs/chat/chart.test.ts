import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { chartSeries, metricChartPng } from "../../../../src/runs/chat/chart.ts";
import type { SolutionNode } from "../../../../src/search/types.ts";

function node(id: number, value: number | null, lowerIsBetter = true): SolutionNode {
  return {
    id, parentId: null, step: id, stage: "draft", plan: "", code: "", buggy: value === null,
    metric: value === null ? null : { name: "rmse", value, lowerIsBetter },
    analysis: "", execTimeMs: 0, exitCode: 0, timedOut: false, killed: false, output: "", submissionOk: true,
    submissionPath: null, usage: { promptTokens: 0, completionTokens: 0, costUsd: 0 }, coder: "offline (no model)",
    createdAt: "", finishedAt: "",
  };
}

function pngSize(png: Buffer): { width: number; height: number } {
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  expect(png.subarray(12, 16).toString("latin1")).toBe("IHDR");
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

describe("metric chart", () => {
  const journal = [0.31, null, 0.27, 0.29, null, 0.22].map((v, i) => node(i, v));

  it("computes the points, the best-so-far line and the buggy steps", () => {
    const s = chartSeries(journal);
    expect(s.good.map((p) => p.x)).toEqual([1, 3, 4, 6]);
    expect(s.bestSoFar.map((p) => p.y)).toEqual([0.31, 0.31, 0.27, 0.27, 0.27, 0.22]);
    expect(s.buggySteps).toEqual([2, 5]);
    expect(s.metricName).toBe("rmse");
    const up = chartSeries([node(0, 0.7, false), node(1, 0.6, false), node(2, 0.8, false)]);
    expect(up.bestSoFar.map((p) => p.y)).toEqual([0.7, 0.7, 0.8]);
  });

  it("renders a PNG of the requested size", async () => {
    const png = await metricChartPng(journal, { title: "Metric over steps: run r0000abcd" });
    expect(pngSize(png)).toEqual({ width: 900, height: 500 });
    expect(png.length).toBeGreaterThan(5000);
    writeFileSync(join(tmpdir(), "aide-chart-test.png"), png);
    const small = await metricChartPng(journal, { width: 400, height: 300 });
    expect(pngSize(small)).toEqual({ width: 400, height: 300 });
  });

  it("renders runs with only buggy nodes, one node, or none", async () => {
    for (const j of [[node(0, null), node(1, null)], [node(0, 0.5)], []]) {
      expect(pngSize(await metricChartPng(j)).width).toBe(900);
    }
  });
});
