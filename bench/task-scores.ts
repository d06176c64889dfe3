import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OfflineCoder } from "../src/coders/offline/index.ts";
import { loadConfig } from "../src/config.ts";
import { silentLogger } from "../src/logger.ts";
import { executeRun } from "../src/runs/execute.ts";
import type { RunSink, SolutionNode } from "../src/search/types.ts";
import { gradeSubmission, progressToward, type GradingSpec } from "../src/workspace/grade.ts";
import { SandboxExecutor } from "../runner/executors/sandbox.ts";

export interface TaskMeta extends GradingSpec {
  name: string;
  baseline_score?: number;
  reference_score?: number;
}

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

const noSink: RunSink = { nodeFinished: async () => {}, event: async () => {} };

/** Task folders (task.md, input/, answers.csv, meta.json) under a directory. */
export function listTasks(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => existsSync(join(dir, name, "meta.json")) && existsSync(join(dir, name, "answers.csv")))
    .sort()
    .map((name) => join(dir, name));
}

/** Runs the offline coder for `steps` steps on a task and grades the best node and the first good draft. */
export async function scoreTask(taskDir: string, steps: number, seed: number): Promise<TaskScore> {
  const meta = JSON.parse(readFileSync(join(taskDir, "meta.json"), "utf8")) as TaskMeta;
  const runDir = await mkdtemp(join(tmpdir(), `aide-bench-${meta.name}-`));
  const config = loadConfig({ env: {}, overrides: { search: { steps, seed } } });
  const started = performance.now();
  const result = await executeRun({
    runId: `bench-${meta.name}`,
    task: readFileSync(join(taskDir, "task.md"), "utf8"),
    inputDir: join(taskDir, "input"),
    runDir,
    config,
    coder: new OfflineCoder({ logger: silentLogger }),
    executor: new SandboxExecutor({ logger: silentLogger, warm: true }),
    sink: noSink,
    logger: silentLogger,
  });
  const seconds = (performance.now() - started) / 1000;
  const answers = join(taskDir, "answers.csv");
  const grade = async (node: SolutionNode | null | undefined) =>
    node?.submissionPath ? gradeSubmission(join(runDir, node.submissionPath), answers, meta) : null;
  const firstDraft = result.journal.nodes.filter((n) => n.stage === "draft" && !n.buggy).sort((a, b) => a.id - b.id)[0];
  const firstDraftTest = await grade(firstDraft);
  const bestTest = await grade(result.best);
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
}
