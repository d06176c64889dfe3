import { isBetter } from "./metric.ts";
import { rankBySelection } from "./selection.ts";
import type { NodeId, SolutionNode } from "./types.ts";

/** Whether a node takes part in the ranking: it worked, reported a metric, and that metric is the run's. */
export function isRanked(node: SolutionNode): boolean {
  return !node.buggy && node.metric !== null && !node.unranked;
}

/**
 * The best ranked node of `nodes` under a direction; ties go to the one that comes first. Where ranked nodes carry
 * holdout scores, their selection scores decide among the nodes that have one (src/search/selection.ts: the
 * holdout score, weighed with the script's own validation number where the two agree); the scripts' own
 * validation numbers alone decide only where there are none.
 */
export function bestNode(nodes: Iterable<SolutionNode>, lowerIsBetter: boolean): SolutionNode | null {
  const all = [...nodes];
  const judged = rankBySelection(all);
  if (judged.length > 0) return judged[0]!;
  let best: SolutionNode | null = null;
  for (const node of all)
    if (isRanked(node) && Number.isFinite(node.metric!.value))
      if (!best || isBetter(node.metric!.value, best.metric!.value, lowerIsBetter)) best = node;
  return best;
}

/** An ensemble's member nodes among `nodes`, in its order (none for a node that is no ensemble). */
export function membersOf(node: SolutionNode, nodes: readonly SolutionNode[]): SolutionNode[] {
  return (node.members ?? []).flatMap((id) => nodes.find((n) => n.id === id) ?? []);
}

/** An ensemble's members as people read them: "#7, #12, #15". */
export function memberList(members: readonly NodeId[]): string {
  return members.map((m) => `#${m}`).join(", ");
}

/**
 * The run's direction as its nodes record it: that of the first ranked node that carries one (a run stamps its
 * direction on every ranked node once it knows it); null when none does.
 */
export function recordedDirection(nodes: Iterable<SolutionNode>): boolean | null {
  for (const node of nodes)
    if (isRanked(node) && node.metric!.lowerIsBetter !== null) return node.metric!.lowerIsBetter;
  return null;
}

/**
 * The solution tree: every finished node of a run, in the order they finished. Nodes are never changed after
 * they are added. Ids are step numbers, so a parent always has a smaller id than its children.
 */
export class Journal {
  private readonly byId = new Map<NodeId, SolutionNode>();
  private readonly childIds = new Map<NodeId, NodeId[]>();
  private readonly ordered: SolutionNode[] = [];

  constructor(nodes: Iterable<SolutionNode> = []) {
    for (const node of nodes) this.add(node);
  }

  add(node: SolutionNode): void {
    if (this.byId.has(node.id)) throw new Error(`node ${node.id} is already in the journal`);
    this.byId.set(node.id, node);
    this.ordered.push(node);
    if (node.parentId !== null) {
      const siblings = this.childIds.get(node.parentId) ?? [];
      siblings.push(node.id);
      this.childIds.set(node.parentId, siblings);
    }
  }

  get nodes(): readonly SolutionNode[] {
    return this.ordered;
  }

  get size(): number {
    return this.ordered.length;
  }

  get(id: NodeId): SolutionNode | undefined {
    return this.byId.get(id);
  }

  has(id: NodeId): boolean {
    return this.byId.has(id);
  }

  children(id: NodeId): SolutionNode[] {
    return (this.childIds.get(id) ?? []).map((c) => this.byId.get(c)!);
  }

  isLeaf(id: NodeId): boolean {
    return (this.childIds.get(id)?.length ?? 0) === 0;
  }

  get drafts(): SolutionNode[] {
    return this.ordered.filter((n) => n.stage === "draft");
  }

  /** Nodes that worked and reported a metric, ranked or not. */
  get goodNodes(): SolutionNode[] {
    return this.ordered.filter((n) => !n.buggy && n.metric !== null);
  }

  /** Good nodes whose metric is the run's: the ones compared with each other. */
  get rankedNodes(): SolutionNode[] {
    return this.ordered.filter(isRanked);
  }

  get buggyNodes(): SolutionNode[] {
    return this.ordered.filter((n) => n.buggy);
  }

  /** Consecutive debug steps that led to this node: 0 for a draft or improve, parent's depth + 1 for a debug. */
  debugDepth(id: NodeId): number {
    let depth = 0;
    let node = this.byId.get(id);
    while (node && node.stage === "debug") {
      depth++;
      node = node.parentId === null ? undefined : this.byId.get(node.parentId);
    }
    return depth;
  }

  /** The best ranked node under the run's direction; ties go to the earlier node. */
  best(lowerIsBetter: boolean): SolutionNode | null {
    return bestNode(this.ordered, lowerIsBetter);
  }

  /** The path from the root draft down to the node, inclusive. */
  lineage(id: NodeId): SolutionNode[] {
    const path: SolutionNode[] = [];
    let node = this.byId.get(id);
    while (node) {
      path.unshift(node);
      node = node.parentId === null ? undefined : this.byId.get(node.parentId);
    }
    return path;
  }

  toJSON(): SolutionNode[] {
    return [...this.ordered];
  }
}
