import { parseMetricLine } from "./metric.ts";
import { StepFailure } from "./step-failure.ts";
import { UNNAMED_METRIC } from "./metric-names.ts";
import { truncateForPrompt } from "./output.ts";
import type {
  Action,
  Clock,
  Coder,
  ExecutionResult,
  Executor,
  MetricReport,
  NodeId,
  PromptContext,
  Proposal,
  SolutionNode,
  SubmissionJudge,
  TokenUsage,
} from "./types.ts";

/** A node's id as its files are named: four digits at least ("0007"). */
export function paddedNodeId(id: NodeId): string {
  return String(id).padStart(4, "0");
}

/** Where a node's files live, relative to the run directory. Kept here so journal paths stay portable. */
export function nodeDirName(id: NodeId): string {
  return `nodes/${paddedNodeId(id)}`;
}

export const SUBMISSION_FILE = "submission.csv";

export interface StepLimits {
  timeoutMs: number;
  memoryMb: number;
  outputCap: number;
}

export interface StepDeps {
  coder: Coder;
  executor: Executor;
  judge: SubmissionJudge;
  clock: Clock;
  /** Joins the run directory with a relative path (path.join in production). */
  resolve: (relative: string) => string;
  /** Whether a file exists (to tell "not written" from "wrong format"). */
  exists: (absolutePath: string) => Promise<boolean>;
  /** Keeps a node's whole (capped) output beside its files; prompts and the journal get the truncated form. */
  saveOutput: (id: NodeId, output: string) => Promise<void>;
}

/** Why a script's run failed (timed out, out of memory, another limit, killed, a non-zero exit), or null. */
export function executionProblem(result: ExecutionResult, limits: StepLimits): string | null {
  if (result.timedOut) return `the script timed out after ${Math.round(limits.timeoutMs / 1000)} s and was killed`;
  if (result.outOfMemory) return `the script ran out of memory (limit ${limits.memoryMb} MB) and was killed`;
  if (result.limitExceeded) return result.limitExceeded;
  if (result.signal) return `the script was killed by ${result.signal}`;
  if (result.exitCode !== 0) return `the script exited with code ${result.exitCode}`;
  return null;
}

/** Whether a limit other than time (memory, output, disk) or a signal ended the script. */
export function wasKilled(result: ExecutionResult): boolean {
  return result.outOfMemory || result.signal !== null || !!result.limitExceeded;
}

/** A finished step before the run has fixed the metric's direction. */
export interface StepOutcome {
  node: SolutionNode;
  /** Direction the script or the review suggested, if any. */
  suggestedLowerIsBetter: boolean | null;
  /** Set when the coder failed this step (no script was run): why, as the coder said. */
  failure?: StepFailure;
}

/** The node of a step whose coder gave no script: buggy, nothing run, the reason and the model's answer kept. */
function failedProposalNode(args: {
  id: NodeId;
  action: Action;
  failure: StepFailure;
  coder: string;
  createdAt: string;
  finishedAt: string;
}): SolutionNode {
  const { id, action, failure } = args;
  return {
    id,
    parentId: action.kind === "draft" ? null : action.parent,
    step: id,
    stage: action.kind,
    plan: "",
    code: "",
    metric: null,
    buggy: true,
    analysis: `No script was run: ${failure.reason}.`,
    execTimeMs: 0,
    exitCode: null,
    timedOut: false,
    killed: false,
    output: failure.answer ? `The model's last answer:\n${failure.answer}` : "",
    submissionOk: false,
    submissionPath: null,
    usage: failure.usage,
    coder: args.coder,
    createdAt: args.createdAt,
    finishedAt: args.finishedAt,
  };
}

export function addUsage(a: TokenUsage, b: TokenUsage): TokenUsage {
  const sum: TokenUsage = {
    promptTokens: a.promptTokens + b.promptTokens,
    completionTokens: a.completionTokens + b.completionTokens,
    costUsd: a.costUsd + b.costUsd,
  };
  const reasoning = (a.reasoningTokens ?? 0) + (b.reasoningTokens ?? 0);
  if (reasoning > 0) sum.reasoningTokens = reasoning;
  if (a.costUnknown || b.costUnknown) sum.costUnknown = true;
  return sum;
}

export const NO_USAGE: TokenUsage = { promptTokens: 0, completionTokens: 0, costUsd: 0 };

/**
 * One step of the search: propose a script, execute it, check its submission, review the output, and
 * build the node. Never throws for a bad script (that is a buggy node); throws when the coder itself fails.
 */
export async function runStep(args: {
  id: NodeId;
  action: Action;
  ctx: PromptContext;
  deps: StepDeps;
  limits: StepLimits;
  inputDir: string;
  signal?: AbortSignal;
  /** Called once the coder has proposed, before execution (lets parallel steps see each other's code). */
  onProposal?: (proposal: Proposal) => void;
}): Promise<StepOutcome> {
  const { id, action, ctx, deps, limits } = args;
  const createdAt = deps.clock.now().toISOString();
  let proposal: Proposal;
  try {
    proposal = await deps.coder.propose(action, ctx, args.signal);
  } catch (err) {
    if (!(err instanceof StepFailure) || args.signal?.aborted) throw err;
    const finishedAt = deps.clock.now().toISOString();
    return {
      node: failedProposalNode({ id, action, failure: err, coder: deps.coder.name, createdAt, finishedAt }),
      suggestedLowerIsBetter: null,
      failure: err,
    };
  }
  args.onProposal?.(proposal);

  const nodeDir = deps.resolve(nodeDirName(id));
  const result = await deps.executor.run(
    { nodeId: id, code: proposal.code, inputDir: args.inputDir, nodeDir, ...limits },
    args.signal,
  );

  await deps.saveOutput(id, result.output);
  const problems: string[] = [];
  const failed = executionProblem(result, limits);
  if (failed) problems.push(failed);

  const parsed = parseMetricLine(result.output);
  if (!parsed) problems.push("the script printed no AIDE_METRIC line");

  const writtenRel = `${nodeDirName(id)}/working/${SUBMISSION_FILE}`;
  const separateRel = `${nodeDirName(id)}/${SUBMISSION_FILE}`;
  const writtenAbs = deps.resolve(writtenRel);
  const written = await deps.exists(writtenAbs);
  const verdict = written
    ? await deps.judge.judge(writtenAbs, deps.resolve(separateRel), parsed?.name ?? ctx.metricHint ?? null)
    : { problem: `${SUBMISSION_FILE} was not written`, holdout: null, separated: false };
  const submissionProblem = verdict.problem;
  const submissionRel = verdict.separated ? separateRel : writtenRel;
  if (submissionProblem) problems.push(`submission: ${submissionProblem}`);

  const output = truncateForPrompt(result.output);
  const review = await deps.coder.review(
    {
      task: ctx.task,
      stage: action.kind,
      plan: proposal.plan,
      code: proposal.code,
      output,
      parsedMetric: parsed,
      problems,
    },
    result,
    args.signal,
  );

  // The direction as the line, else the review, said it; the run reads the task and the name when neither did.
  let metric: MetricReport | null = null;
  let suggested: boolean | null = null;
  if (parsed) {
    suggested = parsed.lowerIsBetter ?? review.lowerIsBetter;
    metric = { ...parsed, lowerIsBetter: suggested };
  } else if (review.metric !== null && Number.isFinite(review.metric) && problems.length === 1) {
    // The only problem is the missing line, and the reviewer read a metric from the output: use it.
    problems.length = 0;
    suggested = review.lowerIsBetter;
    metric = { name: ctx.metricHint ?? UNNAMED_METRIC, value: review.metric, lowerIsBetter: suggested };
  }

  const buggy = problems.length > 0 || review.isBug || metric === null;
  const analysisParts = [review.summary.trim(), ...problems.map((p) => `Problem: ${p}.`)].filter(Boolean);

  const node: SolutionNode = {
    id,
    parentId: action.kind === "draft" ? null : action.parent,
    step: id,
    stage: action.kind,
    plan: proposal.plan,
    code: proposal.code,
    metric: buggy ? null : metric,
    holdout: buggy ? null : verdict.holdout,
    unranked: null,
    buggy,
    analysis: analysisParts.join(" "),
    execTimeMs: result.durationMs,
    exitCode: result.exitCode,
    timedOut: result.timedOut,
    killed: wasKilled(result),
    output,
    submissionOk: written && submissionProblem === null,
    submissionPath: written ? submissionRel : null,
    usage: addUsage(proposal.usage, review.usage),
    coder: deps.coder.name,
    createdAt,
    finishedAt: deps.clock.now().toISOString(),
  };
  return { node, suggestedLowerIsBetter: buggy ? null : suggested };
}
