import { isRanked, type Journal } from "./journal.ts";
import { parentOfAction, type PendingStep } from "./policy.ts";
import type { Action, PromptContext, SolutionNode } from "./types.ts";

/** The parts of a prompt context that stay the same for the whole run. */
export interface RunBrief {
  task: string;
  dataPreview: string;
  timeLimitSec: number;
  packages: string[];
  metricHint?: string;
  totalSteps: number;
}

/** Most earlier good solutions a prompt's memory lists (the best ranked ones, then unranked ones, in step order). */
export const MEMORY_LIMIT = 12;

/** A pending step together with the proposal it got, once it has one. */
export interface PendingProposal extends PendingStep {
  plan?: string;
  code?: string;
}

/** Builds what a coder sees for one step from the journal, the steps in flight and the team's guidance. */
export function buildPromptContext(args: {
  brief: RunBrief;
  journal: Journal;
  action: Action;
  step: number;
  guidance: readonly string[];
  pending: readonly PendingProposal[];
  lowerIsBetter: boolean | null;
}): PromptContext {
  const { brief, journal, action } = args;
  const parent: SolutionNode | undefined = action.kind === "draft" ? undefined : journal.get(action.parent);
  const parentId = action.kind === "draft" ? null : action.parent;
  // Ensembles are the harness's blends, not scripts a coder wrote or can build on: prompts leave them out.
  const siblings = [
    ...(parentId === null
      ? []
      : journal
          .children(parentId)
          .filter((n) => n.stage !== "ensemble")
          .map((n) => ({ plan: n.plan, code: n.code }))),
    ...args.pending
      .filter((p) => p.code !== undefined && p.action.kind !== "ensemble" && parentOfAction(p.action) === parentId)
      .map((p) => ({ plan: p.plan ?? "", code: p.code! })),
  ];
  const lower = args.lowerIsBetter;
  let good = journal.goodNodes.filter((n) => n.stage !== "ensemble");
  if (good.length > MEMORY_LIMIT && lower !== null) {
    const ranked = good
      .filter(isRanked)
      .sort((a, b) => (lower ? a.metric!.value - b.metric!.value : b.metric!.value - a.metric!.value));
    const keep = new Set([...ranked, ...good.filter((n) => !isRanked(n))].slice(0, MEMORY_LIMIT).map((n) => n.id));
    good = good.filter((n) => keep.has(n.id));
  }
  // Ranked nodes recorded before the run knew its direction carry none on their metric: show the run's.
  const metricOf = (n: SolutionNode) =>
    lower !== null && isRanked(n) ? { ...n.metric!, lowerIsBetter: lower } : n.metric;
  return {
    task: brief.task,
    dataPreview: brief.dataPreview,
    memory: good.map((n) => ({
      id: n.id,
      plan: n.plan,
      analysis: n.analysis,
      metric: metricOf(n),
      stage: n.stage,
      unranked: n.unranked ?? null,
    })),
    guidance: [...args.guidance],
    parent,
    siblings,
    journal: journal.nodes,
    timeLimitSec: brief.timeLimitSec,
    packages: brief.packages,
    metricHint: brief.metricHint,
    lowerIsBetter: lower ?? undefined,
    step: args.step,
    totalSteps: brief.totalSteps,
  };
}
