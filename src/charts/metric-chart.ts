/**
 * The metric-over-steps chart of a run, as a PNG: Chart.js drawn on a Skia canvas (@napi-rs/canvas, prebuilt
 * binaries from npm; no browser, no system Cairo). Each working node is a point, the best-so-far is a stepped
 * line, and buggy nodes are crosses on the bottom of the axis.
 *
 * Drawn for the chat messages (src/runs/chat) and the tree pages (src/web); it depends on the search's journal
 * only, so both import it without importing each other.
 */
import { createCanvas } from "@napi-rs/canvas";
import { Chart, registerables, type ChartConfiguration, type Plugin } from "chart.js";
import type { Logger } from "../logger.ts";
import { isRanked, recordedDirection } from "../search/journal.ts";
import { isBetter } from "../search/metric.ts";
import type { SolutionNode } from "../search/types.ts";

Chart.register(...registerables);

export interface MetricChartOptions {
  /** What the chart is of, e.g. "run r-12"; the title adds the metric and its direction. */
  title?: string;
  /** "full" (900 x 500, the final summary and on demand) or "small" (600 x 320, each new best). */
  size?: "full" | "small";
  /** Pixels; override `size`. */
  width?: number;
  height?: number;
}

const SIZES = { full: { width: 900, height: 500 }, small: { width: 600, height: 320 } } as const;

/** "Metric over steps: run r-12 · roc_auc (higher is better)": the direction is always in the title once known. */
export function chartTitle(
  series: Pick<ReturnType<typeof chartSeries>, "metricName" | "lowerIsBetter">,
  subject?: string,
): string {
  const base = subject ? `Metric over steps: ${subject}` : "Metric over steps";
  if (series.lowerIsBetter === null) return base;
  return `${base} · ${series.metricName ?? "metric"} (${series.lowerIsBetter ? "lower is better ↓" : "higher is better ↑"})`;
}

interface Point {
  x: number;
  y: number;
}

/** Paints the background white (Chart.js leaves it transparent, which chat clients show as black or grey). */
const whiteBackground: Plugin<"line"> = {
  id: "aideWhiteBackground",
  beforeDraw(chart) {
    const ctx = chart.ctx;
    ctx.save();
    ctx.globalCompositeOperation = "destination-over";
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, chart.width, chart.height);
    ctx.restore();
  },
};

/** The series the chart shows, in node order; exported for tests. */
export function chartSeries(journal: SolutionNode[]): {
  good: Point[];
  /** The working nodes' holdout scores, where the run judged them on its hidden holdout. */
  holdout: Point[];
  /** The best score so far: on the holdout where the run has holdout scores (they decide its best), else validation. */
  bestSoFar: Point[];
  buggySteps: number[];
  metricName: string | null;
  lowerIsBetter: boolean | null;
} {
  const nodes = [...journal].sort((a, b) => a.id - b.id);
  const good: Point[] = [];
  const holdout: Point[] = [];
  const judged = nodes.some((n) => isRanked(n) && n.holdout && Number.isFinite(n.holdout.value));
  const bestSoFar: Point[] = [];
  const buggySteps: number[] = [];
  let best: number | null = null;
  let metricName: string | null = null;
  // Nodes recorded before the run knew its direction carry none; the later ones carry the run's.
  const lowerIsBetter = recordedDirection(nodes);
  for (const n of nodes) {
    const x = n.step + 1;
    if (n.buggy || !n.metric || !Number.isFinite(n.metric.value)) {
      buggySteps.push(x);
    } else if (isRanked(n)) {
      // Unranked nodes report another metric: their values are on another scale and stay off the chart.
      metricName ??= n.metric.name;
      good.push({ x, y: n.metric.value });
      const h = n.holdout && Number.isFinite(n.holdout.value) ? n.holdout : null;
      if (h) holdout.push({ x, y: h.value });
      if (judged) {
        if (h && (best === null || isBetter(h.value, best, h.lowerIsBetter))) best = h.value;
      } else if (lowerIsBetter !== null && (best === null || isBetter(n.metric.value, best, lowerIsBetter)))
        best = n.metric.value;
    }
    if (best !== null) bestSoFar.push({ x, y: best });
  }
  return { good, holdout, bestSoFar, buggySteps, metricName, lowerIsBetter };
}

/** Renders the run's metric over steps as a PNG. */
export async function metricChartPng(journal: SolutionNode[], opts: MetricChartOptions = {}): Promise<Buffer> {
  const size = SIZES[opts.size ?? "full"];
  const width = opts.width ?? size.width;
  const height = opts.height ?? size.height;
  const small = width < 800;
  const s = chartSeries(journal);
  const values = [...s.good, ...s.holdout].map((p) => p.y);
  let lo = values.length ? Math.min(...values) : 0;
  let hi = values.length ? Math.max(...values) : 1;
  if (hi - lo < 1e-12) {
    const pad = Math.abs(hi) * 0.05 || 0.5;
    lo -= pad;
    hi += pad;
  }
  const pad = (hi - lo) * 0.08;
  const yMin = lo - pad;
  const yMax = hi + pad;
  const steps = journal.length ? Math.max(...journal.map((n) => n.step + 1)) : 1;
  const yLabel = s.metricName ?? "validation metric";
  const subtitle = `${journal.length} nodes: ${s.good.length} working, ${s.buggySteps.length} buggy${s.good.length === 0 ? " (no working solution)" : ""}`;
  const font = { family: "DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif" };

  const config: ChartConfiguration<"line", Point[]> = {
    type: "line",
    data: {
      datasets: [
        {
          label: s.holdout.length ? "Best so far (holdout)" : "Best so far",
          data: s.bestSoFar,
          borderColor: "#1f77b4",
          backgroundColor: "#1f77b4",
          borderWidth: 2.5,
          stepped: "before",
          pointRadius: 0,
          fill: false,
          order: 2,
        },
        {
          label: s.holdout.length ? "Working solution (validation)" : "Working solution",
          data: s.good,
          showLine: false,
          borderColor: "#2ca02c",
          backgroundColor: "rgba(44, 160, 44, 0.75)",
          pointRadius: 5,
          pointStyle: "circle",
          order: 1,
        },
        {
          label: "Holdout score",
          data: s.holdout,
          showLine: false,
          borderColor: "#ff7f0e",
          backgroundColor: "rgba(255, 127, 14, 0.85)",
          pointRadius: 6,
          pointStyle: "triangle",
          order: 1,
        },
        {
          label: "Buggy step",
          data: s.buggySteps.map((x) => ({ x, y: yMin })),
          showLine: false,
          borderColor: "#d62728",
          backgroundColor: "#d62728",
          pointStyle: "crossRot",
          pointRadius: 7,
          borderWidth: 2,
          // Drawn on the x axis itself: not clipped to the plot area.
          clip: false,
          order: 0,
        },
      ],
    },
    options: {
      responsive: false,
      animation: false,
      devicePixelRatio: 1,
      parsing: false,
      layout: { padding: 12 },
      scales: {
        x: {
          type: "linear",
          min: 0,
          max: steps + 1,
          title: { display: true, text: "step", font: { ...font, size: 14 } },
          ticks: {
            stepSize: 1,
            precision: 0,
            font,
            // Only the steps themselves are labelled, not the margins at 0 and steps + 1.
            callback: (v) => (Number.isInteger(Number(v)) && Number(v) >= 1 && Number(v) <= steps ? String(v) : ""),
            autoSkip: true,
            maxTicksLimit: 30,
          },
          grid: { color: "#eeeeee" },
        },
        y: {
          type: "linear",
          min: yMin,
          max: yMax,
          title: { display: true, text: yLabel, font: { ...font, size: 14 } },
          // Round ticks only: the padded bounds would otherwise be labelled too (e.g. 67,128.6).
          ticks: { font, includeBounds: false },
          grid: { color: "#eeeeee" },
        },
      },
      plugins: {
        title: {
          display: true,
          text: chartTitle(s, opts.title),
          font: { ...font, size: small ? 14 : 18, weight: "bold" },
        },
        subtitle: { display: true, text: subtitle, font: { ...font, size: small ? 11 : 13 }, padding: { bottom: 8 } },
        // Only series that have points are listed (an all-buggy run shows no "working solution" entry).
        legend: {
          position: "bottom",
          labels: {
            usePointStyle: true,
            font,
            filter: (item, data) => (data.datasets[item.datasetIndex ?? 0]?.data.length ?? 0) > 0,
          },
        },
        tooltip: { enabled: false },
      },
    },
    plugins: [whiteBackground],
  };

  const canvas = createCanvas(width, height);
  // Chart.js reads the canvas through its 2D context; Skia's context implements the same API.
  const chart = new Chart(canvas.getContext("2d") as unknown as CanvasRenderingContext2D, config);
  try {
    chart.draw();
    return await canvas.encode("png");
  } finally {
    chart.destroy();
  }
}

/**
 * The chart for a chat message: null when there is nothing to draw yet, or when drawing failed (logged; the
 * message goes without it rather than not at all).
 */
export async function chartForMessage(
  runId: string,
  journal: SolutionNode[],
  log: Logger,
  size: "full" | "small" = "full",
): Promise<Buffer | null> {
  if (journal.length === 0) return null;
  try {
    return await metricChartPng(journal, { title: `run ${runId}`, size });
  } catch (err) {
    log.warn({ err, runId }, "could not draw the chart; the message goes without it");
    return null;
  }
}
