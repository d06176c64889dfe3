/**
 * One offline-coder run on a benchmark task folder (task.md, input/, answers.csv, meta.json), graded against the
 * task's hidden answers: shared by the benchmark parts that measure scores (task-scores.ts, holdout-selection.ts).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { basename, join } from "node:path";
import { tmpdir } from "node:os";
import { OfflineCoder } from "../src/coders/offline/index.ts";
import { loadConfig } from "../src/config.ts";
import { silentLogger } from "../src/logger.ts";
import { executeRun } from "../src/runs/execute.ts";
import type { SearchResult } from "../src/search/loop.ts";
import type { RunSink, SolutionNode } from "../src/search/types.ts";
import { gradeSubmission, type GradingSpec } from "../src/workspace/grade.ts";
import { SandboxExecutor } from "../runner/executors/sandbox.ts";

export interface TaskMeta extends GradingSpec {
  name: string;
  baseline_score?: number;
  reference_score?: number;
}

const noSink: RunSink = { nodeFinished: async () => {}, event: async () => {} };

/**
 * Task folders (task.md, input/, answers.csv, meta.json) under a directory; with `names`, only the folders so
 * named.
 */
export function listTasks(dir: string, names?: readonly string[]): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => existsSync(join(dir, name, "meta.json")) && existsSync(join(dir, name, "answers.csv")))
    .filter((name) => !names || names.includes(name))
    .sort()
    .map((name) => join(dir, name));
}

export function readTaskMeta(taskDir: string): TaskMeta {
  return JSON.parse(readFileSync(join(taskDir, "meta.json"), "utf8")) as TaskMeta;
}

/** A finished run on a task, while its run directory still exists. */
export interface TaskRun {
  meta: TaskMeta;
  runDir: string;
  result: SearchResult;
  seconds: number;
  /** The test score of a submission file (absolute path); null when it cannot be scored. */
  gradeFile(path: string): Promise<number | null>;
  /** The test score of a node's own submission; null when it has none or it cannot be scored. */
  gradeNode(node: SolutionNode | null | undefined): Promise<number | null>;
}

export interface TaskRunOptions {
  steps: number;
  seed: number;
  /** The share held out (`search.holdout`), null for none; absent: the configuration's default. */
  holdout?: number | null;
}

/**
 * Runs the offline coder on a task with the warm sandbox executor, hands the finished run to `use` (to grade what
 * it needs), then stops the executor's interpreters and deletes the run directory (runs are large).
 */
export async function withTaskRun<T>(
  taskDir: string,
  opts: TaskRunOptions,
  use: (run: TaskRun) => Promise<T>,
): Promise<T> {
  const meta = readTaskMeta(taskDir);
  const runDir = await mkdtemp(join(tmpdir(), `aide-bench-${basename(taskDir)}-`));
  const search: Record<string, unknown> = { steps: opts.steps, seed: opts.seed };
  if (opts.holdout !== undefined) search.holdout = opts.holdout;
  const config = loadConfig({ env: {}, overrides: { search } });
  const executor = new SandboxExecutor({ logger: silentLogger, warm: true });
  const answers = join(taskDir, "answers.csv");
  const gradeFile = (path: string) => gradeSubmission(path, answers, meta).catch(() => null);
  try {
    const started = performance.now();
    const result = await executeRun({
      runId: `bench-${meta.name}`,
      task: readFileSync(join(taskDir, "task.md"), "utf8"),
      inputDir: join(taskDir, "input"),
      runDir,
      config,
      coder: new OfflineCoder({ logger: silentLogger, seed: opts.seed }),
      executor,
      sink: noSink,
      logger: silentLogger,
    });
    const seconds = (performance.now() - started) / 1000;
    return await use({
      meta,
      runDir,
      result,
      seconds,
      gradeFile,
      gradeNode: async (node) => (node?.submissionPath ? gradeFile(join(runDir, node.submissionPath)) : null),
    });
  } finally {
    await executor.close();
    await rm(runDir, { recursive: true, force: true });
  }
}
