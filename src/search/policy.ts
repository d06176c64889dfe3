import { choose } from "./rng.ts";
import type { Journal } from "./journal.ts";
import type { Action, NodeId, Rng } from "./types.ts";

/** A step that has started but not finished; policies see them so parallel steps do not collide. */
export interface PendingStep {
  id: NodeId;
  action: Action;
}

/** Decides what the next step does. Implementations must draw randomness only from `rng`. */
export interface Policy {
  readonly name: string;
  next(journal: Journal, rng: Rng, pending: readonly PendingStep[], lowerIsBetter: boolean | null): Action;
}

export interface GreedyPolicyOptions {
  numDrafts: number;
  debugProb: number;
  maxDebugDepth: number;
}

export const AIDE_POLICY_DEFAULTS: GreedyPolicyOptions = { numDrafts: 5, debugProb: 0.5, maxDebugDepth: 3 };

/**
 * AIDE's greedy policy: draft while fewer than `numDrafts` drafts exist; then, with probability `debugProb`,
 * debug a random buggy leaf whose debug depth is below `maxDebugDepth`; else improve the best ranked node; else,
 * while no node is ranked, improve a random unranked one (a good node that reported another metric than the
 * run's, so that it can report the run's); else draft. In-flight drafts count as drafts, and a buggy node that is
 * already being debugged is no longer a leaf.
 */
export class GreedyPolicy implements Policy {
  readonly name = "aide-greedy";

  constructor(private readonly options: GreedyPolicyOptions = AIDE_POLICY_DEFAULTS) {}

  next(journal: Journal, rng: Rng, pending: readonly PendingStep[] = [], lowerIsBetter: boolean | null = null): Action {
    const pendingDrafts = pending.filter((p) => p.action.kind === "draft").length;
    if (journal.drafts.length + pendingDrafts < this.options.numDrafts) return { kind: "draft" };

    if (rng.next() < this.options.debugProb) {
      const busy = new Set(pending.flatMap((p) => (p.action.kind === "draft" ? [] : [p.action.parent])));
      const debuggable = journal.buggyNodes.filter(
        // A node without code is a step whose coder gave no script: there is nothing to debug in it.
        (n) =>
          n.code.trim() !== "" &&
          journal.isLeaf(n.id) &&
          !busy.has(n.id) &&
          journal.debugDepth(n.id) < this.options.maxDebugDepth,
      );
      if (debuggable.length > 0) return { kind: "debug", parent: choose(rng, debuggable).id };
    }

    const best = lowerIsBetter === null ? null : journal.best(lowerIsBetter);
    if (best) return { kind: "improve", parent: best.id };
    const unranked = journal.rankedNodes.length === 0 ? journal.goodNodes : [];
    if (unranked.length > 0) return { kind: "improve", parent: choose(rng, unranked).id };
    return { kind: "draft" };
  }
}
