import { choose } from "./rng.ts";
import { bestNode, type Journal } from "./journal.ts";
import { rankBySelection } from "./selection.ts";
import type { EnsembleAction, NodeId, Rng, SolutionNode, StepAction } from "./types.ts";

/** A step that has started but not finished; policies see them so parallel steps do not collide. */
export interface PendingStep {
  id: NodeId;
  action: StepAction;
}

/** The node a step builds on: the parent of an improve or debug, an ensemble's best member; null for a draft. */
export function parentOfAction(action: StepAction): NodeId | null {
  switch (action.kind) {
    case "draft":
      return null;
    case "ensemble":
      return action.members[0] ?? null;
    default:
      return action.parent;
  }
}

/** Decides what the next step does. Implementations must draw randomness only from `rng`. */
export interface Policy {
  readonly name: string;
  /** `stepsLeft` counts the steps the run may still start, this one included. */
  next(
    journal: Journal,
    rng: Rng,
    pending: readonly PendingStep[],
    lowerIsBetter: boolean | null,
    stepsLeft?: number,
  ): StepAction;
}

/** When the policy blends the best nodes (a run with a hidden holdout only: a blend is judged there). */
export interface EnsembleRule {
  /** Nodes blended: the best this many by their holdout scores (fewer working nodes: no ensemble). */
  size: number;
  /** Steps since the best last improved after which a blend is tried. */
  patience: number;
}

export interface GreedyPolicyOptions {
  numDrafts: number;
  debugProb: number;
  maxDebugDepth: number;
  /** Ensembles, for a run with a hidden holdout; none without. */
  ensemble?: EnsembleRule;
}

export const AIDE_POLICY_DEFAULTS: GreedyPolicyOptions = { numDrafts: 5, debugProb: 0.5, maxDebugDepth: 3 };

export const ENSEMBLE_DEFAULTS: EnsembleRule = { size: 3, patience: 3 };

/**
 * AIDE's greedy policy: draft while fewer than `numDrafts` drafts exist; then, with probability `debugProb`,
 * debug a random buggy leaf whose debug depth is below `maxDebugDepth`; else improve the best ranked node; else,
 * while no node is ranked, improve a random unranked one (a good node that reported another metric than the
 * run's, so that it can report the run's); else draft. In-flight drafts count as drafts, and a buggy node that is
 * already being debugged is no longer a leaf.
 *
 * With an ensemble rule (a run with a hidden holdout), after the drafts it blends the best `size` nodes when the
 * best has not improved for `patience` steps, and as the run's last step; never the same members twice, and never
 * while an ensemble is in flight. Ensembles are not scripts a coder wrote: they are never improved or debugged.
 */
export class GreedyPolicy implements Policy {
  readonly name = "aide-greedy";

  constructor(private readonly options: GreedyPolicyOptions = AIDE_POLICY_DEFAULTS) {}

  next(
    journal: Journal,
    rng: Rng,
    pending: readonly PendingStep[] = [],
    lowerIsBetter: boolean | null = null,
    stepsLeft = Number.POSITIVE_INFINITY,
  ): StepAction {
    const pendingDrafts = pending.filter((p) => p.action.kind === "draft").length;
    if (journal.drafts.length + pendingDrafts < this.options.numDrafts) return { kind: "draft" };

    const ensemble = this.ensembleNow(journal, pending, lowerIsBetter, stepsLeft);
    if (ensemble) return ensemble;

    if (rng.next() < this.options.debugProb) {
      const busy = new Set(pending.flatMap((p) => (p.action.kind === "draft" ? [] : [parentOfAction(p.action)])));
      const debuggable = journal.buggyNodes.filter(
        // A node without code is a step whose coder gave no script: there is nothing to debug in it.
        (n) =>
          n.stage !== "ensemble" &&
          n.code.trim() !== "" &&
          journal.isLeaf(n.id) &&
          !busy.has(n.id) &&
          journal.debugDepth(n.id) < this.options.maxDebugDepth,
      );
      if (debuggable.length > 0) return { kind: "debug", parent: choose(rng, debuggable).id };
    }

    const best = lowerIsBetter === null ? null : bestNode(scripts(journal.nodes), lowerIsBetter);
    if (best) return { kind: "improve", parent: best.id };
    const unranked = journal.rankedNodes.length === 0 ? scripts(journal.goodNodes) : [];
    if (unranked.length > 0) return { kind: "improve", parent: choose(rng, unranked).id };
    return { kind: "draft" };
  }

  /** The ensemble the rule calls for now, or null. */
  private ensembleNow(
    journal: Journal,
    pending: readonly PendingStep[],
    lowerIsBetter: boolean | null,
    stepsLeft: number,
  ): EnsembleAction | null {
    const rule = this.options.ensemble;
    if (!rule || lowerIsBetter === null || pending.some((p) => p.action.kind === "ensemble")) return null;
    const members = ensembleMembers(journal.nodes, rule.size);
    if (members.length < rule.size) return null;
    const key = memberKey(members);
    if (journal.nodes.some((n) => n.stage === "ensemble" && n.members && memberKey(n.members) === key)) return null;
    const last = stepsLeft === 1 && pending.length === 0;
    const best = journal.best(lowerIsBetter)!;
    const since = journal.nodes.filter((n) => n.id > best.id).length;
    const blendedSince = journal.nodes.some((n) => n.stage === "ensemble" && n.id > best.id);
    if (last || (since >= rule.patience && !blendedSince)) return { kind: "ensemble", members };
    return null;
  }
}

/** The nodes a coder wrote (ensembles left out). */
function scripts(nodes: readonly SolutionNode[]): SolutionNode[] {
  return nodes.filter((n) => n.stage !== "ensemble");
}

/**
 * The ids of `size` working scripts to blend, the best first by their selection scores (ties: the earlier node):
 * the best of each design first (a design is a draft and what was built on it), so that the blend mixes models
 * that err differently, then the next best of any design while fewer designs have one; fewer when fewer scripts
 * have a holdout score; never two scripts with the same code. Equal weights for them all: weights fitted to the
 * holdout would overfit it.
 */
export function ensembleMembers(nodes: readonly SolutionNode[], size: number): NodeId[] {
  // A script written twice (the same code) adds nothing to a blend: only its best-ranked copy may join.
  const codes = new Set<string>();
  const ranked = rankBySelection(scripts(nodes)).filter((n) => {
    const code = n.code.trim();
    if (codes.has(code)) return false;
    codes.add(code);
    return true;
  });
  const byId = new Map(nodes.map((n) => [n.id, n] as const));
  const designOf = (node: SolutionNode): NodeId => {
    let n = node;
    while (n.parentId !== null && byId.has(n.parentId)) n = byId.get(n.parentId)!;
    return n.id;
  };
  const designs = new Set<NodeId>();
  const firsts = ranked.filter((n) => {
    const design = designOf(n);
    if (designs.has(design)) return false;
    designs.add(design);
    return true;
  });
  const rest = ranked.filter((n) => !firsts.includes(n));
  return [...firsts, ...rest].slice(0, size).map((n) => n.id);
}

function memberKey(members: readonly NodeId[]): string {
  return [...members].sort((a, b) => a - b).join(",");
}
