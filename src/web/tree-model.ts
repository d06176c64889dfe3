/**
 * What the tree page shows, computed on the server (the live page and the self-contained file draw the same
 * thing): the solution tree laid out top-down with d3-hierarchy's tidy tree, each node coloured by its metric
 * relative to the run's other working nodes (the best highlighted, buggy ones grey), and, per node, the detail
 * a click reveals (plan, highlighted code, metric, review findings, output).
 */
import { stratify, tree } from "d3-hierarchy";
import { bestNode, isRanked, recordedDirection } from "../search/journal.ts";
import { formatNumber, formatScores } from "../search/metric.ts";
import type { SolutionNode } from "../search/types.ts";
import type { RunProgress, RunRecord } from "../store/types.ts";
import { highlightPython } from "./highlight.ts";

/** Horizontal distance between neighbouring nodes and vertical distance between levels, in SVG units. */
export const NODE_SPACING = 64;
export const LEVEL_SPACING = 86;
export const NODE_RADIUS = 17;
const MARGIN = 40;

export const BUGGY_FILL = "#d0d0d0";
export const BUGGY_STROKE = "#c0392b";
export const BEST_STROKE = "#e0a800";

export interface TreeViewNode {
  id: number;
  parentId: number | null;
  stage: SolutionNode["stage"];
  /** Centre, in SVG units from the top-left corner. */
  x: number;
  y: number;
  buggy: boolean;
  best: boolean;
  metric: number | null;
  /** Worked, but reports another metric than the run's: not ranked, coloured like a node without a metric. */
  unranked: boolean;
  /** Short text under the node: the score that ranks it (its holdout score where it has one), or why it failed. */
  label: string;
  /** The node's scores in full ("auc: holdout 0.81 · validation 0.83"), or null when it has none. */
  scores: string | null;
  fill: string;
  stroke: string;
}

export interface TreeViewRun {
  id: string;
  task: string;
  status: RunRecord["status"];
  step: number;
  totalSteps: number;
  metricName: string | null;
  lowerIsBetter: boolean | null;
  bestNodeId: number | null;
  bestMetric: number | null;
  /** The best metric as the chat messages write it. */
  bestMetricText: string | null;
  /** The best node's scores as the chat messages write them ("auc: holdout 0.81 · validation 0.83"). */
  bestScoresText: string | null;
  coder: string;
  finished: boolean;
}

export interface TreeView {
  run: TreeViewRun;
  nodes: TreeViewNode[];
  edges: Array<{ from: number; to: number }>;
  width: number;
  height: number;
}

export interface NodeDetail {
  id: number;
  parentId: number | null;
  stage: SolutionNode["stage"];
  /** An ensemble's members, the best first; null for the other stages. */
  members: number[] | null;
  step: number;
  plan: string;
  /** The script as highlighted HTML (escaped by highlight.js). */
  codeHtml: string;
  /** The script as plain text (for copying). */
  code: string;
  metric: {
    name: string;
    value: number;
    lowerIsBetter: boolean | null;
    text: string;
    /** The holdout score beside the validation number, where the run judged the node on its holdout. */
    scores: string;
  } | null;
  /** Why the node's metric is not ranked against the run's, or null. */
  unranked: string | null;
  buggy: boolean;
  best: boolean;
  /** The review's findings: why the node is buggy, or what the reviewer noticed. */
  findings: string;
  output: string;
  execTimeMs: number;
  exitCode: number | null;
  timedOut: boolean;
  killed: boolean;
  submissionOk: boolean;
}

const TERMINAL = new Set(["finished", "stopped", "failed"]);

/** What the page needs of a run: a stored RunRecord, or what `aide run --out` knows of a terminal run. */
export interface TreeRunSource {
  id: string;
  task: string;
  status: RunRecord["status"];
  progress: Pick<RunProgress, "step" | "totalSteps" | "bestNodeId" | "metricName" | "lowerIsBetter">;
  /** The coder: a run's option ("offline", "openai") or, for `aide run`, the coder's own name ("offline (no model)"). */
  options: { coder: string };
}

/** The best working node: the run's record when it names one, else computed from the journal. */
export function bestNodeId(run: Pick<TreeRunSource, "progress">, journal: SolutionNode[]): number | null {
  if (run.progress.bestNodeId !== null && journal.some((n) => n.id === run.progress.bestNodeId))
    return run.progress.bestNodeId;
  const lower = run.progress.lowerIsBetter ?? recordedDirection(journal);
  return lower === null ? null : (bestNode(journal, lower)?.id ?? null);
}

/**
 * Colour of a working node by how good its metric is among the run's working nodes: from a pale amber
 * (worst) to a deep green (best). `t` is 0 for the worst and 1 for the best.
 */
export function metricColour(t: number): string {
  const c = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0.5));
  const hue = 40 + c * 95;
  const light = 78 - c * 40;
  return `hsl(${hue.toFixed(0)}, 62%, ${light.toFixed(0)}%)`;
}

function shortReason(n: SolutionNode): string {
  if (n.timedOut) return "timed out";
  if (n.killed) return "killed";
  if (n.exitCode !== null && n.exitCode !== 0) return `exit ${n.exitCode}`;
  return "buggy";
}

export function buildTreeView(run: TreeRunSource, journal: SolutionNode[]): TreeView {
  const nodes = [...journal].sort((a, b) => a.id - b.id);
  const ids = new Set(nodes.map((n) => n.id));
  const best = bestNodeId(run, nodes);
  // Ranked nodes only: an unranked node's value is of another metric. Without a direction, one middling colour.
  const good = nodes.filter((n) => isRanked(n) && Number.isFinite(n.metric!.value));
  const lowerIsBetter = run.progress.lowerIsBetter ?? recordedDirection(good);
  const values = good.map((n) => n.metric!.value);
  const lo = values.length ? Math.min(...values) : 0;
  const hi = values.length ? Math.max(...values) : 0;
  const quality = (v: number) =>
    lowerIsBetter === null ? 0.5 : hi - lo < 1e-12 ? 1 : lowerIsBetter ? (hi - v) / (hi - lo) : (v - lo) / (hi - lo);

  // One virtual root above the drafts, so the drafts sit side by side on the first level.
  const ROOT = -1;
  type Row = { id: number; parent: number | null };
  const rows: Row[] = [
    { id: ROOT, parent: null },
    ...nodes.map((n) => ({ id: n.id, parent: n.parentId !== null && ids.has(n.parentId) ? n.parentId : ROOT })),
  ];
  const root = stratify<Row>()
    .id((r) => String(r.id))
    .parentId((r) => (r.parent === null ? null : String(r.parent)))(rows);
  root.sort((a, b) => a.data.id - b.data.id);
  tree<Row>().nodeSize([NODE_SPACING, LEVEL_SPACING])(root);

  const placed = root.descendants().filter((d) => d.data.id !== ROOT);
  const minX = placed.length ? Math.min(...placed.map((d) => d.x!)) : 0;
  const maxX = placed.length ? Math.max(...placed.map((d) => d.x!)) : 0;
  const maxDepth = placed.length ? Math.max(...placed.map((d) => d.depth)) : 1;
  const byId = new Map(nodes.map((n) => [n.id, n]));

  const viewNodes: TreeViewNode[] = placed.map((d) => {
    const n = byId.get(d.data.id)!;
    const working = !n.buggy && !!n.metric && Number.isFinite(n.metric.value);
    const unranked = working && !isRanked(n);
    const isBest = n.id === best;
    return {
      id: n.id,
      parentId: n.parentId !== null && ids.has(n.parentId) ? n.parentId : null,
      stage: n.stage,
      x: d.x! - minX + MARGIN + NODE_RADIUS,
      y: (d.depth - 1) * LEVEL_SPACING + MARGIN + NODE_RADIUS,
      buggy: !working,
      best: isBest,
      metric: working ? n.metric!.value : null,
      unranked,
      label: unranked
        ? "unranked"
        : working
          ? formatNumber(n.holdout && Number.isFinite(n.holdout.value) ? n.holdout.value : n.metric!.value)
          : shortReason(n),
      scores: working ? formatScores(n, { spaced: true }) : null,
      fill: working && !unranked ? metricColour(quality(n.metric!.value)) : BUGGY_FILL,
      stroke: isBest ? BEST_STROKE : working ? "#2d6a4f" : BUGGY_STROKE,
    };
  });
  viewNodes.sort((a, b) => a.id - b.id);
  const edges = viewNodes.filter((n) => n.parentId !== null).map((n) => ({ from: n.parentId!, to: n.id }));
  return {
    run: {
      id: run.id,
      task: run.task,
      status: run.status,
      step: Math.min(run.progress.step, run.progress.totalSteps),
      totalSteps: run.progress.totalSteps,
      metricName: run.progress.metricName ?? good[0]?.metric?.name ?? null,
      lowerIsBetter,
      bestNodeId: best,
      bestMetric: best !== null ? (byId.get(best)?.metric?.value ?? null) : null,
      bestMetricText: best !== null && byId.get(best)?.metric ? formatNumber(byId.get(best)!.metric!.value) : null,
      bestScoresText: best !== null && byId.get(best)?.metric ? formatScores(byId.get(best)!, { spaced: true }) : null,
      coder: run.options.coder,
      finished: TERMINAL.has(run.status),
    },
    nodes: viewNodes,
    edges,
    width: Math.max(320, maxX - minX + 2 * (MARGIN + NODE_RADIUS)),
    height: Math.max(160, (maxDepth - 1) * LEVEL_SPACING + 2 * (MARGIN + NODE_RADIUS) + 20),
  };
}

export function nodeDetail(node: SolutionNode, bestId: number | null): NodeDetail {
  return {
    id: node.id,
    parentId: node.parentId,
    stage: node.stage,
    members: node.members ?? null,
    step: node.step,
    plan: node.plan,
    code: node.code,
    codeHtml: highlightPython(node.code),
    metric:
      node.metric && !node.buggy
        ? {
            name: node.metric.name,
            value: node.metric.value,
            lowerIsBetter: node.metric.lowerIsBetter,
            text: formatNumber(node.metric.value),
            scores: formatScores(
              { metric: node.metric, holdout: node.holdout ?? null, stage: node.stage },
              { spaced: true },
            ),
          }
        : null,
    unranked: node.unranked ?? null,
    buggy: node.buggy,
    best: node.id === bestId,
    findings: node.analysis,
    output: node.output,
    execTimeMs: node.execTimeMs,
    exitCode: node.exitCode,
    timedOut: node.timedOut,
    killed: node.killed,
    submissionOk: node.submissionOk,
  };
}
