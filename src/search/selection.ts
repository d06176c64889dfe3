/**
 * How a run with a hidden holdout tells its best nodes: one selection score per judged node, on the holdout's
 * scale, used for the best node (the one improve builds on and the one delivered) and for an ensemble's members.
 *
 * A holdout of a few hundred rows is noisy: climbing on it alone follows that noise (a chain of small changes
 * that each gain a little on the same rows), and the bench measured that it then delivers worse than the
 * scripts' own validation numbers. Those numbers are less noisy where a script validates on many rows, but each
 * is on a split of its own, and a leaky or lucky split lies. So a script's score blends its holdout score and its
 * own validation number, each weighed by how precise it is (inverse variance):
 * - the validation number is first moved by the run's common gap between the two (the median over the scripts:
 *   the held-out rows may be easier or harder than the rest);
 * - the holdout score's variance is its bootstrap standard error squared;
 * - the validation numbers' variance is what the spread of (moved validation − holdout) over the run's scripts
 *   shows beyond the holdout's own noise (a robust spread, so a few leaks do not set it). Scripts that each pick
 *   a lucky split of their own spread wide, and their numbers count for little; scripts that validate alike on
 *   many rows spread no wider than the holdout's noise, and their numbers count for up to
 *   `MAX_VALIDATION_WEIGHT`, so the holdout always has a say. Below `MIN_SPREAD_SCRIPTS` scripts there is no
 *   spread to read, and the two weigh equally;
 * - a validation number farther from the holdout score than `AGREEMENT_LIMIT` standard deviations of their
 *   difference (a leak, a split of another kind) does not count: the holdout score alone does.
 * Where there is no validation in the run's metric, or no standard error (an older journal), the holdout score
 * alone counts. An ensemble has no validation of its own: its score is that of its best member plus what the blend
 * gained over that member on the holdout (both on the same rows, so the difference is fair).
 */
import { canonicalMetricName } from "./metric-names.ts";
import { isBetter } from "./metric.ts";
import type { NodeId, SolutionNode } from "./types.ts";

/** The most a script's own validation number may weigh beside its holdout score. */
export const MAX_VALIDATION_WEIGHT = 0.8;
/** How many standard deviations of (validation − holdout) a validation number may be away and still count. */
export const AGREEMENT_LIMIT = 3;
/** The fewest scripts with both numbers from which the validation numbers' spread is read. */
export const MIN_SPREAD_SCRIPTS = 3;
/** Scales a median absolute deviation to a standard deviation (for normally spread values). */
const MAD_TO_SD = 1.4826;

/** A judged node: it worked, reported the run's metric and has a holdout score. */
function isJudged(node: SolutionNode): boolean {
  return (
    !node.buggy &&
    node.metric !== null &&
    !node.unranked &&
    Number.isFinite(node.metric.value) &&
    node.holdout !== null &&
    node.holdout !== undefined &&
    Number.isFinite(node.holdout.value)
  );
}

/** The node's validation number, where it is in the holdout's metric (else null). */
function validationOf(node: SolutionNode): number | null {
  const { metric, holdout } = node;
  if (!metric || !holdout) return null;
  return canonicalMetricName(metric.name) === canonicalMetricName(holdout.name) ? metric.value : null;
}

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * The variance of the scripts' moved validation numbers about the truth, as far as the run shows it: the robust
 * spread of (moved validation − holdout) squared, less the holdout scores' own typical variance (never below 0).
 * Null when fewer than `MIN_SPREAD_SCRIPTS` scripts have both numbers and a standard error.
 */
function validationVarianceOf(scripts: readonly SolutionNode[], gap: number): number | null {
  const residuals: number[] = [];
  const holdoutVariances: number[] = [];
  for (const node of scripts) {
    const v = validationOf(node);
    const se = node.holdout!.stdError;
    if (v === null || se === undefined) continue;
    residuals.push(v - gap - node.holdout!.value);
    holdoutVariances.push(se * se);
  }
  if (residuals.length < MIN_SPREAD_SCRIPTS) return null;
  const spread = MAD_TO_SD * median(residuals.map(Math.abs));
  return Math.max(0, spread * spread - median(holdoutVariances));
}

/**
 * The selection scores of the judged nodes among `nodes` (see the file's comment), in the holdout's direction;
 * nodes without a holdout score have none.
 */
export function selectionScores(nodes: readonly SolutionNode[]): Map<NodeId, number> {
  const judged = nodes.filter(isJudged);
  const scripts = judged.filter((n) => n.stage !== "ensemble");
  const gaps = scripts.flatMap((n) => {
    const v = validationOf(n);
    return v === null ? [] : [v - n.holdout!.value];
  });
  const gap = gaps.length ? median(gaps) : 0;
  const validationVariance = validationVarianceOf(scripts, gap);
  const scores = new Map<NodeId, number>();
  for (const node of scripts) {
    const h = node.holdout!.value;
    const v = validationOf(node);
    const se = node.holdout!.stdError;
    if (v === null || se === undefined) {
      scores.set(node.id, h);
      continue;
    }
    const holdoutVariance = se * se;
    // With no spread to read, the validation number is taken to be as noisy as the holdout score.
    const vv = validationVariance ?? holdoutVariance;
    const agrees = Math.abs(v - gap - h) <= AGREEMENT_LIMIT * Math.sqrt(holdoutVariance + vv);
    const total = holdoutVariance + vv;
    const weight = total > 0 ? Math.min(MAX_VALIDATION_WEIGHT, holdoutVariance / total) : MAX_VALIDATION_WEIGHT;
    scores.set(node.id, agrees ? (1 - weight) * h + weight * (v - gap) : h);
  }
  for (const node of judged) {
    if (node.stage !== "ensemble") continue;
    const h = node.holdout!.value;
    const lower = node.holdout!.lowerIsBetter;
    let best: SolutionNode | null = null;
    for (const id of node.members ?? []) {
      const member = scripts.find((n) => n.id === id);
      if (member && (!best || isBetter(scores.get(member.id)!, scores.get(best.id)!, lower))) best = member;
    }
    scores.set(node.id, best ? scores.get(best.id)! + (h - best.holdout!.value) : h);
  }
  return scores;
}

/**
 * The judged nodes among `nodes`, best first by their selection scores (ties: the earlier node); empty when none
 * has a holdout score.
 */
export function rankBySelection(nodes: readonly SolutionNode[]): SolutionNode[] {
  const scores = selectionScores(nodes);
  const judged = nodes.filter((n) => scores.has(n.id));
  return judged.sort((a, b) => {
    const lower = a.holdout!.lowerIsBetter;
    const x = scores.get(a.id)!;
    const y = scores.get(b.id)!;
    if (isBetter(x, y, lower)) return -1;
    if (isBetter(y, x, lower)) return 1;
    return a.id - b.id;
  });
}
