/**
 * The spine of the search: the small interfaces that every pluggable part (coders, executors, sinks,
 * policies) meets. `src/search` owns them and does no I/O of its own beyond calling them.
 */

export type NodeId = number;
/** How a node came to be: a coder's step (draft, improve, debug) or a blend of earlier nodes (ensemble). */
export type Stage = "draft" | "improve" | "debug" | "ensemble";

/** What a coder is asked to do. */
export type Action = { kind: "draft" } | { kind: "improve"; parent: NodeId } | { kind: "debug"; parent: NodeId };

/**
 * A blend of earlier nodes' predictions, made by the harness without a model: `members` are the nodes blended,
 * the best first (the ensemble's node hangs under the first).
 */
export interface EnsembleAction {
  kind: "ensemble";
  members: NodeId[];
}

/** What the policy decides the next step does: a coder's action or an ensemble. */
export type StepAction = Action | EnsembleAction;

/** A validation metric as a script or a review reported it. */
export interface MetricReport {
  name: string;
  value: number;
  /**
   * Which way the metric goes: the run's direction for a ranked node recorded once the run knew it; else what
   * the script's line or the review said (or, for an unranked node, its name); null while nothing told.
   */
  lowerIsBetter: boolean | null;
}

/**
 * A node's score on the run's hidden holdout: its predictions for the held-out rows, scored by the harness with
 * the run's metric. Every node of a run with a holdout is judged on the same rows, so these compare fairly where
 * the scripts' own validation numbers (each on a split of its own) do not.
 */
export interface HoldoutScore {
  name: string;
  value: number;
  lowerIsBetter: boolean;
  /**
   * The score's bootstrap standard error over the held-out rows (absent in journals written before it was
   * kept): how much of a difference between two nodes' holdout scores is noise.
   */
  stdError?: number;
}

export interface TokenUsage {
  promptTokens: number;
  /** Tokens the model wrote, reasoning tokens included. */
  completionTokens: number;
  /** Of `completionTokens`, those a reasoning model spent thinking (as the provider reports them; 0 when none). */
  reasoningTokens?: number;
  /** Cost in US dollars of the priced tokens; 0 for coders that use no paid model. */
  costUsd: number;
  /** True when some of these tokens came from a model without a known price: the cost is then unknown. */
  costUnknown?: boolean;
}

/** One solution in the tree (the journal). */
export interface SolutionNode {
  id: NodeId;
  parentId: NodeId | null;
  /** Order in which the node's step started (0-based). Equal to `id`. */
  step: number;
  stage: Stage;
  plan: string;
  code: string;
  /** The validation metric; null when the node is buggy or reported none. */
  metric: MetricReport | null;
  /** The node's holdout score, where the run holds rows out and the node's submission could be scored. */
  holdout?: HoldoutScore | null;
  /**
   * An ensemble's members, the best first (stage "ensemble" only). An ensemble's metric is its holdout score: a
   * blend has no validation split of its own.
   */
  members?: NodeId[];
  /**
   * Why the node's metric is not ranked against the run's other nodes (it reports another metric than the one
   * the run is judged by), or null (or absent, in journals written before this field) when it is ranked. An
   * unranked node keeps its metric for display but is never the best.
   */
  unranked?: string | null;
  buggy: boolean;
  /** Why the node is buggy, or what the review found. */
  analysis: string;
  execTimeMs: number;
  exitCode: number | null;
  timedOut: boolean;
  /** Killed by a limit other than time (memory, output), or by a signal. */
  killed: boolean;
  /** Terminal output as shown to prompts: first and last 2,500 characters with a marker between. */
  output: string;
  /** Whether the script wrote a submission that matched the expected format. */
  submissionOk: boolean;
  /** Path of the node's own submission file, relative to the run directory, or null if none was written. */
  submissionPath: string | null;
  usage: TokenUsage;
  coder: string;
  createdAt: string;
  finishedAt: string;
}

/** What a coder sees when it is asked for a script. Built by the search from the journal and the task. */
export interface PromptContext {
  task: string;
  /** Rendered data preview of the input directory. */
  dataPreview: string;
  /** Earlier good solutions: plan, findings, metric. */
  memory: Array<{
    id: NodeId;
    plan: string;
    analysis: string;
    metric: MetricReport | null;
    stage: Stage;
    unranked?: string | null;
  }>;
  /** Guidance from people steering the run, oldest first. */
  guidance: string[];
  /** The parent for improve/debug. */
  parent?: SolutionNode;
  /** Plans and codes of other children of the same parent (finished or in flight), so a coder can avoid repeats. */
  siblings: Array<{ plan: string; code: string }>;
  /** Every node's code and plan so far, for coders that want to avoid repeating a whole design. */
  journal: ReadonlyArray<SolutionNode>;
  timeLimitSec: number;
  packages: string[];
  /** The metric the task asks for, when known from config (e.g. `--metric rmse`). */
  metricHint?: string;
  /** The run's fixed metric direction, once known. */
  lowerIsBetter?: boolean;
  step: number;
  /** Number of steps in the run, for coders that pace themselves. */
  totalSteps: number;
}

export interface Proposal {
  plan: string;
  code: string;
  usage: TokenUsage;
}

export interface ExecutionResult {
  exitCode: number | null;
  /** Name of the signal that ended the process, if any. */
  signal: string | null;
  timedOut: boolean;
  /** Ended because it exceeded the memory limit (as far as the executor can tell). */
  outOfMemory: boolean;
  durationMs: number;
  /** Combined stdout and stderr, in order, up to the executor's storage cap. */
  output: string;
  /** True when the output exceeded the storage cap and was cut. */
  outputCapped: boolean;
  /** Absolute path of the node's working directory on the host after the run. */
  workingDir: string;
  /** Why another limit (e.g. the working directory's size) stopped the script, in words for the user. */
  limitExceeded?: string;
}

export interface Review {
  isBug: boolean;
  summary: string;
  /** Metric the reviewer read from the output; used only where the script printed no AIDE_METRIC line. */
  metric: number | null;
  lowerIsBetter: boolean | null;
  usage: TokenUsage;
}

export interface Coder {
  /** Shown to users, e.g. "openai:gpt-4o" or "offline (no model)". */
  readonly name: string;
  propose(action: Action, ctx: PromptContext, signal?: AbortSignal): Promise<Proposal>;
  review(node: ReviewInput, result: ExecutionResult, signal?: AbortSignal): Promise<Review>;
}

export interface ReviewInput {
  task: string;
  stage: Stage;
  plan: string;
  code: string;
  /** Output truncated for prompts. */
  output: string;
  /** The metric parsed from the AIDE_METRIC line, if any; its `lowerIsBetter` is null when the line did not say. */
  parsedMetric: MetricReport | null;
  /** Problems found by the search itself (exception, timeout, submission mismatch). */
  problems: string[];
}

export interface ScriptJob {
  nodeId: NodeId;
  code: string;
  /** Host directory with the task's data; mounted read-only as `./input`. */
  inputDir: string;
  /** Host directory for the node; created by the executor; `working/` inside it is the writable `./working`. */
  nodeDir: string;
  timeoutMs: number;
  memoryMb: number;
  /** Maximum characters of output stored. */
  outputCap: number;
}

/** What an executor may keep ready for one run (e.g. a warm interpreter): the run's input, files and limit. */
export interface RunScope {
  inputDir: string;
  runDir: string;
  memoryMb: number;
}

export interface Executor {
  readonly name: string;
  run(job: ScriptJob, signal?: AbortSignal): Promise<ExecutionResult>;
  /** Optional: a run starts; get ready for its scripts (never throws; scripts may come before it resolves). */
  prepareRun?(scope: RunScope): Promise<void>;
  /** Optional: the run is over; free what was kept for it. */
  releaseRun?(scope: RunScope): Promise<void>;
  /** Optional: nothing more will run; stop every process kept (warm interpreters, containers). */
  close?(): Promise<void>;
}

/** Checks a node's submission against the task's expected format (sample_submission.csv). */
export interface SubmissionChecker {
  /** Returns null when the file matches, or a user-readable reason why not. */
  check(submissionPath: string): Promise<string | null>;
}

/** What the judge made of a node's submission. */
export interface SubmissionVerdict {
  /** Null when the submission is usable, else a reason the script's author can act on. */
  problem: string | null;
  /** The node's holdout score, or null (no holdout, or the submission could not be scored). */
  holdout: HoldoutScore | null;
  /** Whether the node's submission for the real test rows was written apart, to `realPath`. */
  separated: boolean;
}

/**
 * Judges the submission a script wrote: checks it against the task's expected format and, where the run holds
 * rows out, takes the held-out rows' predictions out of it and scores them.
 */
export interface SubmissionJudge {
  /**
   * `writtenPath` is the file the script wrote; where the judge separates the real test rows from it, it writes
   * them to `realPath`, which is then the node's submission. `reportedMetric` is the metric the script reported,
   * for a judge whose run names none.
   */
  judge(writtenPath: string, realPath: string, reportedMetric?: string | null): Promise<SubmissionVerdict>;
}

/**
 * The delivered node's script run once more on all the labelled data (the held-out rows given back), and what came
 * of it: on success its submission is the one delivered; else the node's own, and `note` says why.
 */
export type RefitOutcome =
  | {
      ok: true;
      nodeId: NodeId;
      /** The refit's submission, relative to the run directory. */
      submissionPath: string;
      /** "refit on all 3500 labelled rows". */
      note: string;
    }
  | { ok: false; nodeId: NodeId; note: string };

/**
 * Runs the delivered node's script on all the labelled data; null when the run has nothing to refit for. An
 * ensemble is refit member by member (`members`, in its order) and blended again.
 */
export interface Refitter {
  refit(node: SolutionNode, members: readonly SolutionNode[], signal?: AbortSignal): Promise<RefitOutcome | null>;
}

/**
 * Makes the ensemble steps of a run with a hidden holdout: blends the members' predictions (the held-out rows and
 * the real test rows alike) with a generated script, and judges the blend on the holdout as any submission.
 */
export interface Ensembler {
  /** The ensemble of `members` (the best first) as node `id`; a blend that fails is a buggy node, never a throw. */
  blend(id: NodeId, members: readonly SolutionNode[], signal?: AbortSignal): Promise<SolutionNode>;
}

export type RunEvent =
  | {
      type: "run.started";
      runId: string;
      at: string;
      coder: string;
      executor: string;
      steps: number;
      /** The line saying how the run judges scripts: the rows it holds out, or why it holds none out. */
      holdout?: string;
    }
  | { type: "step.started"; runId: string; at: string; nodeId: NodeId; action: StepAction }
  | { type: "step.finished"; runId: string; at: string; node: SolutionNode }
  | { type: "best.improved"; runId: string; at: string; node: SolutionNode; previous: SolutionNode | null }
  | { type: "steer.applied"; runId: string; at: string; command: SteerCommand; note: string }
  | { type: "run.paused"; runId: string; at: string }
  | {
      type: "run.finished";
      runId: string;
      at: string;
      best: SolutionNode | null;
      reason: FinishReason;
      /** The best node's refit on all the labelled data, where the run held rows out. */
      refit?: RefitOutcome | null;
    }
  | { type: "run.failed"; runId: string; at: string; error: string };

export type FinishReason = "steps" | "budget" | "stopped";

export interface RunSink {
  nodeFinished(node: SolutionNode): Promise<void>;
  event(e: RunEvent): Promise<void>;
}

/**
 * Commands that steer a running search; applied at step boundaries. `ref` is an opaque id of the stored
 * message a command came from (set by inboxes that persist commands), echoed in its `steer.applied` event.
 */
export type SteerCommand = (
  | { kind: "guidance"; text: string; author?: string }
  | { kind: "pause" }
  | { kind: "resume" }
  | { kind: "stop" }
  | { kind: "more"; steps: number }
  | { kind: "focus"; node: NodeId }
  | { kind: "debug"; node: NodeId }
) & { ref?: string };

export interface SteeringInbox {
  /** Commands that arrived since the last call, oldest first. */
  drain(): Promise<SteerCommand[]>;
  /** Resolves when a new command arrives (used while paused). */
  wait(signal?: AbortSignal): Promise<void>;
}

/** Random numbers in [0, 1); seeded so a run replays. */
export interface Rng {
  next(): number;
}

export interface Clock {
  now(): Date;
}
