/**
 * The ensemble steps of a run with a hidden holdout. No model is asked: the members' submissions (the held-out
 * rows and the real test rows, as their scripts wrote them) are blended by a generated script (blend-script.ts),
 * run by the run's executor like any script, and the blend is judged as any submission: its held-out rows scored
 * on the holdout, its real rows the node's submission. The final refit blends the members' refits the same way.
 */
import { copyFile, mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../logger.ts";
import { memberList } from "../search/journal.ts";
import { formatNumber } from "../search/metric.ts";
import {
  executionProblem,
  NO_USAGE,
  nodeDirName,
  SUBMISSION_FILE,
  type StepLimits,
  wasKilled,
} from "../search/step.ts";
import { truncateForPrompt } from "../search/output.ts";
import type {
  Clock,
  Ensembler,
  ExecutionResult,
  Executor,
  NodeId,
  SolutionNode,
  SubmissionJudge,
} from "../search/types.ts";
import { exists } from "../util/files.ts";
import type { ActiveHoldoutPlan } from "../workspace/holdout/index.ts";
import { metricByName } from "../workspace/metrics/index.ts";
import { type BlendRule, blendScript, memberFileName } from "./blend-script.ts";

/** The coder name an ensemble node records: the harness made it, not a model. */
export const ENSEMBLE_CODER = "ensemble (no model)";

export interface BlendRun {
  /** The blend script's run; null when it could not start (a member's submission is gone). */
  result: ExecutionResult | null;
  /** Why the blend did not write a submission, or null. */
  problem: string | null;
  /** The blend's submission (absolute), when written. */
  writtenPath: string;
}

/**
 * Runs a blend script in `nodeDir` on the members' submissions (`files`: member id to absolute path), staged as
 * the script's input. Never throws for a failing blend: `problem` says why.
 */
export async function runBlend(args: {
  executor: Executor;
  code: string;
  nodeId: NodeId;
  files: ReadonlyMap<NodeId, string>;
  nodeDir: string;
  runDir: string;
  limits: StepLimits;
  signal?: AbortSignal;
}): Promise<BlendRun> {
  const { executor, nodeDir, limits } = args;
  await rm(nodeDir, { recursive: true, force: true });
  const inputDir = join(nodeDir, "members");
  await mkdir(inputDir, { recursive: true });
  const writtenPath = join(nodeDir, "working", SUBMISSION_FILE);
  for (const [member, path] of args.files) {
    // A run resumed on another worker has its nodes' records but not the files their scripts wrote there.
    if (!(await exists(path)))
      return { result: null, problem: `the submission of member #${member} is not on this worker`, writtenPath };
    await copyFile(path, join(inputDir, memberFileName(member)));
  }
  let result: ExecutionResult;
  try {
    result = await executor.run({ nodeId: args.nodeId, code: args.code, inputDir, nodeDir, ...limits }, args.signal);
  } finally {
    // The members' files are a scope of their own for warm executors: let it go at once.
    await executor.releaseRun?.({ inputDir, runDir: args.runDir, memoryMb: limits.memoryMb });
  }
  await writeFile(join(nodeDir, "output.log"), result.output);
  const problem =
    executionProblem(result, limits) ?? ((await exists(writtenPath)) ? null : `the blend wrote no ${SUBMISSION_FILE}`);
  return { result, problem, writtenPath };
}

/**
 * How each prediction column is blended: per-class probabilities and numbers (scores, probabilities, regression
 * values) by their mean, labels by vote.
 */
export function blendRules(plan: ActiveHoldoutPlan, metric: string | null): Array<{ column: string; rule: BlendRule }> {
  const labels = plan.prediction.kind === "values" && metric !== null && metricByName(metric)?.predictions === "labels";
  const rule: BlendRule = labels ? "vote" : "mean";
  return plan.predictionColumns.map((column) => ({ column, rule }));
}

export interface HoldoutEnsemblerOptions {
  executor: Executor;
  runDir: string;
  limits: StepLimits;
  plan: ActiveHoldoutPlan;
  /** The run's judge: the blend is judged as any node's submission. */
  judge: SubmissionJudge;
  clock: Clock;
  logger: Logger;
}

export class HoldoutEnsembler implements Ensembler {
  constructor(private readonly options: HoldoutEnsemblerOptions) {}

  async blend(id: NodeId, members: readonly SolutionNode[], signal?: AbortSignal): Promise<SolutionNode> {
    const { runDir, plan, judge, clock } = this.options;
    const createdAt = clock.now().toISOString();
    const ids = members.map((m) => m.id);
    const metricName = members[0]?.holdout?.name ?? plan.metric;
    const rules = blendRules(plan, metricName);
    const code = blendScript({ members: ids, idColumn: plan.idColumn, rules });
    const how = rules.every((r) => r.rule === "vote")
      ? "the label most of them predict"
      : "the mean of their predictions";
    const description = `Ensemble of ${memberList(ids)}: ${how}, with equal weights.`;
    const files = new Map(members.map((m) => [m.id, join(runDir, nodeDirName(m.id), "working", SUBMISSION_FILE)]));
    const nodeRel = nodeDirName(id);
    const blend = await runBlend({
      executor: this.options.executor,
      code,
      nodeId: id,
      files,
      nodeDir: join(runDir, nodeRel),
      runDir,
      limits: this.options.limits,
      signal,
    });
    const { result } = blend;
    const separateRel = `${nodeRel}/${SUBMISSION_FILE}`;
    const verdict = blend.problem
      ? null
      : await judge.judge(blend.writtenPath, join(runDir, separateRel), metricName ?? null);
    const problem = blend.problem ?? verdict?.problem ?? (verdict?.holdout ? null : "the blend could not be scored");
    const holdout = problem ? null : verdict!.holdout!;
    const best = members[0]?.holdout;
    const analysis = problem
      ? `Problem: ${problem}.`
      : `The blend scores ${formatNumber(holdout!.value)} on the holdout${best ? `; its best member, #${ids[0]}, ${formatNumber(best.value)}` : ""}.`;
    if (problem) this.options.logger.warn({ nodeId: id, members: ids, problem }, "the ensemble failed");
    const metric = holdout && members[0]?.metric ? { ...members[0].metric, value: holdout.value } : null;
    return {
      id,
      parentId: ids[0] ?? null,
      step: id,
      stage: "ensemble",
      members: ids,
      plan: description,
      code,
      metric,
      holdout,
      unranked: null,
      buggy: problem !== null,
      analysis,
      execTimeMs: result?.durationMs ?? 0,
      exitCode: result?.exitCode ?? null,
      timedOut: result?.timedOut ?? false,
      killed: !!result && wasKilled(result),
      output: truncateForPrompt(result?.output ?? ""),
      submissionOk: problem === null,
      submissionPath: verdict?.separated ? separateRel : blend.problem ? null : `${nodeRel}/working/${SUBMISSION_FILE}`,
      usage: NO_USAGE,
      coder: ENSEMBLE_CODER,
      createdAt,
      finishedAt: clock.now().toISOString(),
    };
  }
}
