import { copyFile, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { SolutionNode, TokenUsage } from "../search/types.ts";

/** What a finished (or stopped) run leaves behind, as `aide run --out` and `aide export` write it. */
export interface RunRecord {
  runId: string;
  task: string;
  coder: string;
  executor: string;
  lowerIsBetter: boolean | null;
  best: SolutionNode | null;
  nodes: readonly SolutionNode[];
  usage: TokenUsage;
  finishReason: string;
  guidance: string[];
}

export const OUTPUT_FILES = {
  journal: "journal.json",
  bestSolution: "best_solution.py",
  bestSubmission: "best_submission.csv",
  config: "config.json",
} as const;

/**
 * Writes journal.json (every node), best_solution.py and best_submission.csv (the best node's own files,
 * never a later node's) and config.json into `outDir`. `runDir` is where node submissions live (node paths
 * in the journal are relative to it). Returns the paths written.
 */
export async function writeRunOutputs(args: { outDir: string; runDir: string; record: RunRecord; config: unknown }): Promise<string[]> {
  const { outDir, runDir, record } = args;
  await mkdir(outDir, { recursive: true });
  const written: string[] = [];
  const journalPath = join(outDir, OUTPUT_FILES.journal);
  const journal = {
    runId: record.runId,
    task: record.task,
    coder: record.coder,
    executor: record.executor,
    lowerIsBetter: record.lowerIsBetter,
    metricName: record.best?.metric?.name ?? null,
    bestNodeId: record.best?.id ?? null,
    finishReason: record.finishReason,
    guidance: record.guidance,
    usage: record.usage,
    nodes: record.nodes.map((n) => ({ ...n, direction: n.metric ? (n.metric.lowerIsBetter ? "lower_is_better" : "higher_is_better") : null })),
  };
  await writeFile(journalPath, JSON.stringify(journal, null, 2) + "\n");
  written.push(journalPath);

  const configPath = join(outDir, OUTPUT_FILES.config);
  await writeFile(configPath, JSON.stringify(args.config, null, 2) + "\n");
  written.push(configPath);

  if (record.best) {
    const solutionPath = join(outDir, OUTPUT_FILES.bestSolution);
    await writeFile(solutionPath, record.best.code.endsWith("\n") ? record.best.code : record.best.code + "\n");
    written.push(solutionPath);
    if (record.best.submissionPath) {
      const submissionPath = join(outDir, OUTPUT_FILES.bestSubmission);
      await copyFile(join(runDir, record.best.submissionPath), submissionPath);
      written.push(submissionPath);
    }
  }
  return written;
}
