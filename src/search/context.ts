import type { Journal } from "./journal.ts";
import type { PendingStep } from "./policy.ts";
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

/** Most earlier good solutions a prompt's memory lists (the best ones, in step order). */
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
  const siblings = [
    ...(parentId === null ? [] : journal.children(parentId).map((n) => ({ plan: n.plan, code: n.code }))),
    ...args.pending
      .filter((p) => p.code !== undefined && (p.action.kind === "draft" ? null : p.action.parent) === parentId)
      .map((p) => ({ plan: p.plan ?? "", code: p.code! })),
  ];
  const lower = args.lowerIsBetter;
  let good = journal.goodNodes;
  if (good.length > MEMORY_LIMIT && lower !== null) {
    const sorted = [...good].sort((a, b) => (lower ? a.metric!.value - b.metric!.value : b.metric!.value - a.metric!.value));
    const keep = new Set(sorted.slice(0, MEMORY_LIMIT).map((n) => n.id));
    good = good.filter((n) => keep.has(n.id));
  }
  return {
    task: brief.task,
    dataPreview: brief.dataPreview,
    memory: good.map((n) => ({ id: n.id, plan: n.plan, analysis: n.analysis, metric: n.metric, stage: n.stage })),
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
