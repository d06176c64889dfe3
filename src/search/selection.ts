/**
 * How a run with a hidden holdout tells its best nodes: one selection score per judged node, on the holdout's
 * scale, used for the best node (the one improve builds on and the one delivered) and for an ensemble's members.
 *
 * A holdout of a few hundred rows is noisy: climbing on it alone follows that noise (a chain of small changes
 * that each gain a little on the same rows), and the bench measured that it then delivers worse than the
 * scripts' own validation numbers. Those numbers are less noisy where a script validates on many rows, but each
 * is on a split of its own, and a leaky or lucky split lies. So a script's score is its holdout score and its own
 * validation number, weighed equally, where the two agree: the validation number is first moved by the run's
 * common gap between the two (the median over the scripts: the held-out rows may be easier or harder than the
 * rest), and trusted only within `AGREEMENT_LIMIT` standard errors of the holdout score. Elsewhere (no
 * validation in the run's metric, one that disagrees, a journal without standard errors) the holdout score alone
 * counts. An ensemble has no validation of its own: its score is that of its best member plus what the blend
 * gained over that member on the holdout (both on the same rows, so the difference is fair).
 */
import { canonicalMetricName } from "./metric-names.ts";
import { isBetter } from "./metric.ts";
import type { NodeId, SolutionNode } from "./types.ts";

/** The weight of a script's own validation number beside its holdout score, where the two agree. */
export const VALIDATION_WEIGHT = 0.5;
/** How many of the holdout score's standard errors a validation number may be away from it and still count. */
export const AGREEMENT_LIMIT = 3;

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
  const scores = new Map<NodeId, number>();
  for (const node of scripts) {
    const h = node.holdout!.value;
    const v = validationOf(node);
    const se = node.holdout!.stdError;
    const agrees = v !== null && se !== undefined && Math.abs(v - gap - h) <= AGREEMENT_LIMIT * se;
    scores.set(node.id, agrees ? (1 - VALIDATION_WEIGHT) * h + VALIDATION_WEIGHT * (v - gap) : h);
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
