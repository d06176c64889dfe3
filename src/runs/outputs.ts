import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { isRanked, membersOf } from "../search/journal.ts";
import { paddedNodeId } from "../search/step.ts";
import type { RefitOutcome, SolutionNode, TokenUsage } from "../search/types.ts";
import type { RunStatus } from "../store/types.ts";
import { withFinalNewline } from "../util/text.ts";
import { treeFileHtmlOf } from "../web/tree-file.ts";

/** What a finished (or stopped) run leaves behind, as `aide run --out` and `aide export` write it. */
export interface RunRecord {
  runId: string;
  task: string;
  coder: string;
  executor: string;
  lowerIsBetter: boolean | null;
  /** The metric the run is judged by (canonical name), when known; else the best node's metric names it. */
  metricName?: string | null;
  best: SolutionNode | null;
  nodes: readonly SolutionNode[];
  usage: TokenUsage;
  finishReason: string;
  guidance: string[];
  /** Why a failed run ended, in the user's words (finishReason "failed"). */
  error?: string;
  /** How the run judged its scripts: the rows it held out (the split's size), or why it held none out. */
  holdout?: string | null;
  /** What was delivered: the best node's refit on all the labelled rows, or why its own submission. */
  delivered?: string | null;
}

export const OUTPUT_FILES = {
  journal: "journal.json",
  bestSolution: "best_solution.py",
  bestSubmission: "best_submission.csv",
  config: "config.json",
  tree: "tree.html",
  /** Where an ensemble's member scripts are written, one file each (node_0007.py). */
  ensembleMembers: "ensemble_members",
} as const;

/** "lower_is_better" / "higher_is_better" for a node's metric, or null when it has none or nothing told. */
function directionText(node: SolutionNode, runLowerIsBetter: boolean | null): string | null {
  if (!node.metric) return null;
  const lower = isRanked(node) ? (runLowerIsBetter ?? node.metric.lowerIsBetter) : node.metric.lowerIsBetter;
  return lower === null ? null : lower ? "lower_is_better" : "higher_is_better";
}

const LIVE_STATUSES: readonly string[] = ["queued", "running", "paused"];

/** The run's status as the tree page shows it: a finish reason ("steps", "budget", "stopped") or a live status. */
function statusOf(finishReason: string): RunStatus {
  if (LIVE_STATUSES.includes(finishReason)) return finishReason as RunStatus;
  if (finishReason === "stopped" || finishReason === "failed") return finishReason;
  return "finished";
}

/**
 * Writes journal.json (every node), best_solution.py and best_submission.csv (the best node's own files,
 * never a later node's), config.json and tree.html (the self-contained tree page) into `outDir`. `readSubmission` returns a node's own submission
 * (from the run directory, or from the store). Returns the paths written.
 */
export async function writeRunOutputs(args: {
  outDir: string;
  record: RunRecord;
  config: unknown;
  readSubmission: (node: SolutionNode) => Promise<string | null>;
}): Promise<string[]> {
  const { outDir, record } = args;
  await mkdir(outDir, { recursive: true });
  const written: string[] = [];
  const journalPath = join(outDir, OUTPUT_FILES.journal);
  const journal = {
    runId: record.runId,
    task: record.task,
    coder: record.coder,
    executor: record.executor,
    lowerIsBetter: record.lowerIsBetter,
    metricName: record.metricName ?? record.best?.metric?.name ?? null,
    bestNodeId: record.best?.id ?? null,
    finishReason: record.finishReason,
    guidance: record.guidance,
    ...(record.error ? { error: record.error } : {}),
    holdout: record.holdout ?? null,
    delivered: record.delivered ?? null,
    usage: record.usage,
    // Nodes as they are: an unranked one with its `unranked` reason, a judged one with its `holdout` score;
    // `direction` is the run's for a ranked node.
    nodes: record.nodes.map((n) => ({ ...n, direction: directionText(n, record.lowerIsBetter) })),
  };
  await writeFile(journalPath, `${JSON.stringify(journal, null, 2)}\n`);
  written.push(journalPath);

  const configPath = join(outDir, OUTPUT_FILES.config);
  await writeFile(configPath, `${JSON.stringify(args.config, null, 2)}\n`);
  written.push(configPath);

  const treePath = join(outDir, OUTPUT_FILES.tree);
  const treeHtml = await treeFileHtmlOf(
    {
      id: record.runId,
      task: record.task,
      status: statusOf(record.finishReason),
      progress: {
        step: record.nodes.length,
        totalSteps: record.nodes.length,
        bestNodeId: record.best?.id ?? null,
        metricName: record.metricName ?? record.best?.metric?.name ?? null,
        lowerIsBetter: record.lowerIsBetter,
      },
      options: { coder: record.coder },
    },
    record.nodes,
  );
  await writeFile(treePath, treeHtml);
  written.push(treePath);

  if (record.best) {
    const solutionPath = join(outDir, OUTPUT_FILES.bestSolution);
    await writeFile(solutionPath, withFinalNewline(record.best.code));
    written.push(solutionPath);
    const members = membersOf(record.best, record.nodes);
    if (members.length > 0) await mkdir(join(outDir, OUTPUT_FILES.ensembleMembers), { recursive: true });
    for (const member of members) {
      const memberPath = join(outDir, OUTPUT_FILES.ensembleMembers, `node_${paddedNodeId(member.id)}.py`);
      await writeFile(memberPath, withFinalNewline(member.code));
      written.push(memberPath);
    }
    const submission = await args.readSubmission(record.best);
    if (submission !== null) {
      const submissionPath = join(outDir, OUTPUT_FILES.bestSubmission);
      await writeFile(submissionPath, submission);
      written.push(submissionPath);
    }
  }
  return written;
}

/**
 * Reads a node's submission from the run directory it was written in, or null when there is none: the node's
 * refit on all the labelled data where that succeeded, else its own.
 */
export function submissionFromRunDir(
  runDir: string,
  refit: RefitOutcome | null = null,
): (node: SolutionNode) => Promise<string | null> {
  return async (node) => {
    const path = refit?.ok && refit.nodeId === node.id ? refit.submissionPath : node.submissionPath;
    return path ? readFile(join(runDir, path), "utf8").catch(() => null) : null;
  };
}
