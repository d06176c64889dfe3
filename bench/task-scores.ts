import { progressToward } from "../src/workspace/grade.ts";
import { withTaskRun } from "./task-run.ts";

export interface TaskScore {
  task: string;
  metric: string;
  baseline: number | null;
  reference: number | null;
  firstDraftTest: number | null;
  bestTest: number | null;
  bestValidation: number | null;
  bestNode: number | null;
  bestStage: string | null;
  progress: number | null;
  beatsFirstDraft: boolean | null;
  buggy: number;
  seconds: number;
}

/** Runs the offline coder for `steps` steps on a task and grades the best node and the first good draft. */
export function scoreTask(taskDir: string, steps: number, seed: number): Promise<TaskScore> {
  return withTaskRun(taskDir, { steps, seed }, async ({ meta, result, seconds, gradeNode }) => {
    const firstDraft = result.journal.nodes
      .filter((n) => n.stage === "draft" && !n.buggy)
      .sort((a, b) => a.id - b.id)[0];
    const firstDraftTest = await gradeNode(firstDraft);
    const bestTest = await gradeNode(result.best);
    const baseline = meta.baseline_score ?? null;
    const reference = meta.reference_score ?? null;
    const better = (a: number, b: number) => (meta.lower_is_better ? a < b : a > b);
    return {
      task: meta.name,
      metric: meta.metric,
      baseline,
      reference,
      firstDraftTest,
      bestTest,
      bestValidation: result.best?.metric?.value ?? null,
      bestNode: result.best?.id ?? null,
      bestStage: result.best?.stage ?? null,
      progress:
        bestTest !== null && baseline !== null && reference !== null
          ? progressToward(bestTest, baseline, reference)
          : null,
      beatsFirstDraft: bestTest !== null && firstDraftTest !== null ? better(bestTest, firstDraftTest) : null,
      buggy: result.journal.buggyNodes.length,
      seconds,
    };
  });
}
