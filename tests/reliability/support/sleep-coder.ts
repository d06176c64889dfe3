/**
 * The offline coder with sleep-bound scripts, for the load test: every proposal is the offline coder's own (its
 * plan, its recipe, its usage), but the script it runs keeps only the recipe line and then sleeps, copies
 * sample_submission.csv as its submission and prints a metric derived from the recipe. So a step costs the
 * orchestration and the sandbox, not scikit-learn's CPU time: 50 runs fit on two cores. Reviews are the offline
 * coder's.
 */
import { createHash } from "node:crypto";
import { OfflineCoder } from "../../../src/coders/offline/index.ts";
import { RECIPE_MARKER } from "../../../src/coders/offline/recipe.ts";
import type {
  Action,
  Coder,
  ExecutionResult,
  PromptContext,
  Proposal,
  Review,
  ReviewInput,
} from "../../../src/search/types.ts";

/** The sleep-bound script for an offline proposal: same recipe line, same metric for the same recipe. */
export function sleepScript(offlineCode: string, sleepSec: number): string {
  const recipe = offlineCode.split("\n").find((l) => l.startsWith(RECIPE_MARKER)) ?? `${RECIPE_MARKER}{}`;
  const score = 0.6 + (createHash("sha1").update(recipe).digest().readUInt16BE(0) % 3000) / 10_000;
  return [
    recipe,
    "import csv, time",
    `time.sleep(${sleepSec})`,
    'rows = list(csv.reader(open("./input/sample_submission.csv", newline="")))',
    'with open("./working/submission.csv", "w", newline="") as f:',
    "    csv.writer(f).writerows(rows)",
    `print('AIDE_METRIC {"name": "roc_auc", "value": ${score.toFixed(4)}, "lower_is_better": false}')`,
    "",
  ].join("\n");
}

export class SleepBoundOfflineCoder implements Coder {
  readonly name = "offline (no model), sleep-bound scripts";
  private readonly offline = new OfflineCoder();

  constructor(private readonly sleepSec: number) {}

  async propose(action: Action, ctx: PromptContext, signal?: AbortSignal): Promise<Proposal> {
    const p = await this.offline.propose(action, ctx, signal);
    return { ...p, code: sleepScript(p.code, this.sleepSec) };
  }

  review(node: ReviewInput, result: ExecutionResult, signal?: AbortSignal): Promise<Review> {
    return this.offline.review(node, result, signal);
  }
}
