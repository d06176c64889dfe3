/**
 * The final refit of a run with a hidden holdout: the delivered node's script, trained during the search without
 * the held-out rows, runs once more on the user's own input (all the labelled rows), under the limits of any
 * script; its submission, checked against the user's sample submission, is the one delivered. When it fails the
 * node's own submission is delivered and the note says why.
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../logger.ts";
import { SUBMISSION_FILE, type StepLimits } from "../search/step.ts";
import type { Executor, RefitOutcome, Refitter, SolutionNode, SubmissionChecker } from "../search/types.ts";
import { exists } from "../util/files.ts";

export interface RefitOptions {
  executor: Executor;
  /** The user's input directory: every labelled row. */
  inputDir: string;
  runDir: string;
  limits: StepLimits;
  /** Checks the refit's submission against the user's sample submission. */
  checker: SubmissionChecker;
  /** Labelled rows of the user's train.csv, for the note. */
  labelledRows: number;
  logger: Logger;
}

/** The refit's node directory, relative to the run directory (beside the nodes, so executors treat it as one). */
export function refitDirName(nodeId: number): string {
  return `nodes/refit-${String(nodeId).padStart(4, "0")}`;
}

export class HoldoutRefitter implements Refitter {
  constructor(private readonly options: RefitOptions) {}

  async refit(node: SolutionNode, signal?: AbortSignal): Promise<RefitOutcome> {
    const { executor, runDir, limits, labelledRows } = this.options;
    const dirRel = refitDirName(node.id);
    const nodeDir = join(runDir, dirRel);
    await rm(nodeDir, { recursive: true, force: true });
    await mkdir(nodeDir, { recursive: true });
    const inputDir = this.options.inputDir;
    let problem: string | null;
    try {
      const result = await executor.run({ nodeId: node.id, code: node.code, inputDir, nodeDir, ...limits }, signal);
      await writeFile(join(nodeDir, "output.log"), result.output);
      problem = result.timedOut
        ? `it timed out after ${Math.round(limits.timeoutMs / 1000)} s`
        : result.outOfMemory
          ? `it ran out of memory (limit ${limits.memoryMb} MB)`
          : (result.limitExceeded ??
            (result.signal
              ? `it was killed by ${result.signal}`
              : result.exitCode !== 0
                ? `it exited with code ${result.exitCode}`
                : null));
      const submission = join(nodeDir, "working", SUBMISSION_FILE);
      if (!problem)
        problem = (await exists(submission))
          ? await this.options.checker.check(submission)
          : `it wrote no ${SUBMISSION_FILE}`;
    } finally {
      // The user's input is a scope of its own for warm executors: let it go, the run's scripts are done.
      await executor.releaseRun?.({ inputDir, runDir, memoryMb: limits.memoryMb });
    }
    const rows = `all ${labelledRows} labelled rows`;
    if (problem) {
      this.options.logger.warn(
        { nodeId: node.id, problem },
        "the refit failed; the node's own submission is delivered",
      );
      return {
        ok: false,
        nodeId: node.id,
        note: `the refit of node ${node.id} on ${rows} failed (${problem}); its own submission is delivered`,
      };
    }
    return {
      ok: true,
      nodeId: node.id,
      submissionPath: `${dirRel}/working/${SUBMISSION_FILE}`,
      note: `node ${node.id} refit on ${rows}`,
    };
  }
}
