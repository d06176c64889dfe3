import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createCanvas, loadImage } from "@napi-rs/canvas";
import { describe, expect, it } from "vitest";
import { chartSeries, chartTitle, metricChartPng } from "../../../src/charts/metric-chart.ts";
import type { SolutionNode } from "../../../src/search/types.ts";

function node(id: number, value: number | null, lowerIsBetter: boolean | null = true, name = "rmse"): SolutionNode {
  return {
    id,
    parentId: null,
    step: id,
    stage: "draft",
    plan: "",
    code: "",
    buggy: value === null,
    metric: value === null ? null : { name, value, lowerIsBetter },
    analysis: "",
    execTimeMs: 0,
    exitCode: 0,
    timedOut: false,
    killed: false,
    output: "",
    submissionOk: true,
    submissionPath: null,
    usage: { promptTokens: 0, completionTokens: 0, costUsd: 0 },
    coder: "offline (no model)",
    createdAt: "",
    finishedAt: "",
  };
}

function pngSize(png: Buffer): { width: number; height: number } {
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  expect(png.subarray(12, 16).toString("latin1")).toBe("IHDR");
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

/** The chart's series colours: best-so-far line, working points (75% alpha on white), buggy crosses. */
const BLUE = [31, 119, 180];
const GREEN = [75, 184, 75];
const RED = [214, 39, 40];

interface Pixels {
  width: number;
  height: number;
  /** Pixels within a small distance of `rgb`, as [x, y]. */
  near(rgb: number[], tolerance?: number): Array<[number, number]>;
  /** Pixels that are clearly not background (text, axes, series). */
  inked(): number;
}

async function pixels(png: Buffer): Promise<Pixels> {
  const img = await loadImage(png);
  const canvas = createCanvas(img.width, img.height);
  const ctx = canvas.getContext("2d");
  ctx.drawImage(img, 0, 0);
  const data = ctx.getImageData(0, 0, img.width, img.height).data;
  const at = (i: number) => [data[i]!, data[i + 1]!, data[i + 2]!];
  return {
    width: img.width,
    height: img.height,
    near(rgb, tolerance = 30) {
      const out: Array<[number, number]> = [];
      for (let i = 0; i < data.length; i += 4) {
        const [r, g, b] = at(i);
        if (
          Math.abs(r! - rgb[0]!) <= tolerance &&
          Math.abs(g! - rgb[1]!) <= tolerance &&
          Math.abs(b! - rgb[2]!) <= tolerance
        ) {
          const p = i / 4;
          out.push([p % img.width, Math.floor(p / img.width)]);
        }
      }
      return out;
    },
    inked() {
      let n = 0;
      for (let i = 0; i < data.length; i += 4) if (data[i]! < 160 && data[i + 1]! < 160 && data[i + 2]! < 160) n++;
      return n;
    },
  };
}

function meanY(points: Array<[number, number]>, fromX: number, toX: number): number {
  const ys = points.filter(([x]) => x >= fromX && x < toX).map(([, y]) => y);
  expect(ys.length).toBeGreaterThan(0);
  return ys.reduce((a, b) => a + b, 0) / ys.length;
}

const OUT_DIR = join(process.cwd(), "test-output");

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

  it("plots the holdout scores beside the validation numbers, and the best so far on the holdout", async () => {
    const judged = (id: number, validation: number | null, holdout: number) => ({
      ...node(id, validation),
      ...(validation === null ? {} : { holdout: { name: "rmse", value: holdout, lowerIsBetter: true } }),
    });
    // Node 2 reports the best validation number, but node 3 does best on the holdout.
    const s = chartSeries([judged(0, 0.3, 0.35), judged(1, null, 0), judged(2, 0.2, 0.33), judged(3, 0.25, 0.3)]);
    expect(s.good.map((p) => p.y)).toEqual([0.3, 0.2, 0.25]);
    expect(s.holdout).toEqual([
      { x: 1, y: 0.35 },
      { x: 3, y: 0.33 },
      { x: 4, y: 0.3 },
    ]);
    expect(s.bestSoFar.map((p) => p.y)).toEqual([0.35, 0.35, 0.33, 0.3]);
    expect(chartSeries(journal).holdout).toEqual([]);
    // The holdout triangles are drawn in orange (85% alpha on white), on a chart without them there is none.
    const orange = [255, 140, 40];
    const withHoldout = await pixels(await metricChartPng([judged(0, 0.3, 0.35), judged(1, 0.2, 0.33)]));
    expect(withHoldout.near(orange, 25).length).toBeGreaterThan(40);
    const without = await pixels(await metricChartPng([node(0, 0.3), node(1, 0.2)]));
    expect(without.near(orange, 25).length).toBeLessThan(5);
  });

  it("leaves unranked nodes off the chart and draws no best-so-far line until the direction is known", () => {
    const mae: SolutionNode = {
      ...node(1, 0.01, true, "mae"),
      unranked: "it reported mae, but this run is judged by rmse",
    };
    const s = chartSeries([node(0, 0.3, null), mae, node(2, 0.2)]);
    expect(s.good).toEqual([
      { x: 1, y: 0.3 },
      { x: 3, y: 0.2 },
    ]);
    expect(s.bestSoFar.map((p) => p.y)).toEqual([0.3, 0.3, 0.2]);
    expect(s.buggySteps).toEqual([]);
    const unknown = chartSeries([node(0, 0.3, null), node(1, 0.2, null)]);
    expect(unknown).toMatchObject({ bestSoFar: [], lowerIsBetter: null });
  });

  it("puts the metric's direction in the title once it is known", () => {
    expect(chartTitle(chartSeries(journal), "run r1")).toBe("Metric over steps: run r1 · rmse (lower is better ↓)");
    expect(chartTitle(chartSeries([node(0, 0.9, false, "roc_auc")]))).toContain("roc_auc (higher is better ↑)");
    expect(chartTitle(chartSeries([node(0, null)]), "run r1")).toBe("Metric over steps: run r1");
  });

  it("renders full and small sizes", async () => {
    const png = await metricChartPng(journal, { title: "run r0000abcd" });
    expect(pngSize(png)).toEqual({ width: 900, height: 500 });
    mkdirSync(OUT_DIR, { recursive: true });
    writeFileSync(join(OUT_DIR, "chart-minimise.png"), png);
    expect(pngSize(await metricChartPng(journal, { size: "small" }))).toEqual({ width: 600, height: 320 });
    expect(pngSize(await metricChartPng(journal, { width: 400, height: 300 }))).toEqual({ width: 400, height: 300 });
  });

  it("draws an empty run as axes and text only, without any series", async () => {
    const px = await pixels(await metricChartPng([]));
    expect([px.width, px.height]).toEqual([900, 500]);
    expect(px.inked()).toBeGreaterThan(500); // title, subtitle, axes, tick labels
    expect(px.near(BLUE)).toHaveLength(0);
    expect(px.near(GREEN)).toHaveLength(0);
    expect(px.near(RED)).toHaveLength(0);
  });

  it("draws an all-buggy run as red crosses only", async () => {
    const px = await pixels(await metricChartPng([node(0, null), node(1, null), node(2, null)]));
    expect(px.near(RED).length).toBeGreaterThan(3 * 20);
    expect(px.near(BLUE)).toHaveLength(0);
    expect(px.near(GREEN)).toHaveLength(0);
  });

  it("draws a maximised metric's best-so-far line rising and a minimised one falling", async () => {
    const rising = [0.6, 0.65, 0.62, 0.75, 0.8, 0.78, 0.9].map((v, i) => node(i, v, false, "accuracy"));
    const falling = [0.9, 0.85, 0.88, 0.7, 0.65, 0.66, 0.5].map((v, i) => node(i, v, true, "rmse"));
    for (const [j, direction] of [
      [rising, "up"],
      [falling, "down"],
    ] as const) {
      const png = await metricChartPng(j, { title: `a ${direction} run` });
      const px = await pixels(png);
      const blue = px.near(BLUE, 20);
      const green = px.near(GREEN, 35);
      expect(blue.length).toBeGreaterThan(300);
      expect(green.length).toBeGreaterThan(7 * 20);
      expect(px.near(RED)).toHaveLength(0);
      // Image y grows downwards: a rising line sits higher (smaller y) on the right than on the left.
      const left = meanY(blue, 0, px.width * 0.3);
      const right = meanY(blue, px.width * 0.7, px.width);
      if (direction === "up") expect(right).toBeLessThan(left - 50);
      else expect(right).toBeGreaterThan(left + 50);
      if (direction === "up") writeFileSync(join(OUT_DIR, "chart-maximise.png"), png);
    }
  });
});
