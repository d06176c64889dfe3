import { UNNAMED_METRIC } from "./metric-names.ts";
import type { MetricReport, SolutionNode } from "./types.ts";

/** The prefix of the one line a script prints to report its validation metric. */
export const METRIC_LINE_PREFIX = "AIDE_METRIC";

/**
 * Reads the last well-formed `AIDE_METRIC {...}` line of a script's output. The JSON must carry a finite
 * numeric `value` (integers count); `name` defaults to "metric"; `lower_is_better` is null when absent so
 * the run's fixed direction (or the review) decides.
 */
export function parseMetricLine(output: string): MetricReport | null {
  const lines = output.split(/\r?\n/);
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!.trim();
    const at = line.indexOf(METRIC_LINE_PREFIX);
    if (at < 0) continue;
    const json = line.slice(at + METRIC_LINE_PREFIX.length).trim();
    if (!json.startsWith("{")) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch {
      continue;
    }
    if (typeof parsed !== "object" || parsed === null) continue;
    const rec = parsed as Record<string, unknown>;
    const value = typeof rec.value === "string" ? Number(rec.value) : rec.value;
    if (typeof value !== "number" || !Number.isFinite(value)) continue;
    const name = typeof rec.name === "string" && rec.name.trim() ? rec.name.trim() : UNNAMED_METRIC;
    const lib = rec.lower_is_better;
    return { name, value, lowerIsBetter: typeof lib === "boolean" ? lib : null };
  }
  return null;
}

/** True when `a` is strictly better than `b` under the given direction. */
export function isBetter(a: number, b: number, lowerIsBetter: boolean): boolean {
  return lowerIsBetter ? a < b : a > b;
}

/** Short display of a metric value: up to 5 significant digits, integers as they are; marked when not ranked. */
export function formatMetric(metric: MetricReport | null, unranked?: string | null): string {
  if (!metric) return "-";
  return `${metric.name}=${formatNumber(metric.value)}${unranked ? " (not ranked)" : ""}`;
}

/**
 * A node's scores for display: its holdout score beside its own validation number where the run judged it on
 * the hidden holdout ("auc: holdout 0.8123 · validation 0.829"), else the validation metric as `formatMetric`
 * shows it; an ensemble, whose metric is its holdout score, shows that alone ("auc: holdout 0.8201"). `spaced` puts
 * spaces around the "=" (chat messages: "auc = 0.829").
 */
export function formatScores(
  node: Pick<SolutionNode, "metric" | "holdout" | "unranked"> & { stage?: SolutionNode["stage"] },
  opts: { spaced?: boolean } = {},
): string {
  const { metric, holdout } = node;
  if (!metric && !holdout) return "-";
  const suffix = node.unranked ? " (not ranked)" : "";
  if (!holdout || !Number.isFinite(holdout.value)) {
    const plain = formatMetric(metric, node.unranked);
    return opts.spaced ? plain.replace("=", " = ") : plain;
  }
  const validation = metric && node.stage !== "ensemble" ? ` · validation ${formatNumber(metric.value)}` : "";
  return `${metric?.name ?? holdout.name}: holdout ${formatNumber(holdout.value)}${validation}${suffix}`;
}

export function formatNumber(value: number): string {
  if (Number.isInteger(value)) return String(value);
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) return value.toExponential(3);
  return String(Number(value.toPrecision(5)));
}
