/**
 * The final refit of a run with a hidden holdout: the delivered node's script, trained during the search without
 * the held-out rows, runs once more on the user's own input (all the labelled rows), under the limits of any
 * script; its submission, checked against the user's sample submission, is the one delivered. An ensemble is refit
 * member by member and its blend run again on the members' refits. When a refit fails the node's own submission is
 * delivered and the note says why.
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../logger.ts";
import { memberList } from "../search/journal.ts";
import { executionProblem, paddedNodeId, SUBMISSION_FILE, type StepLimits } from "../search/step.ts";
import type { Executor, NodeId, RefitOutcome, Refitter, SolutionNode, SubmissionChecker } from "../search/types.ts";
import { exists } from "../util/files.ts";
import { runBlend } from "./ensemble.ts";

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
  return `nodes/refit-${paddedNodeId(nodeId)}`;
}

/** One script's refit: its submission (relative to the run directory), or why there is none. */
type ScriptRefit = { problem: null; submissionPath: string } | { problem: string };

export class HoldoutRefitter implements Refitter {
  constructor(private readonly options: RefitOptions) {}

  async refit(node: SolutionNode, members: readonly SolutionNode[], signal?: AbortSignal): Promise<RefitOutcome> {
    const { executor, inputDir, runDir, limits, labelledRows } = this.options;
    const rows = `all ${labelledRows} labelled rows`;
    let refit: ScriptRefit;
    try {
      refit =
        node.stage === "ensemble"
          ? await this.refitEnsemble(node, members, signal)
          : await this.refitScript(node, signal);
    } finally {
      // The user's input is a scope of its own for warm executors: let it go, the run's scripts are done.
      await executor.releaseRun?.({ inputDir, runDir, memoryMb: limits.memoryMb });
    }
    const what =
      node.stage === "ensemble" ? `ensemble ${node.id} (of ${memberList(node.members ?? [])})` : `node ${node.id}`;
    if (refit.problem !== null) {
      this.options.logger.warn(
        { nodeId: node.id, problem: refit.problem },
        "the refit failed; the node's own submission is delivered",
      );
      return {
        ok: false,
        nodeId: node.id,
        note: `the refit of ${what} on ${rows} failed (${refit.problem}); its own submission is delivered`,
      };
    }
    const note =
      node.stage === "ensemble"
        ? `ensemble ${node.id} refit: its members ${memberList(node.members ?? [])} refit on ${rows} and blended again`
        : `node ${node.id} refit on ${rows}`;
    return { ok: true, nodeId: node.id, submissionPath: refit.submissionPath, note };
  }

  /** The node's script on the user's input, in its refit directory; its submission checked. */
  private async refitScript(node: SolutionNode, signal?: AbortSignal): Promise<ScriptRefit> {
    const { executor, runDir, limits, inputDir } = this.options;
    const dirRel = refitDirName(node.id);
    const nodeDir = join(runDir, dirRel);
    await rm(nodeDir, { recursive: true, force: true });
    await mkdir(nodeDir, { recursive: true });
    const result = await executor.run({ nodeId: node.id, code: node.code, inputDir, nodeDir, ...limits }, signal);
    await writeFile(join(nodeDir, "output.log"), result.output);
    const submissionPath = `${dirRel}/working/${SUBMISSION_FILE}`;
    return this.checked(executionProblem(result, limits), submissionPath, "it");
  }

  /** Each member refit, then the ensemble's blend on their refits. */
  private async refitEnsemble(
    node: SolutionNode,
    members: readonly SolutionNode[],
    signal?: AbortSignal,
  ): Promise<ScriptRefit> {
    const ids = node.members ?? [];
    if (ids.length === 0 || members.length !== ids.length) return { problem: "its members are not all in the journal" };
    const files = new Map<NodeId, string>();
    for (const member of members) {
      const refit = await this.refitScript(member, signal);
      if (refit.problem !== null) return { problem: `member #${member.id}: ${refit.problem}` };
      files.set(member.id, join(this.options.runDir, refit.submissionPath));
    }
    const dirRel = refitDirName(node.id);
    const blend = await runBlend({
      executor: this.options.executor,
      code: node.code,
      nodeId: node.id,
      files,
      nodeDir: join(this.options.runDir, dirRel),
      runDir: this.options.runDir,
      limits: this.options.limits,
      signal,
    });
    return this.checked(blend.problem, `${dirRel}/working/${SUBMISSION_FILE}`, "the blend");
  }

  /** A refit's submission checked against the user's sample submission, after its run's own problem. */
  private async checked(problem: string | null, submissionPath: string, who: string): Promise<ScriptRefit> {
    if (problem) return { problem };
    const path = join(this.options.runDir, submissionPath);
    if (!(await exists(path))) return { problem: `${who} wrote no ${SUBMISSION_FILE}` };
    const mismatch = await this.options.checker.check(path);
    return mismatch ? { problem: mismatch } : { problem: null, submissionPath };
  }
}
