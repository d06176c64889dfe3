import { isBetter } from "./metric.ts";
import type { NodeId, SolutionNode } from "./types.ts";

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

  get goodNodes(): SolutionNode[] {
    return this.ordered.filter((n) => !n.buggy && n.metric !== null);
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

  /** The best good node under the run's direction; ties go to the earlier node. */
  best(lowerIsBetter: boolean): SolutionNode | null {
    let best: SolutionNode | null = null;
    for (const node of this.goodNodes) {
      if (!best || isBetter(node.metric!.value, best.metric!.value, lowerIsBetter)) best = node;
    }
    return best;
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
