/**
 * The offline coder: needs no model. It writes real scikit-learn scripts for tabular CSV tasks from a typed
 * design space (recipe.ts), improves them one atomic change at a time (moves.ts), debugs them by recognising
 * failures in the output (fixes.ts) and reviews runs with plain rules (review.ts). It keeps no state: the
 * recipe of each script is stored in the script itself and read back from the parent's code.
 */
import type {
  Action,
  Coder,
  ExecutionResult,
  PromptContext,
  Proposal,
  Review,
  ReviewInput,
  SolutionNode,
} from "../../search/types.ts";
import type { Logger } from "../../logger.ts";
import { type Recipe, describe, effectiveKey, parseRecipe } from "./recipe.ts";
import { renderScript } from "./script.ts";
import { candidateMoves, chooseMove, type MoveContext } from "./moves.ts";
import { planDebug } from "./fixes.ts";
import { planDraft } from "./drafts.ts";
import { readGuidance } from "./guidance.ts";
import { type DataHints, readDataFacts, readDataHints, readTask } from "./task-reading.ts";
import { reviewRun } from "./review.ts";

export { parseRecipe, type Recipe } from "./recipe.ts";

export interface OfflineCoderOptions {
  logger?: Logger;
  /**
   * The run's seed (config `search.seed`, default 0). It moves the seed of the scripts' own folds and models
   * (42 + seed), as a model would pick splits of its own, so runs with different seeds are different draws of
   * the same search rather than copies.
   */
  seed?: number;
}

/** The scripts' seed in a run of seed 0. */
const BASE_SCRIPT_SEED = 42;

const ZERO_USAGE = { promptTokens: 0, completionTokens: 0, costUsd: 0 } as const;

export class OfflineCoder implements Coder {
  readonly name = "offline (no model)";
  private readonly logger: Logger | undefined;
  private readonly scriptSeed: number;

  constructor(options: OfflineCoderOptions = {}) {
    this.logger = options.logger;
    this.scriptSeed = BASE_SCRIPT_SEED + (options.seed ?? 0);
  }

  async propose(action: Action, ctx: PromptContext, signal?: AbortSignal): Promise<Proposal> {
    signal?.throwIfAborted();
    const reading = readTask(ctx.task, ctx.metricHint, ctx.lowerIsBetter);
    const hints = dataHintsFor(action, ctx);
    const moveContext: MoveContext = { taskType: reading.taskType ?? hints.taskType ?? null, hints };
    const seenKeys = new Set<string>();
    for (const code of [...ctx.journal.map((n) => n.code), ...ctx.siblings.map((s) => s.code)]) {
      const r = parseRecipe(code);
      if (r) seenKeys.add(effectiveKey(r));
    }
    const seen = (r: Recipe) => seenKeys.has(effectiveKey(r));
    const guidance = readGuidance(ctx.guidance);

    let recipe: Recipe;
    let plan: string;
    if (action.kind === "draft") {
      // A draft's siblings are the drafts in flight before it (parallel steps): they count as drafted.
      const earlierDrafts = [
        ...ctx.journal.filter((n) => n.stage === "draft").map((n) => parseRecipe(n.code)),
        ...ctx.siblings.map((s) => parseRecipe(s.code)),
      ];
      ({ recipe, plan } = planDraft({ earlierDrafts, seen, guidance, moveContext, step: ctx.step }));
    } else {
      const parent = findParent(action.parent, ctx);
      const parentRecipe = parseRecipe(parent?.code);
      if (action.kind === "debug") {
        ({ recipe, plan } = planDebug(parentRecipe, {
          output: parent?.output ?? "",
          timedOut: parent?.timedOut,
          killed: parent?.killed,
          exitCode: parent?.exitCode,
          submissionOk: parent?.submissionOk,
          analysis: parent?.analysis,
          hasMetric: parent ? parent.metric !== null : undefined,
        }));
      } else if (!parentRecipe) {
        const draft = planDraft({ earlierDrafts: [], seen, guidance, moveContext, step: ctx.step });
        recipe = draft.recipe;
        plan = `The parent was not written by the offline coder, so start from a fresh design: ${draft.plan}`;
      } else {
        ({ recipe, plan } = planImprove(parentRecipe, seen, guidance?.tags ?? [], moveContext));
      }
    }
    const code = renderScript(recipe, {
      plan,
      metric: reading.metric,
      taskType: reading.taskType,
      wantsProbability: reading.wantsProbability,
      timeLimitSec: ctx.timeLimitSec,
      seed: this.scriptSeed,
    });
    this.logger?.debug({ action: action.kind, model: recipe.model, plan }, "offline coder proposal");
    return { plan, code, usage: { ...ZERO_USAGE } };
  }

  async review(node: ReviewInput, result: ExecutionResult, signal?: AbortSignal): Promise<Review> {
    signal?.throwIfAborted();
    return reviewRun(node, result);
  }
}

/**
 * What is known about the data: exact facts printed by the parent's (or else the latest) offline script,
 * or keyword guesses from the task text and data preview.
 */
function dataHintsFor(action: Action, ctx: PromptContext): DataHints {
  const parent = action.kind === "draft" ? undefined : findParent(action.parent, ctx);
  const fromParent = readDataFacts(parent?.output);
  if (fromParent) return fromParent;
  for (let i = ctx.journal.length - 1; i >= 0; i--) {
    const facts = readDataFacts(ctx.journal[i]?.output);
    if (facts) return facts;
  }
  return readDataHints(ctx.task, ctx.dataPreview);
}

function findParent(id: number, ctx: PromptContext): SolutionNode | undefined {
  if (ctx.parent && ctx.parent.id === id) return ctx.parent;
  return ctx.journal.find((n) => n.id === id) ?? ctx.parent;
}

/** One atomic change to the parent's recipe: the most promising one not tried yet. */
export function planImprove(
  parent: Recipe,
  seen: (r: Recipe) => boolean,
  wantedTags: string[],
  moveContext: MoveContext,
): { recipe: Recipe; plan: string } {
  const moves = candidateMoves(parent, moveContext);
  const move = chooseMove(moves, seen, wantedTags);
  if (move) return { recipe: move.recipe, plan: move.sentence };
  // Every single change has been tried: take the best untried change on top of the first neighbour.
  for (const first of moves) {
    const second = chooseMove(candidateMoves(first.recipe, moveContext), seen, wantedTags);
    if (second) {
      return {
        recipe: second.recipe,
        plan: `All single changes of this design have been tried, so combine two: ${first.sentence} ${second.sentence}`,
      };
    }
  }
  return {
    recipe: parent,
    plan: `Every nearby change has been tried; re-run the design unchanged: ${describe(parent)}`,
  };
}
